// Hybrid retrieval inside one tenant and one embedding model: pgvector cosine search and
// Postgres full-text search, fused by reciprocal rank (RRF). Every query filters on
// tenant_id AND embedding_model, so rows of another tenant, or vectors of another model
// (which live in the same column but in a different space), can never be returned or compared.
// Each retriever runs in a transaction entered into the tenant, so row-level security holds
// underneath those filters too.
import type pg from 'pg';
import { withTenant } from '../db/tenant-session.ts';
import { EMBEDDING_COLUMN_DIMENSIONS, toStoredVector, type Embedder } from '../providers/embedder.ts';

export interface RetrievalParams {
  /** Candidates taken from each retriever before fusion. */
  k: number;
  /** Results returned after fusion. */
  n: number;
  /** RRF damping constant: a rank r contributes 1 / (rrfK + r). */
  rrfK: number;
  /** Weight of the vector list's contributions (the full-text list's is 1); the embedder's fusionWeight. */
  vectorWeight: number;
  /**
   * Fused results whose unweighted RRF score is below this are dropped (see DEFAULT_RETRIEVAL for
   * the scale): weights order the results, the threshold decides which qualify.
   */
  minScore: number;
}

export const DEFAULT_RETRIEVAL: RetrievalParams = {
  k: 20,
  n: 5,
  rrfK: 60,
  vectorWeight: 1,
  // RRF scores are rank-based: one retriever's rank r gives 1/(60 + r). This drops a chunk that
  // only one retriever found, and not within its first 10, while anything both found is kept.
  minScore: 1 / (60 + 10),
};

export interface SearchQuery {
  tenantId: string;
  embeddingModel: string;
  /** The question's embedding in stored form (unit length, zero-padded to 768). */
  vector: number[];
  text: string;
  /** Postgres text-search configuration the chunks' tsv was written with, e.g. 'english'. */
  ftsConfig: string;
}

export interface ScoredChunk {
  chunkId: string;
  documentId: string;
  documentTitle: string;
  index: number;
  pageNumber: number;
  text: string;
  /** Fused RRF score for hybrid results; the retriever's own score otherwise (similarity or text rank). */
  score: number;
  /** 1-based rank in each retriever's list, null when that retriever did not return the chunk. */
  vectorRank: number | null;
  textRank: number | null;
  /** Cosine similarity to the question, when the chunk has an embedding. */
  vectorSimilarity: number | null;
}

/** pgvector refuses hnsw.ef_search above this. */
const MAX_EF_SEARCH = 1000;
/** Postgres configuration names are plain identifiers; anything else is refused before SQL. */
const REGCONFIG_NAME = /^[a-z_][a-z0-9_]*$/;
/**
 * Full-text ranking is BM25 (Robertson–Spärck Jones idf, term-frequency saturation k1, length
 * normalisation b, the usual 1.2 / 0.75) over the tenant's chunks, with lengths in characters.
 * Postgres' own ts_rank has no idf: a question's common words weigh as much as its rare ones.
 * Document frequencies and the tenant's chunk count and length come from fulltext_lexemes and
 * fulltext_totals, kept exact by triggers on chunks. On the SciFact train split (809 questions,
 * 21,918 chunks, full-text only) BM25 scored nDCG@10 0.657 against 0.575 for ts_rank.
 */
const BM25_K1 = 1.2;
const BM25_B = 0.75;
/**
 * Candidates are the chunks holding one of the question's rarest words: words are taken from
 * the rarest up while the chunks holding them stay within this budget (always at least one
 * word), and every candidate is then scored with all of the question's words. A chunk holding
 * only common words cannot outrank one holding a rare word by much, and ranking every chunk
 * that matches any word meant ~5,000 chunks per question at 10k chunks per tenant (bench:chat).
 * On SciFact a budget of 1,000 gave the same nDCG@10 as no budget (0.654 vs 0.654) with 9× fewer
 * candidates (p95 924 vs 10,060).
 */
const CANDIDATE_BUDGET = 1000;
/**
 * Passage context: a chunk is a few sentences, and the words of a question are often spread over
 * neighbouring chunks. The best SHORTLIST chunks by BM25 are re-scored by adding the BM25 of their
 * passage — the chunk with up to PASSAGE_RADIUS chunks either side in its document, its words
 * counted together (so they saturate together) and its length compared with as many average
 * chunks. On SciFact this took full-text nDCG@10 from 0.657 to 0.679; a passage of the whole
 * document did no better, and summing the neighbours' own scores instead did worse (0.632).
 */
const SHORTLIST = 100;
const PASSAGE_RADIUS = 2;

interface Row {
  chunk_id: string;
  document_id: string;
  document_title: string;
  index: number;
  page_number: number;
  text: string;
  score: number;
  similarity: number | null;
}

const vectorLiteral = (vector: number[]) => `[${vector.join(',')}]`;

function toScored(rows: Row[], retriever: 'vector' | 'text'): ScoredChunk[] {
  return rows.map((row, i) => ({
    chunkId: row.chunk_id,
    documentId: row.document_id,
    documentTitle: row.document_title,
    index: row.index,
    pageNumber: row.page_number,
    text: row.text,
    score: row.score,
    vectorRank: retriever === 'vector' ? i + 1 : null,
    textRank: retriever === 'text' ? i + 1 : null,
    vectorSimilarity: row.similarity,
  }));
}

/**
 * On PostgreSQL the nearest-neighbour index holds each embedding's binary quantisation (the
 * sign of every dimension; migration chunks_binary_quantized_hnsw), which is several times
 * cheaper to maintain while ingesting than an index of full vectors. Its Hamming order is only
 * approximately the cosine order, so it supplies RERANK_FACTOR × k candidates and those are
 * re-ranked by exact cosine distance: recall@20 0.957 against an exact search on real
 * embeddings, as the full-vector index had (see the migration for the figures).
 */
const RERANK_FACTOR = 8;
const QUANTIZED_INDEX = 'chunks_embedding_bq_hnsw_idx';
/** Whether a database has the quantised index (the embedded PGlite has none and scans exactly); asked once per pool. */
const quantizedIndex = new WeakMap<pg.Pool, Promise<boolean>>();

function hasQuantizedIndex(pool: pg.Pool): Promise<boolean> {
  let known = quantizedIndex.get(pool);
  if (!known) {
    known = pool
      .query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [QUANTIZED_INDEX])
      .then(({ rows }) => rows[0]!.found);
    // A failed lookup is asked again next time rather than remembered.
    known.catch(() => quantizedIndex.delete(pool));
    quantizedIndex.set(pool, known);
  }
  return known;
}

/** The k chunks nearest to the question by cosine distance. */
export async function vectorSearch(pool: pg.Pool, q: SearchQuery, k: number): Promise<ScoredChunk[]> {
  if (k <= 0) return [];
  if (!(await hasQuantizedIndex(pool))) return nearestChunks(pool, q, k, false);
  const found = await nearestChunks(pool, q, k, true);
  // Fewer than k: either the tenant has fewer chunks, or the graph search ended before enough
  // of them passed the filter — a proximity graph over sign bits can leave elements unreachable
  // when many share their bits (the tests' hash embedder, whose sparse vectors are mostly zero
  // bits, shows it). Either way an exact scan of the tenant answers, and is cheap for a tenant
  // that small.
  return found.length < k ? nearestChunks(pool, q, k, false) : found;
}

/**
 * The k nearest chunks, through the quantised index (RERANK_FACTOR × k candidates by Hamming
 * distance, re-ranked by cosine) or exactly.
 */
async function nearestChunks(pool: pg.Pool, q: SearchQuery, k: number, quantized: boolean): Promise<ScoredChunk[]> {
  const candidates = quantized ? Math.min(MAX_EF_SEARCH, RERANK_FACTOR * k) : k;
  // HNSW applies the tenant/model filter after its graph search, which alone would return only
  // the matches among its first ef_search candidates (a small tenant often gets none);
  // iterative scanning keeps searching until enough rows pass the filter. ef_search must be at
  // least the candidates wanted, since one scan pass yields at most ef_search rows. LOCAL to the
  // transaction (set with the tenant, in the BEGIN message), so pooled connections are left as
  // they were.
  const hnsw = { 'hnsw.iterative_scan': 'relaxed_order', 'hnsw.ef_search': String(Math.min(MAX_EF_SEARCH, Math.max(40, candidates))) };
  // The candidates' order must be the index's expression exactly for the planner to use it.
  const candidateOrder = quantized
    ? `binary_quantize(c.embedding)::bit(${EMBEDDING_COLUMN_DIMENSIONS}) <~> binary_quantize($1::vector)`
    : 'c.embedding <=> $1::vector';
  return withTenant(pool, q.tenantId, async (client) => {
    // Candidates come in the index's (relaxed) order; the nearest k by exact distance are sorted
    // outside, the id breaking ties deterministically.
    const { rows } = await client.query<Row>(
      `WITH candidates AS MATERIALIZED (
         SELECT c.id, c.embedding <=> $1::vector AS distance
           FROM chunks c
          WHERE c.tenant_id = $2::uuid AND c.embedding_model = $3 AND c.embedding IS NOT NULL
          ORDER BY ${candidateOrder}
          LIMIT $5
       ), nearest AS MATERIALIZED (
         SELECT id, distance FROM candidates ORDER BY distance, id LIMIT $4)
       SELECT c.id AS chunk_id, c.document_id, d.title AS document_title, c."index", c.page_number, c.text,
              1 - n.distance AS score, 1 - n.distance AS similarity
         FROM nearest n
         JOIN chunks c ON c.id = n.id
         JOIN documents d ON d.id = c.document_id AND d.tenant_id = c.tenant_id
        ORDER BY n.distance, c.id`,
      [vectorLiteral(q.vector), q.tenantId, q.embeddingModel, k, candidates],
    );
    return toScored(rows, 'vector');
  }, hnsw);
}

interface QuestionWord {
  lexeme: string;
  /** Chunks of the tenant holding the word. */
  df: number;
  /** The tenant's searchable chunks and their mean length in characters. */
  n: number;
  avg_chars: number;
}

/** A lexeme in tsquery input syntax: quoted, so it is taken as is (not parsed or stemmed again). */
const tsqueryLexeme = (lexeme: string) => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * The question's words that occur in the tenant with their BM25 idf, and the OR query of the
 * rarest of them that selects the candidates (CANDIDATE_BUDGET).
 */
export function planTextQuery(words: readonly QuestionWord[], budget = CANDIDATE_BUDGET) {
  const byRarity = [...words].sort((a, b) => a.df - b.df || (a.lexeme < b.lexeme ? -1 : 1));
  const probe: string[] = [];
  let covered = 0;
  for (const word of byRarity) {
    if (probe.length > 0 && covered + word.df > budget) break;
    probe.push(word.lexeme);
    covered += word.df;
  }
  return {
    lexemes: byRarity.map((word) => word.lexeme),
    idfs: byRarity.map((word) => Math.log(1 + (word.n - word.df + 0.5) / (word.df + 0.5))),
    probe: probe.map(tsqueryLexeme).join(' | '),
    avgChars: byRarity[0]?.avg_chars ?? 1,
  };
}

/** The k chunks ranked best by BM25 with passage context for the question's words (see BM25_K1, CANDIDATE_BUDGET, SHORTLIST). */
export async function textSearch(pool: pg.Pool, q: SearchQuery, k: number): Promise<ScoredChunk[]> {
  if (!REGCONFIG_NAME.test(q.ftsConfig)) throw new RangeError(`not a text-search configuration name: ${q.ftsConfig}`);
  if (k <= 0 || !q.text.trim()) return [];
  const rows = await withTenant(pool, q.tenantId, async (client) => {
    // The question goes through to_tsvector with the tenant's configuration, so its words are
    // stemmed and stop-word filtered exactly as the chunks' were; words no chunk holds drop out
    // at the join.
    const { rows: words } = await client.query<QuestionWord>(
      `SELECT w.lexeme, f.chunks AS df, t.chunks::float8 AS n, t.chars::float8 / greatest(t.chunks, 1) AS avg_chars
         FROM unnest(tsvector_to_array(to_tsvector($1::regconfig, $2))) AS w(lexeme)
         JOIN fulltext_lexemes f ON f.tenant_id = $3::uuid AND f.lexeme = w.lexeme
         JOIN fulltext_totals t ON t.tenant_id = $3::uuid`,
      [q.ftsConfig, q.text, q.tenantId],
    );
    if (words.length === 0) return [];
    const plan = planTextQuery(words);
    // The candidate query travels as a value, not computed in the statement: the planner then
    // estimates how many chunks it matches and searches the (tenant, tsv) GIN index with it (as a
    // subquery it assumed the worst and scanned the tenant). Scores need each word's count in a
    // chunk: setweight marks the question's words in the chunk's tsv and ts_filter keeps only
    // those, so a handful of lexemes per chunk are unnested rather than all of them. Ranked on
    // ids first; only the k winners are read in full, with title and similarity to the question.
    const { rows: ranked } = await client.query<Row>(
      `WITH words AS (
         SELECT * FROM unnest($4::text[], $5::float8[]) AS w(lexeme, idf)
       ), shortlist AS MATERIALIZED (
         SELECT c.id, c.document_id, c."index",
                sum(w.idf * cardinality(x.positions) * ($7::float8 + 1)
                    / (cardinality(x.positions) + $7::float8 * (1 - $8::float8 + $8::float8 * length(c.text) / $9::float8))) AS score
           FROM chunks c
          CROSS JOIN LATERAL unnest(ts_filter(setweight(c.tsv, 'A', $4::text[]), '{a}')) AS x
           JOIN words w ON w.lexeme = x.lexeme
          WHERE c.tenant_id = $1::uuid AND c.embedding_model = $2 AND c.tsv @@ $3::tsquery
          GROUP BY c.id
          ORDER BY score DESC, c.id
          LIMIT $10
       ), neighbours AS MATERIALIZED (
         -- Per shortlisted chunk, itself and its neighbours through the (document, index) key.
         SELECT s.id, n.chars, n.hits
           FROM shortlist s
          CROSS JOIN LATERAL (
                 SELECT length(n.text) AS chars, ts_filter(setweight(n.tsv, 'A', $4::text[]), '{a}') AS hits
                   FROM chunks n
                  WHERE n.document_id = s.document_id AND n."index" BETWEEN s."index" - $11 AND s."index" + $11
                    AND n.tenant_id = $1::uuid AND n.embedding_model = $2 AND n.tsv IS NOT NULL) AS n
       ), passage AS (
         SELECT id, sum(chars)::float8 AS chars, count(*) AS chunks FROM neighbours GROUP BY id
       ), passage_words AS (
         SELECT nb.id, x.lexeme, sum(cardinality(x.positions)) AS tf
           FROM neighbours nb CROSS JOIN LATERAL unnest(nb.hits) AS x
          GROUP BY 1, 2
       ), context AS (
         SELECT pw.id,
                sum(w.idf * pw.tf * ($7::float8 + 1)
                    / (pw.tf + $7::float8 * (1 - $8::float8 + $8::float8 * p.chars / ($9::float8 * p.chunks)))) AS score
           FROM passage_words pw
           JOIN words w ON w.lexeme = pw.lexeme
           JOIN passage p ON p.id = pw.id
          GROUP BY pw.id
       ), ranked AS MATERIALIZED (
         SELECT s.id, s.score + coalesce(cx.score, 0) AS score
           FROM shortlist s LEFT JOIN context cx ON cx.id = s.id
          ORDER BY score DESC, s.id
          LIMIT $6)
       SELECT c.id AS chunk_id, c.document_id, d.title AS document_title, c."index", c.page_number, c.text,
              r.score, 1 - (c.embedding <=> $12::vector) AS similarity
         FROM ranked r
         JOIN chunks c ON c.id = r.id
         JOIN documents d ON d.id = c.document_id AND d.tenant_id = c.tenant_id
        ORDER BY r.score DESC, c.id`,
      [
        q.tenantId, q.embeddingModel, plan.probe, plan.lexemes, plan.idfs, k, BM25_K1, BM25_B, plan.avgChars,
        Math.max(SHORTLIST, k), PASSAGE_RADIUS, vectorLiteral(q.vector),
      ],
    );
    return ranked;
  });
  return toScored(rows, 'text');
}

/**
 * Weighted reciprocal-rank fusion of two ranked lists of the same tenant and model: each chunk
 * scores Σ weight/(rrfK + rank) over the lists that contain it (text weight 1, vector weight
 * params.vectorWeight). Results whose unweighted Σ 1/(rrfK + rank) is under minScore are
 * dropped; ties go to the better single rank, then to the chunk id, so equal inputs give equal
 * outputs.
 */
export function fuse(vectorHits: ScoredChunk[], textHits: ScoredChunk[], params: RetrievalParams): ScoredChunk[] {
  const fused = new Map<string, ScoredChunk>();
  const unweighted = new Map<string, number>();
  const rrf = (rank: number) => 1 / (params.rrfK + rank);
  for (const hit of vectorHits.slice(0, params.k)) {
    fused.set(hit.chunkId, { ...hit, score: params.vectorWeight * rrf(hit.vectorRank!), textRank: null });
    unweighted.set(hit.chunkId, rrf(hit.vectorRank!));
  }
  for (const hit of textHits.slice(0, params.k)) {
    const seen = fused.get(hit.chunkId);
    if (seen) {
      seen.score += rrf(hit.textRank!);
      seen.textRank = hit.textRank;
    } else {
      fused.set(hit.chunkId, { ...hit, score: rrf(hit.textRank!), vectorRank: null });
    }
    unweighted.set(hit.chunkId, (unweighted.get(hit.chunkId) ?? 0) + rrf(hit.textRank!));
  }
  const bestRank = (c: ScoredChunk) => Math.min(c.vectorRank ?? Infinity, c.textRank ?? Infinity);
  return [...fused.values()]
    .filter((c) => unweighted.get(c.chunkId)! >= params.minScore)
    .sort((a, b) => b.score - a.score || bestRank(a) - bestRank(b) || (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0))
    .slice(0, params.n);
}

/** Vector and full-text candidates, fused; the n best that pass the threshold. */
export async function hybridSearch(pool: pg.Pool, q: SearchQuery, params: Partial<RetrievalParams> = {}): Promise<ScoredChunk[]> {
  // An explicitly undefined field keeps its default (spreading it would erase the default).
  const given = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
  const p: RetrievalParams = { ...DEFAULT_RETRIEVAL, ...given };
  const [vectorHits, textHits] = await Promise.all([vectorSearch(pool, q, p.k), textSearch(pool, q, p.k)]);
  return fuse(vectorHits, textHits, p);
}

/** A question to search for in a tenant, with the embedder of the tenant's chunks. */
export interface QuestionSearch {
  tenantId: string;
  text: string;
  /** The tenant's full-text configuration. */
  ftsConfig: string;
  embedder: Embedder;
}

/**
 * The question embedded as a query with the tenant's embedder, then hybrid search, the vector
 * list weighted by the embedder's fusionWeight: what an answer's sources and `search` both use.
 */
export async function searchQuestion(pool: pg.Pool, question: QuestionSearch, params: Partial<RetrievalParams> = {}): Promise<ScoredChunk[]> {
  const { embedder } = question;
  const [vector] = await embedder.embed([question.text], { task: 'query' });
  return hybridSearch(
    pool,
    {
      tenantId: question.tenantId,
      embeddingModel: embedder.model,
      vector: toStoredVector(vector!),
      text: question.text,
      ftsConfig: question.ftsConfig,
    },
    { ...params, vectorWeight: embedder.fusionWeight ?? 1 },
  );
}
