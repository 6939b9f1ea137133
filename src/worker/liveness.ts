// graphile-worker keeps a job locked by the worker that took it; if that process dies
// (killed, out of memory, machine lost) the lock would only expire after 4 hours. Each
// worker process therefore beats into worker_heartbeats, and every process hands the jobs
// of workers whose beat went stale back to the queue (graphile-worker's forceUnlockWorkers).
import type { WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import type { Logger } from '../logger.ts';

export interface LivenessOptions {
  heartbeatSeconds: number;
  staleAfterSeconds: number;
}

export function startLiveness(
  pool: pg.Pool,
  utils: WorkerUtils,
  workerIds: () => string[],
  options: LivenessOptions,
  logger: Logger,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();

  async function beatAndSweep() {
    const ids = workerIds();
    if (ids.length) {
      await pool.query(
        `INSERT INTO worker_heartbeats (worker_id, beat_at) SELECT unnest($1::text[]), now()
         ON CONFLICT (worker_id) DO UPDATE SET beat_at = excluded.beat_at`,
        [ids],
      );
    }
    // Workers holding locks that have not beaten recently (or never did, once the lock is old).
    const { rows } = await pool.query<{ locked_by: string }>(
      `SELECT DISTINCT j.locked_by
         FROM graphile_worker._private_jobs j
         LEFT JOIN worker_heartbeats h ON h.worker_id = j.locked_by
        WHERE j.locked_by IS NOT NULL
          AND j.locked_by <> ALL($1::text[])
          AND COALESCE(h.beat_at, j.locked_at) < now() - make_interval(secs => $2)`,
      [ids, options.staleAfterSeconds],
    );
    const dead = rows.map((row) => row.locked_by);
    if (dead.length) {
      await utils.forceUnlockWorkers(dead);
      await pool.query('DELETE FROM worker_heartbeats WHERE worker_id = ANY($1::text[])', [dead]);
      logger.warn({ workers: dead }, 'released the jobs of workers that stopped beating');
    }
    await pool.query(
      `DELETE FROM worker_heartbeats WHERE beat_at < now() - make_interval(secs => $1)`,
      [options.staleAfterSeconds * 10],
    );
  }

  const tick = () => {
    running = beatAndSweep().catch((error: unknown) => logger.error({ err: error }, 'worker heartbeat failed'));
  };
  tick();
  const timer = setInterval(tick, options.heartbeatSeconds * 1000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      const ids = workerIds();
      if (ids.length) await pool.query('DELETE FROM worker_heartbeats WHERE worker_id = ANY($1::text[])', [ids]);
    },
  };
}
