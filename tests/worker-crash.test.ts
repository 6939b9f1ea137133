// A worker process killed (SIGKILL) in the middle of ingesting a document: another worker
// takes the job over once the dead one's heartbeat goes stale, and the document ends READY
// with each chunk exactly once. Needs real PostgreSQL: separate processes share it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddTextDocumentDocument } from './__generated__/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { waitForIngestion } from './helpers/documents.ts';
import { startFakeGemini, type FakeGemini } from './helpers/fake-gemini.ts';
import { rawId, signUpTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

const databaseUrl = process.env.DATABASE_URL;
const WORKER_MAIN = fileURLToPath(new URL('../src/worker/main.ts', import.meta.url));

describe.skipIf(!databaseUrl)('a worker killed mid-job (needs DATABASE_URL: PostgreSQL shared by processes)', () => {
  let gemini: FakeGemini;
  let app: TestApp;
  const workers: ChildProcess[] = [];

  const env = () => ({
    ...process.env,
    DATABASE_URL: app.config.databaseUrl,
    GEMINI_API_KEY: 'test-key',
    GEMINI_BASE_URL: gemini.baseUrl,
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    WORKER_HEARTBEAT_SECONDS: '0.5',
    WORKER_STALE_AFTER_SECONDS: '2',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  });

  function startWorkerProcess(): ChildProcess {
    const child = spawn(process.execPath, [WORKER_MAIN], { env: env(), stdio: ['ignore', 'inherit', 'inherit'] });
    workers.push(child);
    return child;
  }

  beforeAll(async () => {
    gemini = await startFakeGemini();
    // This process serves the API only; ingestion happens in the worker processes.
    app = await startTestApp({ GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.baseUrl, RUN_WORKER: 'false' });
  });
  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await app?.close();
    await gemini?.close();
  });

  it('finishes READY on another worker, with no duplicate chunks', async () => {
    const tenant = await signUpTenant(app);
    // The first embedding request hangs, so the job is surely mid-flight when its worker dies.
    gemini.script('batchEmbedContents', [{ stallMs: 120_000 }]);
    const first = startWorkerProcess();
    const content = Array.from({ length: 60 }, (_, i) => `Paragraph sentence number ${i} about resilient workers.`).join(' ');
    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Crash', content }, tenant.admin.token);
    const id = addTextDocument.document.id;

    await eventually(() => gemini.requests.some((r) => r.route === 'batchEmbedContents'), 'the first embedding request', 30_000);
    const { rows: during } = await app.db.pool.query('SELECT status FROM documents WHERE id = $1', [rawId(id)]);
    expect(during[0]?.status).toBe('PROCESSING');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    startWorkerProcess();
    const document = await waitForIngestion(app, tenant.admin.token, id, 60_000);
    expect(document.status).toBe('READY');
    const { rows } = await app.db.pool.query<{ total: string; distinct_indexes: string }>(
      'SELECT count(*) AS total, count(DISTINCT index) AS distinct_indexes FROM chunks WHERE document_id = $1',
      [rawId(id)],
    );
    expect(Number(rows[0]?.total)).toBe(document.chunkCount);
    expect(Number(rows[0]?.distinct_indexes)).toBe(document.chunkCount);
    expect(gemini.requests.filter((r) => r.route === 'batchEmbedContents').length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
