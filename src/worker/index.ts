// The ingestion worker: graphile-worker on the shared pool, with the tasks of jobs/ and
// the liveness beat that frees jobs of dead workers. Runs inside the API server by default
// (the embedded database) or alone through src/worker-main.ts (`npm run worker`).
import { EventEmitter } from 'node:events';
import { Logger as GraphileLogger, makeWorkerUtils, run, type Runner, type WorkerEvents } from 'graphile-worker';
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import type { Logger } from '../logger.ts';
import { startLiveness } from './liveness.ts';
import { loadTaskList, type JobDeps } from './tasks.ts';

export interface RunningWorker {
  /** Stops taking jobs, lets running ones finish (or releases them after a timeout). */
  stop(): Promise<void>;
}

type WorkerConfig = Pick<Config, 'workerConcurrency' | 'workerHeartbeatSeconds' | 'workerStaleAfterSeconds'>;

export interface WorkerHooks {
  /** Called with the runner's event emitter before it starts (job metrics, readiness). */
  observe?(events: WorkerEvents): void;
}

export function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const log = logger.child({ component: 'graphile-worker', ...scope, ...meta });
    if (level === 'error') log.error(message);
    else if (level === 'warning') log.warn(message);
    else if (level === 'info') log.info(message);
    else log.debug(message);
  });
}

export async function startWorker(
  db: Database,
  deps: JobDeps,
  config: WorkerConfig,
  hooks: WorkerHooks = {},
): Promise<RunningWorker> {
  const logger = deps.logger.child({ component: 'worker' });
  const events = new EventEmitter() as WorkerEvents;
  hooks.observe?.(events);
  const workerIds = new Set<string>();
  events.on('worker:create', ({ worker }) => workerIds.add(worker.workerId));
  events.on('worker:stop', ({ worker }) => workerIds.delete(worker.workerId));
  events.on('job:error', ({ job, error }) =>
    logger.warn({ jobId: job.id, task: job.task_identifier, attempts: job.attempts, err: error }, 'job failed'),
  );

  const common = {
    pgPool: db.pool,
    logger: graphileLogger(logger),
    // PGlite behind pglite-socket is one session shared by every connection: named prepared
    // statements of one client would collide with another's.
    noPreparedStatements: db.kind === 'embedded',
  };
  const runner: Runner = await run({
    ...common,
    taskList: await loadTaskList(deps),
    concurrency: config.workerConcurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    events,
  });
  const utils = await makeWorkerUtils(common);
  const liveness = startLiveness(
    db.pool,
    utils,
    () => [...workerIds],
    { heartbeatSeconds: config.workerHeartbeatSeconds, staleAfterSeconds: config.workerStaleAfterSeconds },
    logger,
  );
  logger.info({ concurrency: config.workerConcurrency }, 'ingestion worker started');

  return {
    async stop() {
      await runner.stop();
      await liveness.stop();
      await utils.release();
      logger.info('ingestion worker stopped');
    },
  };
}
