import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { scratchDatabase } from './helpers/scratch-db.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function freshDb() {
  const db = await scratchDatabase();
  cleanups.push(() => db.close());
  return db.pool;
}

function migrationsDir(files: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

describe('applyMigrations', () => {
  it('applies the project migrations once, Prisma-style, with pgvector available', async () => {
    const pool = await freshDb();
    const first = await applyMigrations(pool);
    expect(first.applied.length).toBeGreaterThan(0);
    expect(await applyMigrations(pool)).toEqual({ applied: [] });
    const { rows } = await pool.query(
      'SELECT migration_name, checksum, finished_at IS NOT NULL AS done FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(first.applied);
    expect(rows.every((r) => r.done && /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
    expect(fs.readdirSync(DEFAULT_MIGRATIONS_DIR).filter((f) => f !== 'migration_lock.toml')).toEqual(first.applied);
    const distance = await pool.query(`SELECT ('[1,0,0]'::vector <=> '[0,1,0]'::vector) AS d`);
    expect(Number(distance.rows[0].d)).toBeCloseTo(1, 6);
  });

  it('leaves nothing behind when a migration fails half-way', async () => {
    const pool = await freshDb();
    const dir = migrationsDir({
      '001_ok': 'CREATE TABLE first_table (id int);',
      '002_broken': 'CREATE TABLE half_done (id int);\nCREATE TABLE oops (;',
    });
    await expect(applyMigrations(pool, { migrationsDir: dir })).rejects.toThrow();
    const tables = await pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_name IN ('first_table', 'half_done', 'oops')`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(['first_table']);
    const rows = await pool.query('SELECT migration_name FROM _prisma_migrations');
    expect(rows.rows.map((r) => r.migration_name)).toEqual(['001_ok']);
  });
});
