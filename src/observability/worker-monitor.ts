// Watches the in-process graphile-worker through its `events` emitter: job counts and
// durations for the metrics, and whether the worker pool is running for /ready.
import type { WorkerEvents } from 'graphile-worker';
import type { JobOutcome, Metrics } from './metrics.ts';

export interface WorkerStatus {
  /** The pool is started and neither released nor failed. */
  running: boolean;
  /** Why it is not running, when known. */
  problem: string | null;
}

export interface WorkerMonitor {
  /** Attach to a runner's events (pass to startWorker's `observe` hook, before it runs). */
  observe(events: WorkerEvents): void;
  status(): WorkerStatus;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createWorkerMonitor(metrics: Metrics | null): WorkerMonitor {
  let status: WorkerStatus = { running: false, problem: 'the worker has not started' };
  const started = new Map<string, number>();

  return {
    observe(events) {
      events.on('pool:create', () => (status = { running: true, problem: null }));
      events.on('pool:gracefulShutdown', () => (status = { running: false, problem: 'the worker is shutting down' }));
      events.on('pool:release', () => {
        if (status.running) status = { running: false, problem: 'the worker stopped' };
      });
      events.on('pool:fatalError', ({ error }) => (status = { running: false, problem: `worker pool failed: ${message(error)}` }));
      events.on('worker:fatalError', ({ error }) => (status = { running: false, problem: `worker failed: ${message(error)}` }));

      events.on('job:start', ({ job }) => started.set(job.id, performance.now()));
      events.on('job:complete', ({ job, error }) => {
        const since = started.get(job.id);
        started.delete(job.id);
        const outcome: JobOutcome = !error ? 'success' : job.attempts >= job.max_attempts ? 'failed' : 'retry';
        metrics?.observeJob(job.task_identifier, outcome, since === undefined ? 0 : (performance.now() - since) / 1000);
      });
    },
    status: () => status,
  };
}
