// Entering a tenant inside a database transaction — what row-level security keys on
// (prisma/migrations/*_row_level_security). Two settings, both LOCAL to the transaction so a
// pooled connection can never carry them into someone else's work:
//   role           → ragchat_tenant: not a superuser, no BYPASSRLS, so the policies bind it
//   app.tenant_id  → the tenant the policies compare every row with
// They are set by SET LOCAL statements sent in the same simple-protocol message as BEGIN:
// entering a tenant costs no round trip beyond the BEGIN a transaction needs anyway. (SET LOCAL
// measured about a fifth cheaper than one `SELECT set_config(…), set_config(…)`: a utility
// statement with no plan and no row to send back.)
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

export const TENANT_ROLE = 'ragchat_tenant';
export const TENANT_SETTING = 'app.tenant_id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SETTING_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/**
 * The statements that open a transaction inside `tenantId`, optionally with more LOCAL settings
 * (e.g. pgvector's hnsw.ef_search), all in one message. A multi-statement simple query carries no
 * parameters, so values are inlined: the tenant must be a UUID, setting names plain identifiers,
 * other values are quoted. `begin` may carry transaction modes (`BEGIN; SET TRANSACTION …`).
 */
export function enterTenantSql(tenantId: string, settings: Readonly<Record<string, string>> = {}, begin = 'BEGIN'): string {
  if (!UUID.test(tenantId)) throw new Error(`not a tenant id: ${JSON.stringify(tenantId)}`);
  const extra = Object.entries(settings).map(([name, value]) => {
    if (!SETTING_NAME.test(name)) throw new Error(`not a setting name: ${name}`);
    return `; SET LOCAL ${name} = ${pg.escapeLiteral(value)}`;
  });
  return `${begin}; SET LOCAL ROLE ${TENANT_ROLE}; SET LOCAL ${TENANT_SETTING} = '${tenantId.toLowerCase()}'${extra.join('')}`;
}

/**
 * The tenant whose transaction the current async call chain is in (set by forTenant(); read by
 * the tenant pool under the tenant Prisma client). `inTransaction` marks code running inside a
 * tenant `$transaction` callback, whose queries already run on the transaction's connection.
 */
export interface TenantScope {
  tenantId: string;
  inTransaction: boolean;
}
export const tenantScope = new AsyncLocalStorage<TenantScope>();

/**
 * Runs `work` on one connection inside a transaction of `tenantId` (raw SQL: hybrid search and
 * the like). Commits when `work` resolves, rolls back when it throws.
 */
export async function withTenant<T>(
  pool: pg.Pool,
  tenantId: string,
  work: (client: pg.PoolClient) => Promise<T>,
  settings: Readonly<Record<string, string>> = {},
): Promise<T> {
  const sql = enterTenantSql(tenantId, settings);
  return inTransaction(pool, async (client) => {
    await client.query(sql);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  });
}

/**
 * Runs `run` on a pooled connection that it leaves inside a transaction when it throws: the
 * transaction is rolled back, and a connection that cannot even roll back is in an unknown state,
 * so it is discarded instead of returned to the pool.
 */
async function inTransaction<T>(pool: pg.Pool, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await run(client);
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** A value to be written into SQL text: see `sqlLiteral`. */
export type LiteralValue = string | number | Date | null;

/**
 * `value` as a SQL literal, for statements sent in one simple-protocol message (`readInTenant`),
 * which carries no parameters. Strings are quoted by pg.escapeLiteral and may not hold NUL (the
 * message is NUL-terminated; PostgreSQL text cannot hold it either); numbers must be finite.
 */
export function sqlLiteral(value: LiteralValue): string {
  if (value === null) return 'NULL';
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  if (value.includes('\0')) throw new Error('a SQL literal cannot contain NUL');
  return pg.escapeLiteral(value);
}

/** `value` as a literal cast to a SQL type, e.g. `'…'::timestamptz`. */
export const typedLiteral = (value: LiteralValue, type: string) => `${sqlLiteral(value)}::${type}`;

/**
 * One read-only statement in a transaction of `tenantId`, sent with its BEGIN, tenant settings
 * and COMMIT as ONE message: one write and one round trip where `withTenant` needs three (the
 * hot reads measured ~2× less client CPU per statement). Values must be inlined with
 * `sqlLiteral`. Returns the statement's rows.
 */
export async function readInTenant<Row>(pool: pg.Pool, tenantId: string, statement: string): Promise<Row[]> {
  const enter = enterTenantSql(tenantId, {}, 'BEGIN READ ONLY');
  // A failing statement skips the rest of the message: inTransaction rolls back what it left open.
  return inTransaction(pool, async (client) => {
    const results = (await client.query(`${enter}; ${statement}; COMMIT`)) as unknown as pg.QueryResult[];
    // BEGIN, SET LOCAL ROLE, SET LOCAL app.tenant_id, the statement, COMMIT.
    return results[results.length - 2]!.rows as Row[];
  });
}
