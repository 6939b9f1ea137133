// Liveness and readiness.
//   /health  the process answers: 200 {"status":"ok", …}. No dependency is checked, so an
//            orchestrator restarts the process only when it is really stuck.
//   /ready   the instance can serve: the database answers, every migration folder of
//            prisma/migrations is applied (per `_prisma_migrations`), and — with RUN_WORKER —
//            the in-process worker runs. 200 {"status":"ready", checks} or 503
//            {"status":"unavailable", failing: [names], checks}.
import type pg from 'pg';
import { readMigrations } from '../db/migrate.ts';
import type { WorkerStatus } from './worker-monitor.ts';

export interface CheckResult {
  ok: boolean;
  [detail: string]: unknown;
}

export interface Readiness {
  ready: boolean;
  body: {
    status: 'ready' | 'unavailable';
    failing: string[];
    checks: Record<'database' | 'migrations' | 'worker', CheckResult>;
  };
}

export interface HealthOptions {
  pool: pg.Pool;
  /** null → this process runs no worker (RUN_WORKER=false): the check passes as "disabled". */
  worker: (() => WorkerStatus) | null;
  migrationsDir?: string;
  /** Longest wait for the database before the check fails (default 3 s). */
  timeoutMs?: number;
}

export interface Health {
  live(): { status: 'ok'; uptimeSeconds: number; pid: number };
  ready(): Promise<Readiness>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createHealth(options: HealthOptions): Health {
  const startedAt = Date.now();
  const timeoutMs = options.timeoutMs ?? 3000;
  // The folders do not change while the process runs; a failed read is retried next time.
  let expected: Promise<string[]> | null = null;
  const expectedMigrations = () => {
    if (!expected) {
      expected = readMigrations(options.migrationsDir).then((list) => list.map((migration) => migration.name));
      expected.catch(() => (expected = null));
    }
    return expected;
  };

  async function database(): Promise<CheckResult> {
    const started = performance.now();
    try {
      await withTimeout(options.pool.query('SELECT 1'), timeoutMs, 'the database');
      return { ok: true, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      return { ok: false, error: message(error) };
    }
  }

  async function migrations(): Promise<CheckResult> {
    try {
      const [names, { rows }] = await Promise.all([
        expectedMigrations(),
        withTimeout(
          options.pool.query<{ migration_name: string }>(
            `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
          ),
          timeoutMs,
          'the database',
        ),
      ]);
      const applied = new Set(rows.map((row) => row.migration_name));
      const pending = names.filter((name) => !applied.has(name));
      return { ok: pending.length === 0, applied: names.length - pending.length, expected: names.length, pending };
    } catch (error) {
      return { ok: false, error: message(error) };
    }
  }

  function worker(): CheckResult {
    if (!options.worker) return { ok: true, enabled: false };
    const status = options.worker();
    return status.running ? { ok: true, enabled: true, running: true } : { ok: false, enabled: true, running: false, error: status.problem };
  }

  return {
    live: () => ({ status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), pid: process.pid }),
    async ready() {
      const db = await database();
      const checks = {
        database: db,
        migrations: db.ok ? await migrations() : { ok: false, error: 'not checked: the database is unreachable' },
        worker: worker(),
      };
      const failing = Object.entries(checks)
        .filter(([, check]) => !check.ok)
        .map(([name]) => name);
      return { ready: failing.length === 0, body: { status: failing.length ? 'unavailable' : 'ready', failing, checks } };
    },
  };
}
