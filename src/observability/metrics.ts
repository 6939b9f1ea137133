// Prometheus metrics, one registry per application instance (never prom-client's global
// default registry: several apps live in one test process). Served at /metrics by the Yoga
// plugin in ./http.ts.
//
//   graphql_request_duration_seconds{operation_name,operation_type}  histogram, HTTP queries/mutations
//   graphql_errors_total{code}                                       counter, by extensions.code
//   graphql_subscriptions_open{transport="ws"|"sse"}                 gauge
//   worker_jobs_total{task,outcome="success"|"retry"|"failed"}       counter (graphile-worker events)
//   worker_job_duration_seconds{task,outcome}                        histogram
//   worker_queue_jobs{task,state="ready"|"scheduled"|"locked"|"failed"}  gauge, read on scrape
//   chat_model_tokens_total{model,direction="input"|"output"}        counter (recordModelTokens)
//   rate_limited_requests_total{plan}                                counter, requests refused RATE_LIMITED by plan
//   quota_exceeded_total{limit}                                      counter, QUOTA_EXCEEDED by limit name
//   process_* / nodejs_*                                             prom-client default metrics
import type pg from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../logger.ts';

export type OperationType = 'query' | 'mutation' | 'subscription' | 'unknown';
export type JobOutcome = 'success' | 'retry' | 'failed';

export interface Metrics {
  registry: Registry;
  /** The text exposition of every metric (queue depth is read from the database first). */
  render(): Promise<string>;
  contentType: string;
  observeRequest(operationName: string | undefined, operationType: OperationType, seconds: number): void;
  countErrors(codes: Iterable<string>): void;
  subscriptionOpened(transport: 'ws' | 'sse'): () => void;
  observeJob(task: string, outcome: JobOutcome, seconds: number): void;
  /** Tokens the chat model used for one answer (call where an answer finishes). */
  recordModelTokens(usage: { model: string; inputTokens: number; outputTokens: number }): void;
  /** A request refused by its plan's requests-per-minute limit. */
  countRateLimited(plan: string): void;
  /** A write refused by a quota (`extensions.limit` of the QUOTA_EXCEEDED error). */
  countQuotaExceeded(limit: string): void;
  /** A cacheable query looked up in the response cache (src/response-cache.ts). */
  countResponseCacheLookup(result: 'hit' | 'miss'): void;
}

export interface MetricsOptions {
  /** For the queue-depth gauge; without it the gauge stays empty. */
  pool?: pg.Pool;
  logger?: Logger;
  /** Process/Node.js default metrics (on by default). */
  defaultMetrics?: boolean;
  /** Distinct operation names kept as labels; later ones are counted as "other". */
  maxOperationNames?: number;
}

const QUEUE_DEPTH_SQL = `
  SELECT task_identifier AS task,
         count(*) FILTER (WHERE locked_at IS NULL AND attempts < max_attempts AND run_at <= now())::int AS ready,
         count(*) FILTER (WHERE locked_at IS NULL AND attempts < max_attempts AND run_at > now())::int AS scheduled,
         count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS locked,
         count(*) FILTER (WHERE locked_at IS NULL AND attempts >= max_attempts)::int AS failed
    FROM graphile_worker.jobs
   GROUP BY task_identifier`;

const QUEUE_STATES = ['ready', 'scheduled', 'locked', 'failed'] as const;

/**
 * Operation names come from clients: a label per arbitrary string would let anyone grow the
 * registry without bound. Valid GraphQL names are kept up to a fixed number of distinct ones.
 */
export function operationNameLabeler(max: number) {
  const seen = new Set<string>();
  return (name: string | undefined): string => {
    if (!name) return 'anonymous';
    if (!/^[_A-Za-z][_0-9A-Za-z]{0,63}$/.test(name)) return 'invalid';
    if (seen.has(name)) return name;
    if (seen.size >= max) return 'other';
    seen.add(name);
    return name;
  };
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const label = operationNameLabeler(options.maxOperationNames ?? 200);

  const requestDuration = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'GraphQL queries and mutations over HTTP, from request to response, by operation',
    labelNames: ['operation_name', 'operation_type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'graphql_errors_total',
    help: 'GraphQL errors sent to clients, by extensions.code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const subscriptions = new Gauge({
    name: 'graphql_subscriptions_open',
    help: 'Subscriptions currently open, by transport',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  subscriptions.set({ transport: 'ws' }, 0);
  subscriptions.set({ transport: 'sse' }, 0);
  const jobs = new Counter({
    name: 'worker_jobs_total',
    help: 'Background jobs run by this process, by task and outcome (retry: failed, will run again)',
    labelNames: ['task', 'outcome'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'worker_job_duration_seconds',
    help: 'Background job run time, by task and outcome',
    labelNames: ['task', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const { pool, logger } = options;
  new Gauge({
    name: 'worker_queue_jobs',
    help: 'Jobs in the graphile-worker queue (all processes), by task and state, read at scrape time',
    labelNames: ['task', 'state'] as const,
    registers: [registry],
    async collect() {
      if (!pool) return;
      try {
        const { rows } = await pool.query<Record<(typeof QUEUE_STATES)[number], number> & { task: string }>(QUEUE_DEPTH_SQL);
        this.reset();
        for (const row of rows) {
          for (const state of QUEUE_STATES) this.set({ task: row.task, state }, row[state]);
        }
      } catch (error) {
        this.reset();
        logger?.warn({ err: error }, 'queue depth metric: query failed');
      }
    },
  });
  const modelTokens = new Counter({
    name: 'chat_model_tokens_total',
    help: 'Tokens of the chat model, by model and direction (input: prompt, output: answer)',
    labelNames: ['model', 'direction'] as const,
    registers: [registry],
  });

  // Operators watch these to see which plan's limits bite (a tenant outgrowing FREE, a script
  // hammering the API); the per-code error counter cannot tell plans or limits apart.
  const rateLimited = new Counter({
    name: 'rate_limited_requests_total',
    help: 'Requests refused with RATE_LIMITED by the requests-per-minute limit, by plan',
    labelNames: ['plan'] as const,
    registers: [registry],
  });
  const quotaExceeded = new Counter({
    name: 'quota_exceeded_total',
    help: 'Writes refused with QUOTA_EXCEEDED, by limit (questionsPerDay, maxDocuments, maxBytes)',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  // The hit rate says whether the cache earns its memory; a sudden drop, that something is
  // announcing changes far more often than people make them.
  const responseCacheLookups = new Counter({
    name: 'graphql_response_cache_lookups_total',
    help: 'Cacheable queries of signed-in members answered from the response cache (hit) or executed (miss)',
    labelNames: ['result'] as const,
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRequest(operationName, operationType, seconds) {
      requestDuration.observe({ operation_name: label(operationName), operation_type: operationType }, seconds);
    },
    countErrors(codes) {
      for (const code of codes) errors.inc({ code });
    },
    subscriptionOpened(transport) {
      subscriptions.inc({ transport });
      let open = true;
      return () => {
        if (!open) return;
        open = false;
        subscriptions.dec({ transport });
      };
    },
    observeJob(task, outcome, seconds) {
      jobs.inc({ task, outcome });
      jobDuration.observe({ task, outcome }, seconds);
    },
    recordModelTokens({ model, inputTokens, outputTokens }) {
      if (inputTokens > 0) modelTokens.inc({ model, direction: 'input' }, inputTokens);
      if (outputTokens > 0) modelTokens.inc({ model, direction: 'output' }, outputTokens);
    },
    countRateLimited(plan) {
      rateLimited.inc({ plan });
    },
    countQuotaExceeded(limit) {
      quotaExceeded.inc({ limit });
    },
    countResponseCacheLookup(result) {
      responseCacheLookups.inc({ result });
    },
  };
}
