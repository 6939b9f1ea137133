// An empty database of its own, for tests that need a clean slate (migrations):
// a throwaway database on DATABASE_URL's server, else a fresh in-memory PGlite.
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

export async function scratchDatabase(): Promise<{ pool: pg.Pool; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) return startEmbeddedPostgres(null);
  const name = `ragchat_scratch_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: target.toString(), max: 2 });
  return {
    pool,
    async close() {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
