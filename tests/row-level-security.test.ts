// The second wall: PostgreSQL row-level security under the forTenant() filters. Queries that
// forget the tenant filter entirely — raw SQL, or the tenant Prisma client without forTenant()'s
// filters — still see and change only the tenant entered in their transaction.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTenant } from '../src/db/tenant-scope.ts';
import { readInTenant, sqlLiteral, TENANT_ROLE, tenantScope, withTenant } from '../src/db/tenant-session.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { populateTenant, rowsOf, tenantTables, type Populated } from './helpers/populate.ts';
import { rawId, signUpTenant, type TestTenant } from './helpers/tenants.ts';

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
let aRows: Populated;
let bRows: Populated;
/** What each tenant holds, counted as the connecting role. */
let aCounts: Record<string, number>;
let bCounts: Record<string, number>;
let tables: { table: string; column: string }[];

beforeAll(async () => {
  app = await startTestApp();
  a = await signUpTenant(app, 'Tenant A');
  b = await signUpTenant(app, 'Tenant B');
  aRows = await populateTenant(app, a);
  bRows = await populateTenant(app, b);
  aCounts = await rowsOf(app.db.pool, a.id);
  bCounts = await rowsOf(app.db.pool, b.id);
  // Read up front: a test holding a connection must not wait for another (PGlite has one spare).
  tables = await tenantTables(app.db.pool);
}, 180_000);
afterAll(() => app?.close());

/** Runs raw SQL as tenant A's transaction would. */
const asA = <T>(work: (client: pg.PoolClient) => Promise<T>) => withTenant(app.db.pool, a.id, work);
const sqlState = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'succeeded';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

describe('every tenant table', () => {
  it('has rows of both tenants in every table (so the checks below are not vacuous)', () => {
    for (const counts of [aCounts, bCounts]) {
      for (const [table, n] of Object.entries(counts)) expect(n, table).toBeGreaterThan(0);
    }
  });

  it('has row-level security enabled and forced, and a tenant policy bound to the tenant role', async () => {
    expect(tables.map((t) => t.table)).toEqual(expect.arrayContaining(['tenants', 'users', 'documents', 'chunks', 'citations']));
    for (const { table, column } of tables) {
      const { rows } = await app.db.pool.query(
        `SELECT c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
                p.cmd, p.roles::text[] AS roles, p.qual, p.with_check
           FROM pg_class c
           LEFT JOIN pg_policies p ON p.schemaname = current_schema() AND p.tablename = c.relname AND p.policyname = 'tenant_isolation'
          WHERE c.oid = to_regclass($1)`,
        [table],
      );
      const [row] = rows;
      expect(row, table).toMatchObject({ enabled: true, forced: true, cmd: 'ALL', roles: [TENANT_ROLE] });
      for (const expression of [row.qual, row.with_check]) {
        expect(expression, table).toContain(column);
        expect(expression, table).toContain("current_setting('app.tenant_id'::text, true)");
      }
    }
  });

  it('is the only kind of table the tenant role may touch', async () => {
    const { rows } = await app.db.pool.query<{ table: string; protected: boolean }>(
      `SELECT c.relname AS table, c.relrowsecurity AND c.relforcerowsecurity AS protected
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND (has_table_privilege($1, c.oid, 'SELECT') OR has_table_privilege($1, c.oid, 'INSERT')
               OR has_table_privilege($1, c.oid, 'UPDATE') OR has_table_privilege($1, c.oid, 'DELETE'))`,
      [TENANT_ROLE],
    );
    expect(rows.map((r) => r.table).sort()).toEqual(tables.map((t) => t.table).sort());
    expect(rows.every((r) => r.protected)).toBe(true);
  });

  it('is bound by a role that cannot log in, is no superuser and cannot bypass row-level security', async () => {
    const { rows } = await app.db.pool.query('SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1', [TENANT_ROLE]);
    expect(rows).toEqual([{ rolcanlogin: false, rolsuper: false, rolbypassrls: false }]);
  });
});

describe('a query that forgets the tenant filter', () => {
  it('raw SELECT * sees only the entered tenant, in every table', async () => {
    const seen = await asA(async (client) => {
      const counts: Record<string, number> = {};
      for (const { table, column } of tables) {
        const { rows } = await client.query(`SELECT "${column}" AS tenant FROM "${table}"`);
        expect(new Set(rows.map((r) => r.tenant)), table).toEqual(new Set([a.id]));
        counts[table] = rows.length;
      }
      return counts;
    });
    expect(seen).toEqual(aCounts);
  });

  it('a $queryRaw through forTenant() without a WHERE sees only its tenant', async () => {
    const db = forTenant(app.db.tenantPrisma, a.id);
    const documents = await db.$queryRaw<{ id: string; tenant_id: string }[]>`SELECT id, tenant_id FROM documents`;
    expect(documents.map((d) => d.id)).toEqual([rawId(aRows.documentId)]);
    const chunks = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM chunks`;
    expect(Number(chunks[0]!.n)).toBe(aCounts.chunks);
  });

  it('the tenant Prisma client without forTenant()’s filters sees only the entered tenant', async () => {
    // As forTenant() does, minus its filters. Prisma's promises start when awaited: inside run().
    const asAOnly = <T>(query: () => PromiseLike<T>) => tenantScope.run({ tenantId: a.id, inTransaction: false }, async () => await query());
    const users = await asAOnly(() => app.db.tenantPrisma.user.findMany());
    expect(users.map((u) => u.tenantId)).toEqual(users.map(() => a.id));
    expect(users).toHaveLength(aCounts.users!);
    const messages = await asAOnly(() => app.db.tenantPrisma.chatMessage.findMany({ include: { citations: true } }));
    expect(messages.flatMap((m) => [m.tenantId, ...m.citations.map((c) => c.tenantId)]).every((id) => id === a.id)).toBe(true);
    const bDocument = await asAOnly(() => app.db.tenantPrisma.document.findFirst({ where: { id: rawId(bRows.documentId) } }));
    expect(bDocument).toBeNull();
  });

  it('the tenant Prisma client refuses to run outside any tenant scope', async () => {
    await expect(app.db.tenantPrisma.document.findMany()).rejects.toThrow(/outside a forTenant\(\) scope/);
  });

  it('the tenant role with no tenant set sees nothing', async () => {
    const client = await app.db.pool.connect();
    try {
      await client.query(`BEGIN; SELECT set_config('role', '${TENANT_ROLE}', true)`);
      for (const { table } of tables) {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${table}"`);
        expect(rows[0].n, table).toBe(0);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('writes of another tenant’s rows', () => {
  const bDocument = () => rawId(bRows.documentId);

  it('UPDATE and DELETE of another tenant’s rows change nothing', async () => {
    const { updated, deleted } = await asA(async (client) => ({
      updated: (await client.query(`UPDATE documents SET title = 'stolen' WHERE id = $1`, [bDocument()])).rowCount,
      deleted: (await client.query('DELETE FROM chat_messages WHERE tenant_id = $1', [b.id])).rowCount,
    }));
    expect({ updated, deleted }).toEqual({ updated: 0, deleted: 0 });
    expect(await rowsOf(app.db.pool, b.id)).toEqual(bCounts);
    const { rows } = await app.db.pool.query('SELECT title FROM documents WHERE id = $1', [bDocument()]);
    expect(rows[0].title).toBe('Lighthouse notes');
  });

  it('INSERT of a row for another tenant, or moving a row there, is refused', async () => {
    const insert = asA((client) =>
      client.query(`INSERT INTO chat_sessions (tenant_id, user_id, title, updated_at) VALUES ($1, $2, 'planted', now())`, [
        b.id,
        rawId(b.admin.id),
      ]),
    );
    expect(await sqlState(insert)).toBe('42501'); // new row violates row-level security policy
    const move = asA((client) => client.query('UPDATE chat_sessions SET tenant_id = $1 WHERE id = $2', [b.id, rawId(aRows.sessionId)]));
    expect(await sqlState(move)).toBe('42501');
    expect(await rowsOf(app.db.pool, b.id)).toEqual(bCounts);
    expect(await rowsOf(app.db.pool, a.id)).toEqual(aCounts);
  });

  it('tables and functions outside the tenant’s reach are refused', async () => {
    const attempts = {
      deleteTenant: asA((client) => client.query('DELETE FROM tenants')),
      createTenant: asA((client) => client.query(`INSERT INTO tenants (slug, name, updated_at) VALUES ('x-planted', 'x', now())`)),
      throttles: asA((client) => client.query('SELECT * FROM login_throttles')),
      jobQueue: asA((client) => client.query('SELECT * FROM graphile_worker._private_jobs')),
      enqueueForB: asA((client) => client.query('SELECT ragchat_enqueue_ingestion($1, 1)', [bDocument()])),
      cancelForB: asA((client) => client.query('SELECT ragchat_cancel_ingestion($1)', [bDocument()])),
    };
    const outcomes = Object.fromEntries(await Promise.all(Object.entries(attempts).map(async ([k, p]) => [k, await sqlState(p)])));
    expect(outcomes).toEqual({
      deleteTenant: '42501',
      createTenant: '42501',
      throttles: '42501',
      jobQueue: '42501',
      enqueueForB: '42501',
      cancelForB: '42501',
    });
  });
});

describe('the tenant pool', () => {
  it('answers concurrent findUnique calls of two tenants each in its own tenant', async () => {
    const dbA = forTenant(app.db.tenantPrisma, a.id);
    const dbB = forTenant(app.db.tenantPrisma, b.id);
    // Same tick, same shape: Prisma would batch these into one query run in one tenant.
    const [fromA, fromB, bFromA] = await Promise.all([
      dbA.document.findUnique({ where: { id: rawId(aRows.documentId) } }),
      dbB.document.findUnique({ where: { id: rawId(bRows.documentId) } }),
      dbA.document.findUnique({ where: { id: rawId(bRows.documentId) } }),
    ]);
    expect([fromA?.tenantId, fromB?.tenantId, bFromA]).toEqual([a.id, b.id, null]);
  });

  it('leaves pooled connections as the connecting role with no tenant', async () => {
    const dbA = forTenant(app.db.tenantPrisma, a.id);
    await Promise.all([
      dbA.user.findMany(),
      dbA.$transaction((tx) => tx.document.count()),
      asA((c) => c.query('SELECT 1')),
      readInTenant(app.db.pool, a.id, 'SELECT 1'),
      readInTenant(app.db.pool, a.id, 'SELECT 1/0').catch(() => null),
    ]);
    // Whichever idle connection each query gets (the embedded database has one besides the worker's).
    for (let i = 0; i < 4; i++) {
      const { rows } = await app.db.pool.query(`SELECT current_user = session_user AS own_role, current_setting('app.tenant_id', true) AS tenant`);
      expect(rows[0].own_role).toBe(true);
      expect(rows[0].tenant ?? '').toBe('');
    }
  });
});

describe('one-message tenant reads (readInTenant)', () => {
  it('see only the entered tenant, in every table', async () => {
    for (const { table, column } of tables) {
      const rows = await readInTenant<{ tenant: string }>(app.db.pool, b.id, `SELECT "${column}" AS tenant FROM "${table}"`);
      expect(new Set(rows.map((r) => r.tenant)), table).toEqual(new Set([b.id]));
    }
  });

  it('are read-only', async () => {
    await expect(readInTenant(app.db.pool, a.id, `DELETE FROM documents`)).rejects.toThrow(/read-only transaction/);
    expect((await asA((c) => c.query('SELECT count(*)::int AS n FROM documents'))).rows[0].n).toBe(aCounts.documents);
  });

  it('roll back a failed statement and leave the connection usable', async () => {
    await expect(readInTenant(app.db.pool, a.id, 'SELECT 1/0')).rejects.toThrow(/division by zero/);
    // Every pooled connection, in turn, still answers.
    for (let i = 0; i < 4; i++) expect(await readInTenant(app.db.pool, a.id, 'SELECT 7 AS n')).toEqual([{ n: 7 }]);
  });

  it('inline values as literals that PostgreSQL reads back unchanged', async () => {
    const strings = ["it's", 'back\\slash \\\'', '$1 $$ dollar', 'ünïcødé 🚀', "'; DROP TABLE documents; --", ''];
    for (const value of strings) {
      expect(await readInTenant(app.db.pool, a.id, `SELECT ${sqlLiteral(value)}::text AS v`)).toEqual([{ v: value }]);
    }
    const at = new Date('2026-01-02T03:04:05.678Z');
    expect(await readInTenant(app.db.pool, a.id, `SELECT ${sqlLiteral(at)}::timestamptz AS v, ${sqlLiteral(-12.5)}::float8 AS n, ${sqlLiteral(null)}::text AS z`)).toEqual([
      { v: at, n: -12.5, z: null },
    ]);
    expect(() => sqlLiteral('a\0b')).toThrow(/NUL/);
    expect(() => sqlLiteral(Number.NaN)).toThrow(/finite/);
  });
});

