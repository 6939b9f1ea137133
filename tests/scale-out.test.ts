// Scale-out as deployed: two API processes (`node src/server.ts`, RUN_WORKER=false) and an
// ingestion worker process (`node src/worker/main.ts`) on ONE PostgreSQL database, talked to
// only through real clients (fetch over HTTP, graphql-ws over WebSocket). Events produced in
// one process must reach subscribers connected to another: document status (API A + worker
// → subscriber on B), answer deltas (generation on A → subscriber on B); and a worker killed
// mid-job is replaced by another that finishes the job.
// Needs real PostgreSQL (DATABASE_URL): the embedded database lives inside one process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTextDocumentDocument,
  CreateChatSessionDocument,
  DocumentDocument,
  DocumentsDocument,
  DocumentStatusDocument,
  MessageStreamDocument,
  SendMessageDocument,
  SignUpDocument,
  UploadDocumentDocument,
  type DocumentStatusSubscription,
} from './__generated__/graphql.ts';
import { startFakeGemini, type FakeGemini } from './helpers/fake-gemini.ts';
import { okGraphQL, uploadGraphQL } from './helpers/http-graphql.ts';
import { fetchMetrics, responseCacheLookups } from './helpers/metrics.ts';
import { startApiProcess, startWorkerProcess, type NodeProcess } from './helpers/node-process.ts';
import { createScratchDatabase, type ScratchDatabase } from './helpers/scratch-db.ts';
import { subscribeWs, wsClient, type Collected } from './helpers/streams.ts';
import { rawId, uniqueSlug, PASSWORD } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';
import { KESSEL_GUIDE } from './helpers/documents.ts';

const databaseUrl = process.env.DATABASE_URL;


/** What the fake Gemini streams, one event per part, 100 ms apart: [1] cites the first source. */
const ANSWER_PARTS = ['Mount Kessel ', 'last erupted ', 'in 1913, ', 'burying ', 'the harbour ', 'town under ash ', '[1].'];

type StatusEvent = DocumentStatusSubscription['documentStatus'];

describe.skipIf(!databaseUrl)(
  'scale-out: API A + API B + a worker process on one PostgreSQL (needs DATABASE_URL: a real PostgreSQL shared by the processes)',
  () => {
    let scratch: ScratchDatabase;
    let gemini: FakeGemini;
    let dataDir: string;
    let pool: pg.Pool;
    let apiA: NodeProcess & { url: string };
    let apiB: NodeProcess & { url: string };
    const processes: NodeProcess[] = [];
    const clients: Client[] = [];
    let token: string;
    /** Every documentStatus event of the tenant, as seen by a graphql-ws subscriber on API B. */
    let statusOnB: Collected<DocumentStatusSubscription>;
    let readyDocumentTitle: string;

    const env = (): NodeJS.ProcessEnv => ({
      ...process.env,
      DATABASE_URL: scratch.url,
      HOST: '127.0.0.1',
      PORT: '0',
      RUN_WORKER: 'false',
      GRAPHIQL: 'false',
      DATA_DIR: dataDir,
      JWT_SECRET: 'scale-out-secret-scale-out-secret-0123456789',
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.baseUrl,
      WORKER_HEARTBEAT_SECONDS: '0.5',
      WORKER_STALE_AFTER_SECONDS: '2',
    });

    const startWorker = async (name: string) => {
      const worker = await startWorkerProcess(name, env());
      processes.push(worker);
      return worker;
    };

    const eventsOf = (documentId: string): StatusEvent[] =>
      statusOnB.events.map((e) => e.documentStatus).filter((e) => e.document?.id === documentId);

    beforeAll(async () => {
      scratch = await createScratchDatabase(databaseUrl!);
      gemini = await startFakeGemini();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ragchat-scale-out-'));
      pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
      // A first, alone: it applies the migrations; then B and the worker find them done.
      apiA = await startApiProcess('api-a', env());
      processes.push(apiA);
      const [b] = await Promise.all([startApiProcess('api-b', env()), startWorker('worker-1')]);
      apiB = b;
      processes.push(apiB);

      const slug = uniqueSlug('scale');
      const { signUp } = await okGraphQL(apiA.url, SignUpDocument, {
        tenantName: 'Scale',
        tenantSlug: slug,
        name: 'Ada Admin',
        email: `admin@${slug}.test`,
        password: PASSWORD,
      });
      token = signUp.token;

      const client = wsClient(apiB.url, token);
      clients.push(client);
      statusOnB = subscribeWs(client, DocumentStatusDocument, {});
      // graphql-ws does not acknowledge a subscription: a probe document added on A proves
      // that B's subscriber is live before anything is measured (any of its events will do).
      const probe = await okGraphQL(apiA.url, AddTextDocumentDocument, { title: 'Probe', content: 'A probe, to see events flow.' }, token);
      await eventually(
        () => statusOnB.events.length > 0 || statusOnB.errors.length > 0,
        'a first documentStatus event on API B',
        15_000,
      );
      expect(statusOnB.errors).toEqual([]);
      await eventually(() => eventsOf(probe.addTextDocument.document.id).some((e) => e.status === 'READY'), 'the probe to be READY', 15_000);
    }, 60_000);

    const cacheHits = async (apiUrl: string) => responseCacheLookups(await fetchMetrics(apiUrl)).hit;

    afterAll(async () => {
      for (const client of clients) await client.dispose();
      // SIGTERM first (graceful), SIGKILL after a second: nothing may outlive the test.
      await Promise.all(processes.map((p) => p.stop(1_000)));
      await pool?.end();
      await gemini?.close();
      await scratch?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }, 30_000);

    it('reports an upload on API A as QUEUED → PROCESSING → READY to a subscriber on API B', async () => {
      // B's response cache holds its documents page (read twice: the second read is a hit)...
      const cachedBefore = await cacheHits(apiB.url);
      const pageBefore = await okGraphQL(apiB.url, DocumentsDocument, { first: 50 }, token);
      expect(await okGraphQL(apiB.url, DocumentsDocument, { first: 50 }, token)).toEqual(pageBefore);
      expect(await cacheHits(apiB.url)).toBe(cachedBefore + 1);
      readyDocumentTitle = 'Kessel guide';
      const { uploadDocument } = await uploadGraphQL(
        apiA.url,
        UploadDocumentDocument,
        { title: readyDocumentTitle },
        { variable: 'file', bytes: new TextEncoder().encode(KESSEL_GUIDE), name: 'kessel.txt' },
        token,
      );
      expect(uploadDocument).toMatchObject({ deduplicated: false, document: { status: 'QUEUED' } });
      const id = uploadDocument.document.id;

      await eventually(() => eventsOf(id).some((e) => e.status === 'READY' || e.status === 'FAILED'), 'READY on API B', 20_000);
      const events = eventsOf(id);
      const statuses = events.map((e) => e.status).filter((s, i, all) => s !== all[i - 1]);
      expect(statuses).toEqual(['QUEUED', 'PROCESSING', 'READY']);
      expect(events.at(-1)!.document!.chunkCount).toBeGreaterThan(0);
      expect(statusOnB.errors).toEqual([]);
      // ...and the worker's commits announced themselves to B before the READY event it then
      // published: B's next read, at once, has the document READY.
      const pageAfter = await okGraphQL(apiB.url, DocumentsDocument, { first: 50 }, token);
      expect(pageAfter.documents.edges.find((e) => e.node.id === id)?.node.status).toBe('READY');
    });

    it('streams an answer asked on API A to a messageStream subscriber on API B, ending COMPLETE with citations', async () => {
      expect(readyDocumentTitle).toBeDefined(); // needs the READY document of the previous test
      gemini.setAnswer(ANSWER_PARTS, { eventDelayMs: 100 });
      const { createChatSession } = await okGraphQL(apiA.url, CreateChatSessionDocument, {}, token);
      const { sendMessage } = await okGraphQL(
        apiA.url,
        SendMessageDocument,
        { sessionId: createChatSession.id, content: 'When was the last eruption of Mount Kessel?' },
        token,
      );
      expect(sendMessage).toMatchObject({ role: 'ASSISTANT', status: 'STREAMING' });

      const client = wsClient(apiB.url, token);
      clients.push(client);
      const stream = subscribeWs(client, MessageStreamDocument, { messageId: sendMessage.id });
      await stream.finished;
      expect(stream.errors).toEqual([]);
      const events = stream.events.map((e) => e.messageStream);
      const deltas = events.filter((e) => e.delta !== null).map((e) => e.delta!);
      // The answer streams for ≥ 600 ms while the subscriber joins: most deltas arrive live,
      // one by one from A's NOTIFYs (a late joiner would get at most one catch-up delta).
      expect(deltas.length).toBeGreaterThanOrEqual(3);
      const final = events.at(-1)!;
      expect(final.done).toBe(true);
      expect(final.message).toMatchObject({ status: 'COMPLETE', content: ANSWER_PARTS.join('') });
      expect(deltas.join('')).toBe(ANSWER_PARTS.join(''));
      expect(final.message!.citations.length).toBeGreaterThan(0);
      expect(final.message!.citations[0]).toMatchObject({ rank: 1, document: { title: readyDocumentTitle } });
      expect(gemini.requests.filter((r) => r.route === 'streamGenerateContent')).toHaveLength(1);
    });

    it('finishes a job on a new worker after its worker is SIGKILLed mid-flight, reported on API B', async () => {
      // The next embedding request hangs: the job is surely mid-flight when its worker dies.
      gemini.script('batchEmbedContents', [{ stallMs: 120_000 }]);
      const embedsBefore = gemini.requests.filter((r) => r.route === 'batchEmbedContents').length;
      const content = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} about workers that die mid-job.`).join(' ');
      const { addTextDocument } = await okGraphQL(apiA.url, AddTextDocumentDocument, { title: 'Crash', content }, token);
      const id = addTextDocument.document.id;

      await eventually(
        () => gemini.requests.filter((r) => r.route === 'batchEmbedContents').length > embedsBefore,
        'the stalled embedding request',
        15_000,
      );
      const during = await okGraphQL(apiB.url, DocumentDocument, { id, chunksFirst: 1 }, token);
      expect(during.document?.status).toBe('PROCESSING');
      const first = processes.find((p) => p.name === 'worker-1')!;
      await first.kill();

      await startWorker('worker-2');
      await eventually(() => eventsOf(id).some((e) => e.status === 'READY' || e.status === 'FAILED'), 'READY on API B after the crash', 30_000);
      expect(eventsOf(id).at(-1)!.status).toBe('READY');
      const after = await okGraphQL(apiA.url, DocumentDocument, { id, chunksFirst: 1 }, token);
      expect(after.document).toMatchObject({ status: 'READY' });
      // Nothing half-written by the dead worker: each chunk exactly once.
      const { rows } = await pool.query<{ total: string; distinct_indexes: string }>(
        'SELECT count(*) AS total, count(DISTINCT index) AS distinct_indexes FROM chunks WHERE document_id = $1',
        [rawId(id)],
      );
      expect(Number(rows[0]!.total)).toBe(after.document!.chunkCount);
      expect(Number(rows[0]!.distinct_indexes)).toBe(after.document!.chunkCount);
      expect(gemini.requests.filter((r) => r.route === 'batchEmbedContents').length).toBeGreaterThanOrEqual(embedsBefore + 2);
    }, 45_000);
  },
);
