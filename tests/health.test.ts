// /health, /ready and /metrics on a real server: the JSON of each check, a failing check
// named with 503, and the Prometheus series with their values after real traffic.
import { EventEmitter } from 'node:events';
import type { WorkerEvents } from 'graphile-worker';
import { print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readMigrations } from '../src/db/migrate.ts';
import { createHealth } from '../src/observability/health.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { createWorkerMonitor } from '../src/observability/worker-monitor.ts';
import { AddTextDocumentDocument, MeDocument, MemberEventsDocument } from './__generated__/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { waitForIngestion } from './helpers/documents.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { signUpTenant, uniqueSlug, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

/** The value of one sample of the Prometheus text: `name{labels…} value` (labels: a subset). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const pairs = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => pairs[key] === value)) return Number(match[3]);
  }
  return undefined;
}

let app: TestApp;
let base: string;
let url: string;
let tenant: TestTenant;

beforeAll(async () => {
  app = await startTestApp({}, { embedder: hashEmbedder(768) });
  ({ url } = await app.listen());
  base = url.replace(/\/graphql$/, '');
  tenant = await signUpTenant(app);
});
afterAll(async () => {
  await app?.close();
});

const getJson = async (path: string) => {
  const response = await fetch(base + path);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
};

describe('/health', () => {
  it('answers 200 JSON while the process is alive, with a request id', async () => {
    const { status, headers, body } = await getJson('/health');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number), pid: process.pid });
  });
});

describe('/ready', () => {
  it('answers 200 when the database answers, every migration is applied and the worker runs', async () => {
    const migrations = await readMigrations();
    const { status, body } = await getJson('/ready');
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'ready',
      failing: [],
      checks: {
        database: { ok: true, latencyMs: expect.any(Number) },
        migrations: { ok: true, applied: migrations.length, expected: migrations.length, pending: [] },
        worker: { ok: true, enabled: true, running: true },
      },
    });
  });

  it('answers 503 naming "migrations" while a migration folder is not applied', async () => {
    const migrations = await readMigrations();
    const last = migrations.at(-1)!.name;
    const { rows } = await app.db.pool.query(`SELECT * FROM "_prisma_migrations" WHERE migration_name = $1`, [last]);
    await app.db.pool.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = $1`, [last]);
    try {
      const { status, body } = await getJson('/ready');
      expect(status).toBe(503);
      expect(body).toMatchObject({
        status: 'unavailable',
        failing: ['migrations'],
        checks: { database: { ok: true }, migrations: { ok: false, pending: [last], applied: migrations.length - 1 } },
      });
    } finally {
      const row = rows[0] as Record<string, unknown>;
      await app.db.pool.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [row.id, row.checksum, row.finished_at, row.migration_name, row.logs, row.rolled_back_at, row.started_at, row.applied_steps_count],
      );
    }
    expect((await getJson('/ready')).status).toBe(200);
  });

  it('names "worker" when the in-process worker is not running, and passes it when RUN_WORKER=false', async () => {
    const stopped = createHealth({ pool: app.db.pool, worker: () => ({ running: false, problem: 'worker pool failed: boom' }) });
    expect((await stopped.ready()).body).toMatchObject({
      status: 'unavailable',
      failing: ['worker'],
      checks: { worker: { ok: false, enabled: true, running: false, error: 'worker pool failed: boom' } },
    });
    const none = createHealth({ pool: app.db.pool, worker: null });
    expect((await none.ready()).body).toMatchObject({ status: 'ready', checks: { worker: { ok: true, enabled: false } } });
  });

  it('names "database" (and the migrations it could not check) when the database fails or hangs', async () => {
    const broken = { query: () => Promise.reject(new Error('connection refused')) } as unknown as pg.Pool;
    const down = await createHealth({ pool: broken, worker: null }).ready();
    expect(down).toEqual({
      ready: false,
      body: {
        status: 'unavailable',
        failing: ['database', 'migrations'],
        checks: {
          database: { ok: false, error: 'connection refused' },
          migrations: { ok: false, error: 'not checked: the database is unreachable' },
          worker: { ok: true, enabled: false },
        },
      },
    });
    const hanging = { query: () => new Promise(() => {}) } as unknown as pg.Pool;
    const slow = await createHealth({ pool: hanging, worker: null, timeoutMs: 50 }).ready();
    expect(slow.body.checks.database).toEqual({ ok: false, error: 'the database did not answer within 50 ms' });
  });

  it('follows the worker through its events', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const monitor = createWorkerMonitor(metrics);
    const events = new EventEmitter() as WorkerEvents;
    monitor.observe(events);
    expect(monitor.status().running).toBe(false);
    events.emit('pool:create', {} as never);
    expect(monitor.status()).toEqual({ running: true, problem: null });
    events.emit('pool:gracefulShutdown', {} as never);
    events.emit('pool:release', {} as never);
    expect(monitor.status()).toEqual({ running: false, problem: 'the worker is shutting down' });
  });
});

describe('/metrics', () => {
  const metricsText = async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  it('times GraphQL requests by operation name and type, and counts errors by code', async () => {
    const post = (query: string, token?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query }),
      });
    await post(print(MeDocument), tenant.admin.token);
    await post(print(MeDocument), tenant.admin.token);
    await post(print(MeDocument)); // UNAUTHENTICATED
    await post('{ nope }'); // GRAPHQL_VALIDATION_FAILED
    await post(`{ ${'__typename '.repeat(1001)}}`); // QUERY_TOO_COMPLEX (tokens)

    const text = await metricsText();
    const me = { operation_name: 'Me', operation_type: 'query' };
    expect(sample(text, 'graphql_request_duration_seconds_count', me)).toBe(3);
    expect(sample(text, 'graphql_request_duration_seconds_sum', me)).toBeGreaterThan(0);
    expect(sample(text, 'graphql_request_duration_seconds_sum', me)).toBeLessThan(30);
    expect(sample(text, 'graphql_request_duration_seconds_bucket', { ...me, le: '+Inf' })).toBe(3);
    expect(sample(text, 'graphql_request_duration_seconds_count', { operation_name: 'SignUp', operation_type: 'mutation' })).toBe(1);
    expect(sample(text, 'graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(sample(text, 'graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(sample(text, 'graphql_errors_total', { code: 'QUERY_TOO_COMPLEX' })).toBe(1);
  });

  it('counts open subscriptions per transport (SSE and WebSocket)', async () => {
    const open = async () => {
      const text = await metricsText();
      return { sse: sample(text, 'graphql_subscriptions_open', { transport: 'sse' }), ws: sample(text, 'graphql_subscriptions_open', { transport: 'ws' }) };
    };
    expect(await open()).toEqual({ sse: 0, ws: 0 });

    const sse = createSseClient({ url, headers: { authorization: `Bearer ${tenant.admin.token}` }, retryAttempts: 0 });
    const sseStream = sse.iterate({ query: print(MemberEventsDocument) });
    void sseStream.next().catch(() => {});
    const ws: WsClient = createWsClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tenant.admin.token}` },
      retryAttempts: 0,
    });
    const stopWs = ws.subscribe({ query: print(MemberEventsDocument) }, { next: () => {}, error: () => {}, complete: () => {} });
    try {
      await eventually(async () => JSON.stringify(await open()) === JSON.stringify({ sse: 1, ws: 1 }), 'one subscription per transport');
    } finally {
      stopWs();
      await sseStream.return?.();
      sse.dispose();
      await ws.dispose();
    }
    await eventually(async () => JSON.stringify(await open()) === JSON.stringify({ sse: 0, ws: 0 }), 'the subscriptions to close');
  });

  it('counts and times jobs by task and outcome, and reads the queue depth from the database', async () => {
    const { addTextDocument } = await app.ok(
      AddTextDocumentDocument,
      { title: 'Metrics', content: 'Prometheus scrapes counters. Histograms have buckets. Gauges go up and down.' },
      tenant.admin.token,
    );
    await waitForIngestion(app, tenant.admin.token, addTextDocument.document.id);
    // A job no worker here knows: it waits in the queue, "ready".
    await app.db.pool.query(`SELECT graphile_worker.add_job('metrics_probe', '{}'::json)`);
    await app.db.pool.query(`SELECT graphile_worker.add_job('metrics_probe', '{}'::json, run_at := now() + interval '1 hour')`);

    let text = '';
    await eventually(async () => {
      text = await metricsText();
      return sample(text, 'worker_jobs_total', { task: 'ingest_document', outcome: 'success' }) === 1;
    }, 'the job to be counted');
    const job = { task: 'ingest_document', outcome: 'success' };
    expect(sample(text, 'worker_job_duration_seconds_count', job)).toBe(1);
    expect(sample(text, 'worker_job_duration_seconds_sum', job)).toBeGreaterThan(0);
    expect(sample(text, 'worker_queue_jobs', { task: 'metrics_probe', state: 'ready' })).toBe(1);
    expect(sample(text, 'worker_queue_jobs', { task: 'metrics_probe', state: 'scheduled' })).toBe(1);
    expect(sample(text, 'worker_queue_jobs', { task: 'metrics_probe', state: 'locked' })).toBe(0);
    await app.db.pool.query(`SELECT graphile_worker.permanently_fail_jobs(array_agg(id), 'test over') FROM graphile_worker.jobs WHERE task_identifier = 'metrics_probe'`);
    text = await metricsText();
    expect(sample(text, 'worker_queue_jobs', { task: 'metrics_probe', state: 'failed' })).toBe(2);
  });

  it('counts model tokens in and out, and exposes process metrics', async () => {
    app.metrics.recordModelTokens({ model: 'local/extractive', inputTokens: 120, outputTokens: 45 });
    app.metrics.recordModelTokens({ model: 'local/extractive', inputTokens: 30, outputTokens: 5 });
    const text = await metricsText();
    expect(sample(text, 'chat_model_tokens_total', { model: 'local/extractive', direction: 'input' })).toBe(150);
    expect(sample(text, 'chat_model_tokens_total', { model: 'local/extractive', direction: 'output' })).toBe(50);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts job retries and permanent failures from worker events', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const monitor = createWorkerMonitor(metrics);
    const events = new EventEmitter() as WorkerEvents;
    monitor.observe(events);
    const job = (id: string, attempts: number) => ({ id, task_identifier: 'ingest_document', attempts, max_attempts: 2 });
    for (const [id, attempts, error] of [['1', 1, null], ['2', 1, new Error('x')], ['2', 2, new Error('x')]] as const) {
      events.emit('job:start', { job: job(id, attempts) } as never);
      events.emit('job:complete', { job: job(id, attempts), error } as never);
    }
    const text = await metrics.render();
    expect(sample(text, 'worker_jobs_total', { task: 'ingest_document', outcome: 'success' })).toBe(1);
    expect(sample(text, 'worker_jobs_total', { task: 'ingest_document', outcome: 'retry' })).toBe(1);
    expect(sample(text, 'worker_jobs_total', { task: 'ingest_document', outcome: 'failed' })).toBe(1);
    // A registry per instance: nothing leaks into another app's metrics.
    expect(sample(await app.metrics.render(), 'worker_jobs_total', { outcome: 'retry' })).toBeUndefined();
  });

  it('keeps operation-name labels bounded', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxOperationNames: 2 });
    for (const name of ['A', 'B', 'C', undefined, 'not a name!']) metrics.observeRequest(name, 'query', 0.01);
    const text = await metrics.render();
    for (const label of ['A', 'B', 'other', 'anonymous', 'invalid']) {
      expect(sample(text, 'graphql_request_duration_seconds_count', { operation_name: label })).toBe(1);
    }
  });
});

describe('METRICS_TOKEN and RUN_WORKER=false', () => {
  let other: TestApp;
  let otherBase: string;
  const TOKEN = 'metrics-secret-0123456789';
  beforeAll(async () => {
    other = await startTestApp({ METRICS_TOKEN: TOKEN, RUN_WORKER: 'false' });
    otherBase = (await other.listen()).url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await other?.close();
  });

  it('asks for the bearer token on /metrics', async () => {
    expect((await fetch(`${otherBase}/metrics`)).status).toBe(401);
    expect((await fetch(`${otherBase}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${otherBase}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('graphql_subscriptions_open{transport="ws"} 0');
  });

  it('is ready without a worker', async () => {
    const response = await fetch(`${otherBase}/ready`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { checks: { worker: unknown } }).checks.worker).toEqual({ ok: true, enabled: false });
  });

  it('echoes a client’s x-request-id and replaces an unusable one', async () => {
    const given = `req-${uniqueSlug()}`;
    const echoed = await fetch(`${otherBase}/health`, { headers: { 'x-request-id': given } });
    expect(echoed.headers.get('x-request-id')).toBe(given);
    const replaced = await fetch(`${otherBase}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'bad id with spaces' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
