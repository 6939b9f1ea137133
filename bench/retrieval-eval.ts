// bench:retrieval-eval — retrieval quality on BEIR SciFact (train split: 809 claims, 5,183
// abstracts), for vector-only, full-text-only and hybrid search as the product runs them.
//
// The corpus goes into one tenant through the product's own path: documents.addText
// (title, blank line, abstract) then ingestDocument (clean → chunkPages → embed with the
// embedded model → chunks with tsv and embedding). A document's score is the best of its
// chunks. A second tenant holds a shuffled copy of every relevant abstract plus others, with
// identical vectors and lexemes: any of its rows in a result is a tenant leak (counted; the
// run fails if there is one).
//
// Metrics (binary relevance from qrels-train.tsv): nDCG@10 and recall@100 over documents.
// Vector and text lists are taken DEPTH chunks deep (enough for 100 distinct documents);
// hybrid nDCG@10 is hybridSearch with the product's DEFAULT_RETRIEVAL and the embedder's fusion
// weight (n raised to keep every fused chunk); hybrid recall@100 fuses the deep lists. A small
// sweep of RRF k, vector weight and candidate depth, computed from the same lists, is printed.
//
// Database: DATABASE_URL (real PostgreSQL; give it a fresh one, e.g.
// `DATABASE_URL=$(bash .ci/ensure-pgvector.sh --recreate ragchat_eval)`) else an in-memory PGlite.
// FTS_CONFIG selects the text-search configuration (default english). Embeddings are cached
// under os.tmpdir(), keyed by model and corpus sha256, so re-runs skip the model.
// Last line of output: one JSON object with the figures.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { databaseDeps, ingestDocument } from '../src/ingest/pipeline.ts';
import { createLogger } from '../src/logger.ts';
import type { Embedder } from '../src/providers/embedder.ts';
import { singleEmbedder } from '../src/providers/registry.ts';
import { createEmbedder, toStoredVector } from '../src/providers/index.ts';
import {
  DEFAULT_RETRIEVAL,
  fuse,
  hybridSearch,
  textSearch,
  vectorSearch,
  type ScoredChunk,
  type SearchQuery,
} from '../src/retrieval/search.ts';
import { postgresStorage } from '../src/storage/index.ts';

const DATASET = new URL('../../shared/datasets/scifact/', import.meta.url);
/** Chunks taken from each retriever: ~4 chunks per abstract, so ≥ 100 distinct documents. */
const DEPTH = 400;
/** Abstracts copied into the second tenant besides every relevant one. */
const DECOYS = 500;

if (!fs.existsSync(new URL('corpus.jsonl', DATASET))) {
  console.log('bench:retrieval-eval skipped: ../shared/datasets/scifact is not beside the repository');
  process.exit(0);
}

interface Doc {
  _id: string;
  title: string;
  text: string;
}
const corpusBytes = fs.readFileSync(new URL('corpus.jsonl', DATASET));
const corpus: Doc[] = corpusBytes.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Doc);
const queries = fs
  .readFileSync(new URL('queries-train.jsonl', DATASET), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { _id: string; text: string });
const qrels = new Map<string, Set<string>>();
for (const line of fs.readFileSync(new URL('qrels-train.tsv', DATASET), 'utf8').trim().split('\n').slice(1)) {
  const [queryId, docId] = line.split('\t') as [string, string];
  qrels.set(queryId, (qrels.get(queryId) ?? new Set()).add(docId));
}

/**
 * The embedded model behind a cache file of (sha1 of task + text → vector) records, appended
 * as they are computed, so an interrupted run keeps its progress. Same model id as the model.
 */
function cachedEmbedder(inner: Embedder, file: string): Embedder {
  const record = 20 + inner.dimensions * 4;
  const cache = new Map<string, Float32Array>();
  if (fs.existsSync(file)) {
    const bytes = fs.readFileSync(file);
    for (let at = 0; at + record <= bytes.length; at += record) {
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at + 20, bytes.byteOffset + at + record));
      cache.set(bytes.subarray(at, at + 20).toString('hex'), values);
    }
  }
  console.log(`embedding cache ${file}: ${cache.size} vectors`);
  return {
    ...inner,
    async embed(texts, options = {}) {
      const keys = texts.map((text) => createHash('sha1').update(`${options.task ?? ''}\0${text}`).digest());
      const missing = [...new Set(texts.filter((_, i) => !cache.has(keys[i]!.toString('hex'))))];
      if (missing.length) {
        const vectors = await inner.embed(missing, options);
        const out: Buffer[] = [];
        missing.forEach((text, i) => {
          const key = createHash('sha1').update(`${options.task ?? ''}\0${text}`).digest();
          const values = Float32Array.from(vectors[i]!);
          cache.set(key.toString('hex'), values);
          out.push(key, Buffer.from(values.buffer));
        });
        fs.appendFileSync(file, Buffer.concat(out));
      }
      return keys.map((key) => Array.from(cache.get(key.toString('hex'))!));
    },
  };
}

/** Deterministic shuffle (mulberry32), so every run builds the same second tenant. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const model = createEmbedder({});
const corpusSha = createHash('sha256').update(corpusBytes).digest('hex');
const cacheKey = createHash('sha256').update(`${model.model}\0${corpusSha}`).digest('hex').slice(0, 16);
const embedder = cachedEmbedder(model, path.join(os.tmpdir(), `ragchat-scifact-${cacheKey}.f32`));

const config = {
  ...loadConfig({
    ...process.env,
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-retrieval-')),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    TENANT_MAX_DOCUMENTS: '100000',
    DEFAULT_PLAN: 'ENTERPRISE',
  }),
  runWorker: false, // documents are ingested below, in order, by this process
};
const logger = createLogger(config.logLevel);
const app = await createApp(config, logger, { inMemory: true, embedder });
const deps = { ...databaseDeps(app.db), pubsub: app.pubsub, storage: postgresStorage, embedders: singleEmbedder(embedder), logger, ftsConfig: config.ftsConfig };

/** Adds the abstracts to a new tenant through the product path; returns document id → SciFact ids. */
async function loadTenant(name: string, docs: Doc[]): Promise<{ tenantId: string; ids: Map<string, string[]> }> {
  const session = await app.services.auth.signUp({
    tenantName: name,
    tenantSlug: `${name.toLowerCase()}-${Date.now().toString(36)}`,
    name: 'Bench',
    email: 'bench@example.com',
    password: 'benchmark password',
  });
  const documents = app.services.forViewer({ userId: session.user.id, tenantId: session.tenant.id, role: 'ADMIN' }).documents;
  const ids = new Map<string, string[]>();
  const started = performance.now();
  for (const [i, doc] of docs.entries()) {
    // Two abstracts with the same bytes are one document (dedup by sha256): keep both ids.
    // Titles are cut to the product's 200-character limit; the full title stays in the text.
    const { document, deduplicated } = await documents.addText({
      title: doc.title.slice(0, 200),
      content: `${doc.title}\n\n${doc.text}`,
    });
    ids.set(document.id, [...(ids.get(document.id) ?? []), doc._id]);
    if (!deduplicated) await ingestDocument(deps, document.id, { attempts: 1, maxAttempts: 1 });
    if ((i + 1) % 250 === 0 || i + 1 === docs.length) {
      const rate = (i + 1) / ((performance.now() - started) / 1000);
      console.log(`${name}: ${i + 1}/${docs.length} documents ingested (${rate.toFixed(1)}/s)`);
    }
  }
  return { tenantId: session.tenant.id, ids };
}

const relevantIds = new Set([...qrels.values()].flatMap((set) => [...set]));
const tenantA = await loadTenant('SciFact', corpus);
const decoys = shuffled(corpus, 7).filter((doc) => !relevantIds.has(doc._id)).slice(0, DECOYS);
const tenantB = await loadTenant('Decoy', shuffled([...corpus.filter((doc) => relevantIds.has(doc._id)), ...decoys], 11));
const chunkCount = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM chunks WHERE tenant_id = $1', [tenantA.tenantId]);
console.log(`tenant A: ${corpus.length} abstracts in ${chunkCount.rows[0]!.n} chunks; tenant B: ${tenantB.ids.size} copies`);

let leaks = 0;
/** Documents (SciFact ids) in the order of their best chunk. */
function documentRanking(hits: ScoredChunk[]): string[] {
  const seen = new Set<string>();
  for (const hit of hits) {
    const ids = tenantA.ids.get(hit.documentId);
    if (!ids) {
      leaks++;
      continue;
    }
    for (const id of ids) seen.add(id);
  }
  return [...seen];
}

function ndcgAt10(ranking: string[], relevant: Set<string>): number {
  let dcg = 0;
  ranking.slice(0, 10).forEach((id, i) => (dcg += relevant.has(id) ? 1 / Math.log2(i + 2) : 0));
  let ideal = 0;
  for (let i = 0; i < Math.min(10, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return dcg / ideal;
}
const recallAt100 = (ranking: string[], relevant: Set<string>) =>
  ranking.slice(0, 100).filter((id) => relevant.has(id)).length / relevant.size;

/** The product weighs the vector list by the embedder's fusionWeight (src/chat/generation.ts). */
const vectorWeight = embedder.fusionWeight ?? 1;
const queryVectors = (await embedder.embed(queries.map((q) => q.text), { task: 'query' })).map(toStoredVector);

interface Lists {
  relevant: Set<string>;
  vector: ScoredChunk[];
  text: ScoredChunk[];
}
const perQuery: Lists[] = [];
const sums = { vectorNdcg10: 0, textNdcg10: 0, hybridNdcg10: 0, hybridNoThresholdNdcg10: 0, vectorRecall100: 0, textRecall100: 0, hybridRecall100: 0 };
const started = performance.now();
for (const [i, query] of queries.entries()) {
  const relevant = qrels.get(query._id)!;
  const q: SearchQuery = {
    tenantId: tenantA.tenantId,
    embeddingModel: embedder.model,
    vector: queryVectors[i]!,
    text: query.text,
    ftsConfig: config.ftsConfig,
  };
  const vector = await vectorSearch(app.db.pool, q, DEPTH);
  const text = await textSearch(app.db.pool, q, DEPTH);
  // Kept for the sweep below without their texts (809 × 800 chunks would not fit otherwise).
  const slim = (hits: ScoredChunk[]) => hits.map((hit) => ({ ...hit, text: '', documentTitle: '' }));
  perQuery.push({ relevant, vector: slim(vector), text: slim(text) });
  const vectorDocs = documentRanking(vector);
  const textDocs = documentRanking(text);
  // The product's hybrid search, with every fused chunk kept so ten documents can be ranked.
  const product = documentRanking(await hybridSearch(app.db.pool, q, { n: 2 * DEFAULT_RETRIEVAL.k, vectorWeight }));
  const unthresholded = documentRanking(await hybridSearch(app.db.pool, q, { n: 2 * DEFAULT_RETRIEVAL.k, minScore: 0, vectorWeight }));
  const deep = documentRanking(fuse(vector, text, { ...DEFAULT_RETRIEVAL, k: DEPTH, n: 2 * DEPTH, minScore: 0, vectorWeight }));
  sums.vectorNdcg10 += ndcgAt10(vectorDocs, relevant);
  sums.textNdcg10 += ndcgAt10(textDocs, relevant);
  sums.hybridNdcg10 += ndcgAt10(product, relevant);
  sums.hybridNoThresholdNdcg10 += ndcgAt10(unthresholded, relevant);
  sums.vectorRecall100 += recallAt100(vectorDocs, relevant);
  sums.textRecall100 += recallAt100(textDocs, relevant);
  sums.hybridRecall100 += recallAt100(deep, relevant);
  if ((i + 1) % 100 === 0 || i + 1 === queries.length) {
    const ms = (performance.now() - started) / (i + 1);
    console.log(`${i + 1}/${queries.length} queries (${ms.toFixed(0)} ms each); hybrid nDCG@10 so far ${(sums.hybridNdcg10 / (i + 1)).toFixed(4)}`);
  }
}

// Tuning view: hybrid nDCG@10 for other RRF constants, vector weights and candidate depths,
// from the same lists.
console.log('hybrid nDCG@10 by candidates per retriever (k), vector weight (w) and RRF k:');
for (const k of [10, 20, 50, 100]) {
  for (const weight of [1, 0.5, 0.3, 0.1]) {
    const row = [10, 30, 60, 100].map((rrfK) => {
      let total = 0;
      for (const { relevant, vector, text } of perQuery) {
        total += ndcgAt10(documentRanking(fuse(vector, text, { k, n: 2 * k, rrfK, minScore: 0, vectorWeight: weight })), relevant);
      }
      return `rrfK=${rrfK}: ${(total / perQuery.length).toFixed(4)}`;
    });
    console.log(`  k=${k} w=${weight}  ${row.join('  ')}`);
  }
}

await app.close();
if (leaks > 0) {
  console.error(`TENANT LEAK: ${leaks} result rows came from another tenant`);
  process.exit(1);
}
const round = (x: number) => Number((x / queries.length).toFixed(4));
console.log(
  JSON.stringify({
    hybridNdcg10: round(sums.hybridNdcg10),
    vectorNdcg10: round(sums.vectorNdcg10),
    textNdcg10: round(sums.textNdcg10),
    hybridRecall100: round(sums.hybridRecall100),
    vectorRecall100: round(sums.vectorRecall100),
    textRecall100: round(sums.textRecall100),
    hybridNdcg10NoThreshold: round(sums.hybridNoThresholdNdcg10),
    queries: queries.length,
    docs: corpus.length,
    chunks: chunkCount.rows[0]!.n,
    decoyTenantDocs: tenantB.ids.size,
    leakedRows: leaks,
    embeddingModel: embedder.model,
    vectorWeight,
    ftsConfig: config.ftsConfig,
    database: app.db.kind,
  }),
);
process.exit(0);
