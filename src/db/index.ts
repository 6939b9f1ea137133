// Database bootstrap: the ONE place that knows whether we run on a real PostgreSQL
// (DATABASE_URL) or on the embedded PGlite. Everything else receives a `Database`
// and never asks which kind it got.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { PrismaClient } from './generated/client.ts';
import { applyMigrations } from './migrate.ts';
import { createTenantPool } from './tenant-pool.ts';
import type { TenantPrismaClient } from './tenant-scope.ts';

export type { PrismaClient, TenantPrismaClient };

export interface Database {
  kind: 'postgres' | 'embedded';
  /** Shared pool for raw SQL (pgvector queries, graphile-worker, LISTEN/NOTIFY on real PostgreSQL). */
  pool: pg.Pool;
  /**
   * The connecting role, across tenants: only for the cross-tenant paths listed in the README
   * (sign-up, log-in, token checks, worker lookups, sweeps). Tenant work uses forTenant(tenantPrisma).
   */
  prisma: PrismaClient;
  /** Every statement runs inside a transaction entered into a tenant; usable only through forTenant(). */
  tenantPrisma: TenantPrismaClient;
  /** The connection string of a real PostgreSQL, for components that need their own connection. */
  connectionString: string | undefined;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A real PostgreSQL; unset → embedded PGlite. */
  databaseUrl: string | undefined;
  /** Where the embedded database keeps its files; `null` → in memory. */
  embeddedDataDir: string | null;
  /** Pool size for a real PostgreSQL (the embedded database always uses 2). */
  poolSize?: number;
  logger: Logger;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { logger } = options;
  let pool: pg.Pool;
  let closeDriver: () => Promise<void>;
  if (options.databaseUrl) {
    pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    closeDriver = () => pool.end();
    logger.info({ database: redactUrl(options.databaseUrl) }, 'using PostgreSQL');
  } else {
    const started = Date.now();
    const embedded = await startEmbeddedPostgres(options.embeddedDataDir);
    pool = embedded.pool;
    closeDriver = () => embedded.close();
    logger.info(
      { dataDir: options.embeddedDataDir ?? 'memory', ms: Date.now() - started },
      'using embedded PGlite (set DATABASE_URL for a real PostgreSQL)',
    );
  }
  // A broken connection must not crash the process: the pool reports idle ones here, and a
  // checked-out client (a LISTEN connection, say) would otherwise throw its 'error' event.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'));
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn({ err: error }, 'database connection failed'));
  });

  try {
    const { applied } = await applyMigrations(pool, { log: (msg) => logger.info(msg) });
    if (applied.length) logger.info({ applied }, 'migrations applied');
  } catch (error) {
    await closeDriver();
    throw error;
  }

  // The embedded database is one session: a transaction may queue behind a long ingestion write.
  const transactionOptions = options.databaseUrl ? { maxWait: 10_000, timeout: 15_000 } : { maxWait: 120_000, timeout: 120_000 };
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions });
  // Both clients share the pool (the embedded database allows two connections in all).
  const tenantPrisma = new PrismaClient({ adapter: new PrismaPg(createTenantPool(pool)), transactionOptions }) as TenantPrismaClient;
  return {
    kind: options.databaseUrl ? 'postgres' : 'embedded',
    pool,
    prisma,
    tenantPrisma,
    connectionString: options.databaseUrl,
    async close() {
      await Promise.all([prisma.$disconnect(), tenantPrisma.$disconnect()]);
      await closeDriver();
    },
  };
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable DATABASE_URL]';
  }
}
