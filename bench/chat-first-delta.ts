// Part 1 of bench:chat — server-side time from a question to the first streamed delta, with
// a chat model that costs nothing, on a real PostgreSQL holding 100k chunks.
//
// Questions go through the product path (`forViewer(viewer).chat.send`), which records the
// question and a STREAMING answer, then generates in the background: embed the question,
// hybrid retrieval, model stream. The generation persists `firstTokenMs` (request → first
// delta); that stored figure is the result. The embedder and the model are wrapped to time
// the stages in between, and the retrieval SQL is then timed on its own (and EXPLAINed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import type { ChatModel } from '../src/providers/chat-model.ts';
import { toStoredVector, type Embedder } from '../src/providers/embedder.ts';
import { hybridSearch, textSearch, vectorSearch, type SearchQuery } from '../src/retrieval/search.ts';
import type { ChatService } from '../src/services/chat.ts';
import { hashEmbedder } from '../tests/helpers/hash-embedder.ts';
import { fmt, summarize, type Summary } from './chat-stats.ts';
import {
  buildSearchIndexes,
  checkSameVectors,
  dropSearchIndexes,
  insertTenantChunks,
  loadCorpus,
  memoisedHashEmbed,
  tenantDocuments,
} from './chat-seed.ts';

const QUERIES = new URL('../../shared/datasets/scifact/queries-train.jsonl', import.meta.url);
const SLUG_PREFIX = 'chatbench-';
const PASSWORD = 'benchmark password';

export interface FirstDeltaOptions {
  databaseUrl: string;
  tenants: number;
  chunksPerTenant: number;
  /** Asked one at a time (the headline figure). */
  questions: number;
  /** Asked by `concurrency` askers at once, after the sequential run. */
  concurrentQuestions: number;
  concurrency: number;
}

export interface FirstDeltaResult {
  chunks: number;
  corpus: string;
  seed: { reused: boolean; seconds: number; embedSeconds: number; insertSeconds: number; hnswSeconds: number; ginSeconds: number };
  /** firstTokenMs as stored by the product, questions asked one at a time. */
  firstDelta: Summary;
  /** The same, `concurrency` askers at once. */
  firstDeltaConcurrent: Summary;
  failed: number;
  /** Client-side stages of the sequential run (performance.now()). */
  stages: { beforeRetrieval: Summary; embed: Summary; recorded: Summary; retrieval: Summary; modelToDelta: Summary; total: Summary };
  /** The retrieval statements alone, sequentially, on questions not asked before. */
  sql: { vector: Summary; text: Summary; hybrid: Summary; roundTrip: Summary };
  /** The plan nodes of the vector and text statements for one slow (≈p95) question. */
  plans: { vector: string; text: string };
  vectorPlanUsesHnsw: boolean;
}

interface Probe {
  t0: number;
  /** send() returned: the question and the pending answer are recorded (retrieval runs meanwhile). */
  recorded: number;
  embedStart: number;
  embedEnd: number;
  modelStart: number;
  firstDelta: number;
  finished: PromiseWithResolvers<void>;
}

interface Asker {
  tenantId: string;
  chat: ChatService;
}

const now = () => performance.now();

export async function measureFirstDelta(options: FirstDeltaOptions): Promise<FirstDeltaResult> {
  const questions = loadQuestions();
  const warmUp = questions.slice(0, 20);
  const sequential = questions.slice(20, 20 + options.questions);
  const concurrent = questions.slice(20 + options.questions, 20 + options.questions + options.concurrentQuestions);
  if (sequential.length < options.questions || concurrent.length < options.concurrentQuestions) {
    throw new Error(`only ${questions.length} distinct questions available`);
  }
  // The SQL alone is timed on questions not asked before: re-asked ones would find their rows
  // in the buffer cache, which the product path did not (shared_buffers is far smaller than
  // 100k chunks with their vectors and indexes).
  const used = 20 + options.questions + options.concurrentQuestions;
  const unseen = questions.slice(used, used + options.questions);
  const sqlQuestions = unseen.length >= options.questions / 2 ? unseen : sequential;

  // Stage timing: the wrappers find the probe of a question by its text (questions are distinct).
  const probes = new Map<string, Probe>();
  const base = hashEmbedder(768);
  const embedder: Embedder = {
    model: base.model,
    dimensions: base.dimensions,
    maxBatchSize: base.maxBatchSize,
    async embed(texts, embedOptions) {
      const probe = embedOptions?.task === 'query' ? probes.get(texts[0]!) : undefined;
      if (probe) probe.embedStart = now();
      const vectors = await base.embed(texts, embedOptions);
      if (probe) probe.embedEnd = now();
      return vectors;
    },
  };
  // Zero latency: a couple of deltas and the usage, with no waiting at all.
  const chatModel: ChatModel = {
    model: 'bench/zero-latency',
    async *stream(request) {
      const probe = probes.get(request.question);
      try {
        if (probe) probe.modelStart = probe.firstDelta = now();
        yield { type: 'delta', text: 'The retrieved sources agree [1]' };
        yield { type: 'delta', text: ', with details in [2].' };
        yield { type: 'usage', inputTokens: 50 * request.sources.length + 20, outputTokens: 12 };
      } finally {
        probe?.finished.resolve();
      }
    },
  };

  const config = {
    ...loadConfig({
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-chat-')),
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      // Many questions from few members: no plan limit may interfere.
      DEFAULT_PLAN: 'ENTERPRISE',
      PLAN_LIMITS: JSON.stringify({ ENTERPRISE: { requestsPerMinute: null } }),
    }),
    runWorker: false,
  };
  const app = await createApp(config, createLogger(config.logLevel), { inMemory: true, embedder, chatModel });
  try {
    const seeded = await ensureSeeded(app, options);
    // With the tenant row, as an authenticated request has it (src/services/auth.ts reads it
    // with the caller, cached for seconds): the clock starts when the question arrives.
    const askers = await Promise.all(
      seeded.tenants.map(async ({ tenantId, userId }) => ({
        tenantId,
        chat: app.services.forViewer(
          { tenantId, userId, role: 'ADMIN' },
          undefined,
          await app.db.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } }),
        ).chat,
      })),
    );

    // One asker per tenant in turn; a new chat session every 10 questions, so prompts carry
    // some history (as real conversations do) without growing without bound.
    const sessions = new Map<string, { id: string; asked: number }>();
    const ask = async (asker: Asker, lane: number, question: string) => {
      const key = `${lane}:${asker.tenantId}`;
      let session = sessions.get(key);
      if (!session || session.asked >= 10) {
        session = { id: (await asker.chat.createSession()).id, asked: 0 };
        sessions.set(key, session);
      }
      session.asked++;
      const probe: Probe = { t0: 0, recorded: NaN, embedStart: NaN, embedEnd: NaN, modelStart: NaN, firstDelta: NaN, finished: Promise.withResolvers() };
      probes.set(question, probe);
      probe.t0 = now();
      const answer = await asker.chat.send(session.id, question);
      probe.recorded = now();
      await settled(app.db.pool, answer.id, probe);
      return { id: answer.id, probe };
    };

    console.log(`warm-up: ${warmUp.length} questions`);
    for (const [i, q] of warmUp.entries()) await ask(askers[i % askers.length]!, 0, q);

    console.log(`asking ${sequential.length} questions one at a time…`);
    const asked: { id: string; probe: Probe }[] = [];
    for (const [i, q] of sequential.entries()) asked.push(await ask(askers[i % askers.length]!, 0, q));
    const firstDelta = await storedFirstTokens(app, asked.map((a) => a.id));
    console.log(`  firstTokenMs (stored): ${fmt(firstDelta.summary)}${firstDelta.failed ? `; ${firstDelta.failed} not COMPLETE` : ''}`);

    const stages = {
      beforeRetrieval: summarize(asked.map((a) => a.probe.embedStart - a.probe.t0)),
      embed: summarize(asked.map((a) => a.probe.embedEnd - a.probe.embedStart)),
      recorded: summarize(asked.map((a) => a.probe.recorded - a.probe.t0)),
      retrieval: summarize(asked.map((a) => a.probe.modelStart - a.probe.embedEnd)),
      modelToDelta: summarize(asked.map((a) => a.probe.firstDelta - a.probe.modelStart)),
      total: summarize(asked.map((a) => a.probe.firstDelta - a.probe.t0)),
    };
    console.log(`  stages: request handling before retrieval ${fmt(stages.beforeRetrieval)}`);
    console.log(`          embed question ${fmt(stages.embed)}`);
    console.log(`          hybrid retrieval, waiting for the writes if they end later ${fmt(stages.retrieval)}`);
    console.log(`          meanwhile: question and answer recorded (request → send() returns) ${fmt(stages.recorded)}`);
    console.log(`          total (client clock) ${fmt(stages.total)}`);

    console.log(`asking ${concurrent.length} questions, ${options.concurrency} askers at once…`);
    const concurrentIds: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, lane) => {
        for (let i = next++; i < concurrent.length; i = next++) {
          concurrentIds.push((await ask(askers[i % askers.length]!, lane + 1, concurrent[i]!)).id);
        }
      }),
    );
    const firstDeltaConcurrent = await storedFirstTokens(app, concurrentIds);
    console.log(`  firstTokenMs (stored): ${fmt(firstDeltaConcurrent.summary)}`);

    const sql = await timeRetrievalSql(app, embedder, askers, sqlQuestions);
    console.log(`retrieval SQL alone (${sqlQuestions === sequential ? 'the same' : 'other'} questions): vector ${fmt(sql.vector)}`);
    console.log(`                     text   ${fmt(sql.text)}`);
    console.log(`                     hybrid ${fmt(sql.hybrid)}`);
    console.log(`  baseline SELECT 1 round trip: ${fmt(sql.roundTrip)} (machine noise)`);
    const plans = await explainRetrieval(options.databaseUrl, sql.slowQuery);
    console.log(`plan of the vector statement (question at the hybrid p95: "${sql.slowQuery.text}"):\n${indent(plans.vector)}`);
    console.log(`plan of the text statement:\n${indent(plans.text)}`);

    return {
      chunks: seeded.chunks,
      corpus: seeded.corpus,
      seed: seeded.timing,
      firstDelta: firstDelta.summary,
      firstDeltaConcurrent: firstDeltaConcurrent.summary,
      failed: firstDelta.failed + firstDeltaConcurrent.failed,
      stages,
      sql: { vector: sql.vector, text: sql.text, hybrid: sql.hybrid, roundTrip: sql.roundTrip },
      plans,
      vectorPlanUsesHnsw: plans.vector.includes('chunks_embedding_bq_hnsw_idx'),
    };
  } finally {
    await app.close();
  }
}

/**
 * Waits until the answer is final: first for the model to finish, then for the finishing
 * transaction, by polling its row (cheap, and it runs after the first delta, so it cannot
 * delay what is measured; no reliance on pub/sub delivery either). Bounded: an answer that
 * does not settle is reported and left behind (it then counts as not COMPLETE).
 */
async function settled(pool: pg.Pool, messageId: string, probe: Probe): Promise<void> {
  // A generation that failed before reaching the model never resolves `finished`.
  await Promise.race([probe.finished.promise, sleep(10_000)]);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM chat_messages WHERE id = $1', [messageId]);
    if (rows[0]?.status !== 'STREAMING') return;
    await sleep(2);
  }
  console.log(`  answer ${messageId} did not settle within 30 s`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function storedFirstTokens(app: App, ids: string[]): Promise<{ summary: Summary; failed: number }> {
  const { rows } = await app.db.pool.query<{ status: string; first_token_ms: number | null }>(
    'SELECT status, first_token_ms FROM chat_messages WHERE id = ANY($1::uuid[])',
    [ids],
  );
  const complete = rows.filter((r) => r.status === 'COMPLETE' && r.first_token_ms !== null);
  return { summary: summarize(complete.map((r) => r.first_token_ms!)), failed: ids.length - complete.length };
}

function loadQuestions(): string[] {
  const texts = fs.existsSync(QUERIES)
    ? fs
        .readFileSync(QUERIES, 'utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => (JSON.parse(line) as { text: string }).text.trim())
    : Array.from({ length: 800 }, (_, i) => `Does treatment ${i} reduce the risk of cancer in patients with increased insulin levels?`);
  return [...new Set(texts)].filter((t) => t.length > 0);
}

interface SeededTenant {
  tenantId: string;
  userId: string;
}

/**
 * Bench tenants with their chunks: reused when an earlier run left exactly the wanted amount
 * (fast iteration on the same database), else created and seeded. A database holding other
 * chunks is refused, so the figure is always "at N chunks".
 */
async function ensureSeeded(app: App, options: FirstDeltaOptions) {
  const pool = app.db.pool;
  const wanted = options.tenants * options.chunksPerTenant;
  const { rows: counts } = await pool.query<{ tenant_id: string; slug: string; user_id: string; chunks: number }>(
    `SELECT t.id AS tenant_id, t.slug, (SELECT u.id FROM users u WHERE u.tenant_id = t.id ORDER BY u.created_at LIMIT 1) AS user_id,
            (SELECT count(*)::int FROM chunks c WHERE c.tenant_id = t.id) AS chunks
       FROM tenants t WHERE t.slug LIKE $1 ORDER BY t.slug`,
    [`${SLUG_PREFIX}%`],
  );
  const { rows: total } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM chunks');
  const reusable =
    counts.length === options.tenants && counts.every((c) => c.chunks === options.chunksPerTenant) && total[0]!.n === wanted;
  if (reusable) {
    console.log(`reusing ${wanted} chunks seeded by an earlier run (${options.tenants} tenants)`);
    return {
      tenants: counts.map((c) => ({ tenantId: c.tenant_id, userId: c.user_id })),
      chunks: wanted,
      corpus: 'reused',
      timing: { reused: true, seconds: 0, embedSeconds: 0, insertSeconds: 0, hnswSeconds: 0, ginSeconds: 0 },
    };
  }
  if (total[0]!.n > 0 || counts.length > 0) {
    throw new Error('the database already holds other chunks or bench tenants: start from a fresh one (ensure-pgvector.sh --recreate)');
  }

  const started = now();
  const corpus = loadCorpus();
  const embed = memoisedHashEmbed(768);
  const reference = hashEmbedder(768);
  await checkSameVectors(reference, embed, corpus.docs.slice(0, 200).map((d) => d.text));
  console.log(`seeding ${options.tenants} tenants × ${options.chunksPerTenant} chunks of the ${corpus.source} corpus…`);

  const tenants: SeededTenant[] = [];
  let embedSeconds = 0;
  let insertSeconds = 0;
  await dropSearchIndexes(pool);
  for (let t = 0; t < options.tenants; t++) {
    const slug = `${SLUG_PREFIX}${String(t).padStart(2, '0')}`;
    const session = await app.services.auth.signUp({
      tenantName: `Chat bench ${t}`,
      tenantSlug: slug,
      name: 'Bench Asker',
      email: `asker@${slug}.test`,
      password: PASSWORD,
    });
    const docs = tenantDocuments(corpus.docs, t, options.chunksPerTenant);
    const timing = await insertTenantChunks(pool, session.tenant.id, docs, embed, reference.model, app.config.ftsConfig);
    embedSeconds += timing.embedSeconds;
    insertSeconds += timing.insertSeconds;
    tenants.push({ tenantId: session.tenant.id, userId: session.user.id });
    process.stdout.write(`  tenant ${t + 1}/${options.tenants}: ${docs.length} documents\n`);
  }
  console.log(`  rows written in ${insertSeconds.toFixed(1)} s (+${embedSeconds.toFixed(1)} s hashing); building indexes…`);
  const { hnswSeconds, ginSeconds } = await buildSearchIndexes(pool);
  console.log(`  HNSW index ${hnswSeconds.toFixed(1)} s, GIN index ${ginSeconds.toFixed(1)} s`);
  return {
    tenants,
    chunks: wanted,
    corpus: corpus.source,
    timing: { reused: false, seconds: (now() - started) / 1000, embedSeconds, insertSeconds, hnswSeconds, ginSeconds },
  };
}

async function queryFor(embedder: Embedder, asker: Asker, text: string, ftsConfig: string): Promise<SearchQuery> {
  const [vector] = await embedder.embed([text], { task: 'query' });
  return { tenantId: asker.tenantId, embeddingModel: embedder.model, vector: toStoredVector(vector!), text, ftsConfig };
}

/** Each retrieval statement on its own, sequentially, one question after another. */
async function timeRetrievalSql(app: App, embedder: Embedder, askers: Asker[], questions: string[]) {
  const queries = await Promise.all(
    questions.map((q, i) => queryFor(embedder, askers[i % askers.length]!, q, app.config.ftsConfig)),
  );
  const pool = app.db.pool;
  const time = async (run: () => Promise<unknown>) => {
    const start = now();
    await run();
    return now() - start;
  };
  for (const q of queries.slice(0, 10)) await hybridSearch(pool, q); // warm caches and connections
  const vector: number[] = [];
  const text: number[] = [];
  const hybrid: number[] = [];
  // Baseline for noise: an empty round trip, interleaved with the statements it is compared to.
  const roundTrip: number[] = [];
  for (const q of queries) {
    roundTrip.push(await time(() => pool.query('SELECT 1')));
    vector.push(await time(() => vectorSearch(pool, q, 20)));
    text.push(await time(() => textSearch(pool, q, 20)));
    hybrid.push(await time(() => hybridSearch(pool, q)));
  }
  const byHybrid = hybrid.map((ms, i) => ({ ms, i })).sort((a, b) => a.ms - b.ms);
  const slow = byHybrid[Math.min(byHybrid.length - 1, Math.ceil(0.95 * byHybrid.length) - 1)]!;
  return {
    vector: summarize(vector),
    text: summarize(text),
    hybrid: summarize(hybrid),
    roundTrip: summarize(roundTrip),
    slowQuery: queries[slow.i]!,
  };
}

/**
 * EXPLAIN ANALYZE of the product's own statements (no copy of its SQL here): auto_explain,
 * loaded into one session, sends each plan back to that session as a NOTICE.
 */
async function explainRetrieval(databaseUrl: string, query: SearchQuery) {
  const notices: string[] = [];
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  pool.on('connect', (client) => {
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    void client
      .query(
        `LOAD 'auto_explain';
         SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on;
         SET auto_explain.log_timing = on; SET auto_explain.log_level = notice`,
      )
      .catch(() => {});
  });
  try {
    await vectorSearch(pool, query, 20); // first run warms the session; the second is reported
    await textSearch(pool, query, 20);
    notices.length = 0;
    await vectorSearch(pool, query, 20);
    const vector = notices.filter((n) => n.includes('chunks')).join('\n');
    notices.length = 0;
    await textSearch(pool, query, 20);
    const text = notices.filter((n) => n.includes('chunks')).join('\n');
    return { vector: planNodes(vector), text: planNodes(text) };
  } finally {
    await pool.end();
  }
}

/** The plan without the statement text auto_explain repeats before it. */
function planNodes(notice: string): string {
  const lines = notice.split('\n');
  const duration = lines[0]?.match(/duration: [\d.]+ ms/)?.[0] ?? '';
  const planStart = lines.findIndex((l) => /^\s*(Limit|Sort|Nested Loop|Hash Join|Merge Join|Index|Bitmap|Seq Scan|CTE|Subquery)/.test(l));
  return [duration, ...lines.slice(planStart >= 0 ? planStart : 0)]
    .join('\n')
    .replace(/'\[[-\d.,e]+\]'::vector/g, "'[…the question's vector…]'::vector")
    .trim();
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
