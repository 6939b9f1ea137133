// A database of its own for a test file, so that its rows and — above all — its job queue are
// not shared with other test files running at the same time (each app's worker would otherwise
// take the others' jobs). On DATABASE_URL's server: a throwaway database, dropped afterwards.
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `ragchat_t_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** An empty database with a pool: a scratch database on DATABASE_URL's server, else a fresh in-memory PGlite. */
export async function scratchDatabase(): Promise<{ pool: pg.Pool; close(): Promise<void> }> {
  const server = process.env.DATABASE_URL;
  if (!server) return startEmbeddedPostgres(null);
  const scratch = await createScratchDatabase(server);
  const pool = new pg.Pool({ connectionString: scratch.url, max: 2 });
  return {
    pool,
    async close() {
      await pool.end();
      await scratch.drop();
    },
  };
}
