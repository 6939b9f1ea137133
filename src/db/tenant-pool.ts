// The connection source of the tenant Prisma client (Database.tenantPrisma): every statement it
// sends runs inside a transaction that has entered the tenant of the calling forTenant() client
// (src/db/tenant-session.ts), so row-level security binds it. It borrows connections from the
// shared pool — the embedded PGlite allows only two — and holds none of its own.
//
// Prisma's pg adapter uses a pool in two ways, and both are covered here:
//   query()   a statement outside a transaction → BEGIN + tenant, the statement, COMMIT
//   connect() a connection for an interactive transaction → its BEGIN gains the tenant
// With no tenant in the async context both refuse: a query that bypassed forTenant() fails
// loudly instead of running with the connecting role's cross-tenant access.
import pg from 'pg';
import { enterTenantSql, tenantScope, withTenant } from './tenant-session.ts';

const OUTSIDE_SCOPE = 'tenant database access outside a forTenant() scope';

export function createTenantPool(shared: pg.Pool): pg.Pool {
  // @prisma/adapter-pg requires an instance of pg.Pool; this one never opens a connection.
  const pool = new pg.Pool({ max: 1 });
  pool.query = ((config: pg.QueryConfig, values?: unknown[]) => standalone(shared, config, values)) as typeof pool.query;
  pool.connect = (() => forTransaction(shared)) as typeof pool.connect;
  return pool;
}

function currentTenant(): string {
  const scope = tenantScope.getStore();
  if (!scope) throw new Error(OUTSIDE_SCOPE);
  return scope.tenantId;
}

/** One statement in its own tenant transaction: three messages where a bare query needs one. */
async function standalone(shared: pg.Pool, config: pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
  return withTenant(shared, currentTenant(), (client) => client.query(config, values));
}

const NO_ROWS = { command: '', rowCount: null, oid: 0, rows: [], fields: [] } as unknown as pg.QueryResult;

/**
 * A pooled connection whose transaction enters the tenant. The adapter sends `BEGIN` (and, for
 * an isolation level, `SET TRANSACTION …`) as separate statements; they are held back and sent
 * with the tenant settings in one message just before the first real statement.
 */
async function forTransaction(shared: pg.Pool): Promise<pg.PoolClient> {
  const tenantId = currentTenant();
  const client = await shared.connect();
  let pendingBegin: string | null = null;
  const query = async (config: string | pg.QueryConfig, values?: unknown[]) => {
    const text = typeof config === 'string' ? config : config.text;
    if (text === 'BEGIN') {
      pendingBegin = 'BEGIN';
      return NO_ROWS;
    }
    if (pendingBegin !== null) {
      if (text.startsWith('SET TRANSACTION')) {
        pendingBegin += `; ${text}`;
        return NO_ROWS;
      }
      const begin = pendingBegin;
      pendingBegin = null;
      // An empty transaction: nothing was sent, so there is nothing to end.
      if (text === 'COMMIT' || text === 'ROLLBACK') return NO_ROWS;
      await client.query(enterTenantSql(tenantId, {}, begin));
    }
    return client.query(config as pg.QueryConfig, values);
  };
  return new Proxy(client, {
    get(target, property) {
      if (property === 'query') return query;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
