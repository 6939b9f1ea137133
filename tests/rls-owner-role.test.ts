// Production-like roles: the application connects as an ordinary role that owns its database —
// no superuser, no BYPASSRLS — so FORCE ROW LEVEL SECURITY binds it too. The migrations must
// still apply, the cross-tenant paths work through the service_access policy, and tenant work
// through SET ROLE ragchat_tenant. Needs a real PostgreSQL: the embedded PGlite runs every
// connection as its bootstrap superuser, so there is no other role to connect as.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteTenantDocument, MeDocument } from './__generated__/graphql.ts';
import { TENANT_ROLE, withTenant } from '../src/db/tenant-session.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { populateTenant, rowsOf } from './helpers/populate.ts';
import { signUpTenant, type TestTenant } from './helpers/tenants.ts';

const serverUrl = process.env.DATABASE_URL;
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const ownerRole = `ragchat_t_owner_${suffix}`;
const database = `ragchat_t_owned_${suffix}`;

async function asSuperuser(sql: string, db?: string) {
  const url = new URL(serverUrl!);
  if (db) url.pathname = `/${db}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe.skipIf(!serverUrl)('the application as a non-superuser owner of its database (needs DATABASE_URL)', () => {
  let app: TestApp;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    // CREATEROLE: the migration creates ragchat_tenant if missing and grants it to this role.
    await asSuperuser(`CREATE ROLE ${ownerRole} LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE`);
    await asSuperuser(`CREATE DATABASE ${database} OWNER ${ownerRole}`);
    // pgvector is not a trusted extension: an administrator installs it once per database.
    await asSuperuser('CREATE EXTENSION vector', database);
    const url = new URL(serverUrl!);
    url.username = ownerRole;
    url.pathname = `/${database}`;
    app = await startTestApp({ DATABASE_URL: url.toString() });
    a = await signUpTenant(app, 'Owned A');
    b = await signUpTenant(app, 'Owned B');
    await populateTenant(app, a);
    await populateTenant(app, b);
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await asSuperuser(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await asSuperuser(`DROP ROLE IF EXISTS ${ownerRole}`);
  });

  it('connects as a role that row-level security binds, and owns the tables', async () => {
    const { rows } = await app.db.pool.query(
      `SELECT r.rolsuper, r.rolbypassrls, pg_has_role(current_user, $1, 'MEMBER') AS may_enter,
              (SELECT tableowner FROM pg_tables WHERE tablename = 'documents' AND schemaname = current_schema()) = current_user AS owns
         FROM pg_roles r WHERE r.rolname = current_user`,
      [TENANT_ROLE],
    );
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false, may_enter: true, owns: true }]);
  });

  it('enters tenants from this role, and reads across them only outside a tenant', async () => {
    // Ingestion and chat ran (populateTenant): every tenant table has rows of A.
    expect(Object.values(await rowsOf(app.db.pool, a.id)).every((n) => n > 0)).toBe(true);
    const inside = await withTenant(app.db.pool, a.id, (client) => client.query('SELECT DISTINCT tenant_id FROM chunks'));
    expect(inside.rows).toEqual([{ tenant_id: a.id }]);
    const outside = await app.db.pool.query('SELECT count(DISTINCT tenant_id)::int AS n FROM chunks');
    expect(outside.rows[0].n).toBe(2);
    // FORCE would hide every row from the owner too; its access is the policy naming it.
    const policies = await app.db.pool.query(`SELECT DISTINCT roles::text[] AS roles FROM pg_policies WHERE policyname = 'service_access'`);
    expect(policies.rows).toEqual([{ roles: [ownerRole] }]);
  });

  it('keeps the cross-tenant paths working: log-in by slug (sign-up above), token checks, tenant deletion', async () => {
    expect((await app.ok(MeDocument, {}, b.admin.token)).me.id).toBe(b.admin.id);
    await app.ok(DeleteTenantDocument, { confirmSlug: b.slug }, b.admin.token);
    expect(Object.values(await rowsOf(app.db.pool, b.id)).every((n) => n === 0)).toBe(true);
    expect(Object.values(await rowsOf(app.db.pool, a.id)).every((n) => n > 0)).toBe(true);
  });
});
