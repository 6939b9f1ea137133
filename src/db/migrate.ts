// Applies prisma/migrations the way `prisma migrate deploy` does, with only `pg`: the Prisma CLI
// cannot run here (its schema-engine binary is downloaded at startup), but the folders and the
// `_prisma_migrations` table stay exactly Prisma's, so the real CLI works on the same database
// wherever it can run.
//
// One deliberate difference: each migration runs inside its own transaction, so a failing
// migration leaves neither partial objects nor a "failed" row behind.
//
// Only plain `client.query` calls (no named prepared statements, no session tricks beyond the
// advisory lock) are used, so this works on a real PostgreSQL and on PGlite behind pglite-socket.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/** The key Prisma's schema engine locks, so this and the Prisma CLI exclude each other. */
const PRISMA_ADVISORY_LOCK_KEY = 72707369;

// Prisma's own definition, column for column.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  /** The folder name, e.g. `20261122093000_init`. */
  name: string;
  sql: string;
  /** Lowercase hex sha256 of the file's bytes, as Prisma records it. */
  checksum: string;
}

/** The migration folders under `dir`, in the order they apply; none if `dir` does not exist. */
export async function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name, 'migration.sql');
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(file);
      } catch (error) {
        throw new Error(`Migration folder ${name} has no readable migration.sql (${file})`, { cause: error });
      }
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  started_at: Date;
  finished_at: Date | null;
}

export async function applyMigrations(
  pool: pg.Pool,
  opts: { migrationsDir?: string; log?: (msg: string) => void } = {},
): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {});
  const migrations = await readMigrations(opts.migrationsDir);

  const client = await pool.connect();
  let cleanupError: Error | undefined;
  try {
    await client.query(`SELECT pg_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY})`);
    try {
      return await applyPending(client, migrations, log);
    } finally {
      // Unlock explicitly: behind pglite-socket every connection shares ONE backend session,
      // so closing this connection would not free the lock.
      await client.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK_KEY})`).catch((error: Error) => {
        cleanupError = error;
      });
    }
  } finally {
    // A connection that could not even unlock is in an unknown state: discard it.
    client.release(cleanupError);
  }
}

async function applyPending(
  client: pg.PoolClient,
  migrations: Migration[],
  log: (msg: string) => void,
): Promise<{ applied: string[] }> {
  await client.query(CREATE_MIGRATIONS_TABLE);
  const { rows } = await client.query<MigrationRow>(
    `SELECT migration_name, checksum, started_at, finished_at
       FROM "_prisma_migrations"
      WHERE rolled_back_at IS NULL
      ORDER BY started_at`,
  );
  refuseFailedMigrations(rows);
  const applied: string[] = [];
  for (const migration of pendingMigrations(migrations, rows, log)) {
    try {
      await applyOne(client, migration);
    } catch (error) {
      throw new Error(`Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`, {
        cause: error,
      });
    }
    log(`applied migration ${migration.name}`);
    applied.push(migration.name);
  }
  return { applied };
}

/** A row left unfinished (written by the Prisma CLI, which does not wrap migrations) needs a human. */
function refuseFailedMigrations(rows: MigrationRow[]): void {
  const failed = rows.filter((row) => row.finished_at === null);
  if (failed.length === 0) return;
  const list = failed.map((row) => `${row.migration_name} (started ${row.started_at.toISOString()})`).join(', ');
  throw new Error(
    `Failed migrations in _prisma_migrations: ${list}. No migration was applied. ` +
      'Repair the database by hand, then mark each one rolled back ' +
      `(UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '<name>') ` +
      'to retry it, or finished (SET finished_at = now()) if it is in fact complete.',
  );
}

function pendingMigrations(
  migrations: Migration[],
  rows: MigrationRow[],
  log: (msg: string) => void,
): Migration[] {
  const appliedChecksums = new Map(rows.map((row) => [row.migration_name, row.checksum]));
  for (const migration of migrations) {
    const checksum = appliedChecksums.get(migration.name);
    if (checksum !== undefined && checksum !== migration.checksum) {
      log(`warning: migration ${migration.name} was modified after it was applied (checksum differs)`);
    }
  }
  const known = new Set(migrations.map((migration) => migration.name));
  for (const name of appliedChecksums.keys()) {
    if (!known.has(name)) log(`warning: applied migration ${name} is missing from the migrations folder`);
  }
  return migrations.filter((migration) => !appliedChecksums.has(migration.name));
}

async function applyOne(client: pg.PoolClient, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    // The whole file as one simple query: splitting on `;` would break `DO $$ … $$` bodies.
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    // Should even ROLLBACK fail, the unlock after it fails too and the connection is discarded.
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
