// Commit-to-job-start latency of graphile-worker on PostgreSQL: each sample enqueues a job
// inside a transaction (as uploads do) and measures from COMMIT to the task's first line.
import { performance } from 'node:perf_hooks';
import { run } from 'graphile-worker';
import pg from 'pg';

export async function measurePickup(connectionString: string, samples: number) {
  const pool = new pg.Pool({ connectionString, max: 4 });
  // A connection that fails (idle in the pool, or checked out by the worker's LISTEN client)
  // must be reported, not crash the run; graphile-worker warns when these handlers are missing.
  pool.on('error', (error) => console.warn(`idle database connection failed: ${error.message}`));
  pool.on('connect', (client) => {
    client.on('error', (error) => console.warn(`database connection failed: ${error.message}`));
  });
  // Each sample's job reports its start through a promise, so waiting for it costs no CPU
  // (a polling loop would compete with the worker and the server on a small machine).
  const onStart = new Map<string, (at: number) => void>();
  const runner = await run({
    pgPool: pool,
    concurrency: 1,
    noHandleSignals: true,
    pollInterval: 2000,
    taskList: {
      bench_pickup: async (payload) => {
        onStart.get((payload as { id: string }).id)?.(performance.now());
      },
    },
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const id = `${Date.now()}-${i}`;
      const jobStarted = new Promise<number>((resolve) => onStart.set(id, resolve));
      const client = await pool.connect();
      let committed: number;
      try {
        await client.query('BEGIN');
        await client.query(`SELECT graphile_worker.add_job('bench_pickup', json_build_object('id', $1::text))`, [id]);
        committed = performance.now(); // from sending COMMIT: includes its round trip
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      latencies.push((await jobStarted) - committed);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await runner.stop();
    await pool.end();
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1));
  return { p50: at(0.5), p95: at(0.95), samples: latencies.length };
}
