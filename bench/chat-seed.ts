// Seeds a real PostgreSQL with many READY documents and their chunks, straight into
// `documents` + `chunks` with SQL (the ingestion pipeline would take an hour for 100k chunks;
// this takes about a minute). Rows look exactly like the pipeline's: the product chunker's
// chunks of real text (SciFact abstracts), the zero-cost hash embedder's vectors in stored
// form (unit length, 768 wide), tsv = to_tsvector(<fts config>, text), embedding_model = the
// embedder's model.
//
// Every tenant draws its own shuffled selection of the corpus and chunks it with its own target
// size, so tenants hold similar (as organisations in one field do) but not identical chunks.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { chunkPages } from '../src/ingest/chunk.ts';
import type { Embedder } from '../src/providers/embedder.ts';
import { toStoredVector } from '../src/providers/embedder.ts';

const CORPUS = new URL('../../shared/datasets/scifact/corpus.jsonl', import.meta.url);
/** Rows per INSERT: large enough to amortise round trips, small enough to keep messages modest. */
const BATCH = 2000;

export interface CorpusDoc {
  title: string;
  text: string;
}

/** SciFact abstracts when the dataset is beside the repository, else generated prose. */
export function loadCorpus(): { docs: CorpusDoc[]; source: 'scifact' | 'generated' } {
  if (fs.existsSync(CORPUS)) {
    const docs = fs
      .readFileSync(CORPUS, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { title: string; text: string })
      .filter((d) => d.text.trim().length > 0)
      .map((d) => ({ title: d.title, text: d.text }));
    return { docs, source: 'scifact' };
  }
  return { docs: generatedCorpus(6000), source: 'generated' };
}

/** Deterministic PRNG (mulberry32), so every run seeds the same rows. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function generatedCorpus(count: number): CorpusDoc[] {
  const random = prng(7);
  const words = (
    'cell protein gene expression patients treatment risk cancer mice tumor immune response increased reduced ' +
    'levels activity effect associated study analysis clinical trial receptor signaling pathway disease model ' +
    'infection virus bacterial therapy dose mortality cohort blood brain neurons insulin glucose obesity diet ' +
    'mutation DNA RNA transcription binding inhibitor enzyme metabolism mitochondrial stress inflammation'
  ).split(' ');
  const sentence = () => {
    const n = 8 + Math.floor(random() * 18);
    const s = Array.from({ length: n }, () => words[Math.floor(random() * words.length)]!).join(' ');
    return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
  };
  return Array.from({ length: count }, (_, i) => ({
    title: `Generated study ${i}: ${sentence()}`,
    text: Array.from({ length: 6 + Math.floor(random() * 8) }, sentence).join(' '),
  }));
}

export interface SeedChunk {
  index: number;
  charStart: number;
  charEnd: number;
  text: string;
}

export interface SeedDocument {
  title: string;
  text: string;
  chunks: SeedChunk[];
}

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * Exactly `count` chunks for tenant number `t`, grouped by document. Ten tenants need ~6× the
 * corpus, so the same abstracts recur across tenants; to keep their chunks (and vectors) mostly
 * distinct, as different organisations' documents would be, each tenant cuts at its own chunk
 * size and reads each abstract from its own starting sentence (wrapping around). About 75% of
 * the 100k chunk texts are then distinct (47% without the rotation); identical vectors would
 * share one HNSW element and make the tenant-filtered search easier than it really is.
 */
export function tenantDocuments(corpus: CorpusDoc[], t: number, count: number): SeedDocument[] {
  const docs: SeedDocument[] = [];
  let total = 0;
  const targetChars = 400 + 25 * (t % 10);
  for (const [i, doc] of shuffled(corpus, prng(1000 + t)).entries()) {
    if (total >= count) break;
    const parts = [...sentences.segment(doc.text)].map((s) => s.segment.trim()).filter(Boolean);
    const from = parts.length > 1 ? (t + i) % parts.length : 0;
    const text = [...parts.slice(from), ...parts.slice(0, from)].join(' ');
    const chunks = chunkPages([{ pageNumber: 1, text }], { targetChars, overlapChars: 50, maxChars: 800 })
      .slice(0, count - total)
      .map((c) => ({ index: c.index, charStart: c.charStart, charEnd: c.charEnd, text: c.text }));
    if (!chunks.length) continue;
    docs.push({ title: doc.title, text, chunks });
    total += chunks.length;
  }
  if (total < count) throw new Error(`the corpus yields only ${total} chunks for a tenant; ${count} were asked`);
  return docs;
}

/**
 * The hash embedder of tests/helpers/hash-embedder.ts, computed with a per-word digest cache:
 * the same arithmetic in the same order (so bit-identical vectors, which checkSameVectors
 * verifies against the real embedder), but about 5× faster on a corpus's repeated vocabulary.
 */
export function memoisedHashEmbed(dimensions: number) {
  const cache = new Map<string, { slot: number; sign: number }>();
  return (text: string): number[] => {
    const vector = new Array<number>(dimensions).fill(0);
    for (const word of text.toLowerCase().match(/\p{L}+|\p{N}+/gu) ?? []) {
      let hit = cache.get(word);
      if (!hit) {
        const digest = createHash('md5').update(word).digest();
        hit = { slot: digest.readUInt32LE(0) % dimensions, sign: digest[4]! & 1 ? 1 : -1 };
        cache.set(word, hit);
      }
      vector[hit.slot]! += hit.sign;
    }
    const norm = Math.hypot(...vector) || 1;
    return vector.map((x) => x / norm);
  };
}

export async function checkSameVectors(embedder: Embedder, fast: (text: string) => number[], texts: string[]) {
  const reference = await embedder.embed(texts, { task: 'document' });
  texts.forEach((text, i) => {
    const mine = fast(text);
    if (mine.length !== reference[i]!.length || mine.some((x, j) => x !== reference[i]![j])) {
      throw new Error('the memoised hash embedding differs from tests/helpers/hash-embedder.ts');
    }
  });
}

/**
 * pgvector's sparse text form of a stored vector, `{3:0.25,17:-0.5}/768` (1-based indices).
 * The hash vectors have ~50 non-zero values of 768, so this is ~15× less to send than the dense
 * `[…]` form; `::sparsevec::vector` gives the same float4 values the dense form would.
 */
export function sparseLiteral(vector: number[]): string {
  const parts: string[] = [];
  vector.forEach((x, i) => {
    if (x !== 0) parts.push(`${i + 1}:${x}`);
  });
  return `{${parts.join(',')}}/${vector.length}`;
}

export interface SeedTiming {
  embedSeconds: number;
  insertSeconds: number;
}

/** Inserts one tenant's documents and chunks (READY), in batches; returns how long each part took. */
export async function insertTenantChunks(
  pool: pg.Pool,
  tenantId: string,
  docs: SeedDocument[],
  embed: (text: string) => number[],
  embeddingModel: string,
  ftsConfig: string,
): Promise<SeedTiming> {
  const timing = { embedSeconds: 0, insertSeconds: 0 };
  const docRows = docs.map((d) => ({
    id: crypto.randomUUID(),
    title: d.title.slice(0, 300),
    bytes: Buffer.byteLength(d.text),
    sha256: createHash('sha256').update(`${tenantId}\n${d.title}\n${d.text}`).digest('hex'),
    chunks: d.chunks.length,
  }));
  let start = performance.now();
  for (let i = 0; i < docRows.length; i += BATCH) {
    const batch = docRows.slice(i, i + BATCH);
    await pool.query(
      `INSERT INTO documents (id, tenant_id, title, content_type, byte_size, sha256, status, page_count,
                              chunk_count, embedding_model, processed_at, updated_at)
       SELECT d.id, $1::uuid, d.title, 'text/plain', d.bytes, d.sha, 'READY', 1, d.chunks, $2, now(), now()
         FROM unnest($3::uuid[], $4::text[], $5::int[], $6::text[], $7::int[]) AS d(id, title, bytes, sha, chunks)`,
      [
        tenantId,
        embeddingModel,
        batch.map((d) => d.id),
        batch.map((d) => d.title),
        batch.map((d) => d.bytes),
        batch.map((d) => d.sha256),
        batch.map((d) => d.chunks),
      ],
    );
  }
  timing.insertSeconds += (performance.now() - start) / 1000;

  const rows = docs.flatMap((d, i) => d.chunks.map((c) => ({ documentId: docRows[i]!.id, ...c })));
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    start = performance.now();
    const vectors = batch.map((c) => sparseLiteral(toStoredVector(embed(c.text))));
    timing.embedSeconds += (performance.now() - start) / 1000;
    start = performance.now();
    await pool.query(
      `INSERT INTO chunks (tenant_id, document_id, "index", page_number, char_start, char_end, text,
                           embedding, embedding_model, tsv)
       SELECT $1::uuid, c.doc, c.idx, 1, c.cs, c.ce, c.txt, c.emb::sparsevec::vector, $2,
              to_tsvector($3::regconfig, c.txt)
         FROM unnest($4::uuid[], $5::int[], $6::int[], $7::int[], $8::text[], $9::text[]) AS c(doc, idx, cs, ce, txt, emb)`,
      [
        tenantId,
        embeddingModel,
        ftsConfig,
        batch.map((c) => c.documentId),
        batch.map((c) => c.index),
        batch.map((c) => c.charStart),
        batch.map((c) => c.charEnd),
        batch.map((c) => c.text),
        vectors,
      ],
    );
    timing.insertSeconds += (performance.now() - start) / 1000;
  }
  return timing;
}

/**
 * The migration's ANN and full-text index definitions. Bulk loading into a table without them
 * and building them afterwards is many times faster than maintaining them row by row.
 */
export const HNSW_INDEX = `CREATE INDEX "chunks_embedding_bq_hnsw_idx" ON "chunks" USING hnsw ((binary_quantize("embedding")::bit(768)) bit_hamming_ops)`;
export const GIN_INDEX = `CREATE INDEX "chunks_tenant_tsv_idx" ON "chunks" USING gin ("tenant_id", "tsv")`;

export async function dropSearchIndexes(pool: pg.Pool): Promise<void> {
  await pool.query('DROP INDEX IF EXISTS "chunks_embedding_bq_hnsw_idx"');
  await pool.query('DROP INDEX IF EXISTS "chunks_tenant_tsv_idx"');
}

/** Rebuilds both indexes with generous build memory (one session), then refreshes planner statistics. */
export async function buildSearchIndexes(pool: pg.Pool): Promise<{ hnswSeconds: number; ginSeconds: number }> {
  const client = await pool.connect();
  try {
    // The HNSW graph of 100k × 768-d vectors needs ~400 MB; with the default 64 MB the build
    // spills and takes many times longer. SET (not LOCAL): this session only, reset on release.
    await client.query(`SET maintenance_work_mem = '2GB'`);
    let start = performance.now();
    await client.query(HNSW_INDEX);
    const hnswSeconds = (performance.now() - start) / 1000;
    start = performance.now();
    await client.query(GIN_INDEX);
    const ginSeconds = (performance.now() - start) / 1000;
    await client.query('RESET maintenance_work_mem');
    // Steady-state statistics, as autovacuum would have gathered after a real ingestion.
    await client.query('VACUUM ANALYZE chunks');
    await client.query('VACUUM ANALYZE documents');
    return { hnswSeconds, ginSeconds };
  } finally {
    client.release();
  }
}
