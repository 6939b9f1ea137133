// The ingestion of one document, run by the `ingest_document` job:
// PROCESSING → extract pages → clean → chunk → embed in batches → replace the document's
// chunks in one transaction → READY (or FAILED with a stable reason).
//
// Idempotent: everything it writes replaces what a previous (crashed) attempt may have
// written, in a single transaction, so a retry never leaves duplicate chunks.
//
// Where the time goes (bench:ingest: 2 long PDFs, ~2,600 chunks, real PostgreSQL): pdf.js on
// our CPU, and on the database server's about as much for the write (vectors, full text, the
// HNSW and GIN entries, the word counts). So the stages stream: pages come a few at a time,
// and once the rest of the document should take at most EMBED_IN_TRANSACTION_MS, the
// transaction opens and writes each batch while the next one is extracted, chunked and
// embedded. Each document's log line carries the time of every stage.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type pg from 'pg';
import type { Database, PrismaClient, TenantPrismaClient } from '../db/index.ts';
import type { Document } from '../db/generated/client.ts';
import { vectorParam } from '../db/vector-param.ts';
import { forTenant, type TenantDb } from '../db/tenant-scope.ts';
import { withTenant } from '../db/tenant-session.ts';
import type { Logger } from '../logger.ts';
import type { Embedder } from '../providers/embedder.ts';
import { EmbedderError, toStoredVector } from '../providers/embedder.ts';
import { ModelUnavailableError, type ModelRegistry } from '../providers/registry.ts';
import type { DocumentStatusValue, PubSub } from '../pubsub.ts';
import type { DocumentStorage } from '../storage/index.ts';
import { chunkPages, type Chunk } from './chunk.ts';
import { cleanText } from './clean.ts';
import type { ContentType } from './detect.ts';
import { IngestError } from './errors.ts';
import { extractPieces, type PagePiece } from './extract.ts';

export interface IngestDeps {
  /** Cross-tenant: only to learn which tenant a job's document belongs to. */
  prisma: PrismaClient;
  tenantPrisma: TenantPrismaClient;
  /** The shared pool: the chunks are written in SQL of our own (see replaceChunks). */
  pool: pg.Pool;
  pubsub: PubSub;
  storage: DocumentStorage;
  /** Embedders by model name: each document is embedded with its tenant's model. */
  embedders: ModelRegistry<Embedder>;
  logger: Logger;
  /** Postgres text-search configuration of tenants that chose none (FTS_CONFIG). */
  ftsConfig: string;
}

/** The database handles of IngestDeps, all from one Database. */
export function databaseDeps(db: Database): Pick<IngestDeps, 'prisma' | 'tenantPrisma' | 'pool'> {
  return { prisma: db.prisma, tenantPrisma: db.tenantPrisma, pool: db.pool };
}

export interface Attempt {
  attempts: number;
  maxAttempts: number;
}

/** Rows per INSERT statement when writing chunks. */
const INSERT_BATCH = 250;

/**
 * Extraction and embedding continue inside the replacing transaction once the rest of them is
 * expected to take at most this long: the chunks embedded so far are written (on the database
 * server's CPU) while the last batches are produced (on ours).
 * The bound keeps a slow model or API from holding the transaction, with the document's row
 * lock and a connection — on the embedded PGlite its only session — open much longer than
 * the write itself takes.
 */
const EMBED_IN_TRANSACTION_MS = 2_000;

/**
 * The longest the replacing transaction may sit idle, waiting for production (a hung model):
 * the server then ends the session, and the job retries.
 */
const TRANSACTION_IDLE_TIMEOUT = '120s';

/** Milliseconds spent in each stage of one ingestion, logged with the document. */
export interface StageTimings {
  extractMs: number;
  /** clean + chunk */
  chunkMs: number;
  /** Time in embedding calls, including those that overlap the write. */
  embedMs: number;
  /** The replacing transaction, from BEGIN to COMMIT. */
  writeMs: number;
}

export async function ingestDocument(deps: IngestDeps, documentId: string, attempt: Attempt): Promise<void> {
  const { logger } = deps;
  // The job names only the document: its tenant is looked up across tenants, everything
  // after that runs inside that tenant.
  const owner = await deps.prisma.document.findUnique({ where: { id: documentId }, select: { tenantId: true } });
  const db = owner && forTenant(deps.tenantPrisma, owner.tenantId);
  const found = db && (await db.document.findUnique({ where: { id: documentId } }));
  if (!db || !found) {
    logger.info({ documentId }, 'document is gone; nothing to ingest');
    return;
  }
  const log = logger.child({ documentId, tenantId: found.tenantId, attempt: attempt.attempts });
  const started = Date.now();

  const publish = (status: DocumentStatusValue, progress: number | null = null, errorCode: string | null = null) =>
    deps.pubsub.publish('documentStatus', found.tenantId, {
      documentId,
      status,
      progress,
      errorCode,
      at: new Date().toISOString(),
    });

  const tenant = await db.tenant.findUnique({ where: { id: found.tenantId } });
  if (!tenant) return; // the tenant is being deleted
  const modelName = tenant.embeddingModel ?? deps.embedders.defaultModel;
  let embedder: Embedder;
  try {
    embedder = deps.embedders.get(modelName);
  } catch (error) {
    if (!(error instanceof ModelUnavailableError)) throw error;
    // A configuration problem (e.g. a Gemini model and no GEMINI_API_KEY any more): retrying
    // cannot help until an operator or the tenant's ADMIN changes it, then reindexes.
    await setStatus(db, documentId, { status: 'FAILED', errorCode: 'EMBEDDING_MODEL_UNAVAILABLE', errorMessage: error.message });
    publish('FAILED', null, 'EMBEDDING_MODEL_UNAVAILABLE');
    log.error({ err: error }, 'the tenant’s embedding model is not available');
    return;
  }

  if (!(await setStatus(db, documentId, { status: 'PROCESSING', errorCode: null, errorMessage: null }))) return;
  publish('PROCESSING', 0);

  try {
    const bytes = await deps.storage.get(db, { tenantId: found.tenantId, documentId });
    if (!bytes) return; // deleted meanwhile
    // Pages are extracted, chunked and embedded a batch at a time; the replacing transaction
    // opens once what is left should take at most EMBED_IN_TRANSACTION_MS, and the rest is
    // produced while the first batches are written (on the database server's CPU).
    const stream = new EmbeddedChunkStream(extractPieces(bytes, found.contentType as ContentType), embedder, (progress) =>
      publish('PROCESSING', progress),
    );
    const embedded: EmbeddedBatch[] = [];
    for (;;) {
      const batch = await stream.next();
      if (!batch) break;
      embedded.push(batch);
      if (stream.estimatedRemainingMs() <= EMBED_IN_TRANSACTION_MS) break;
    }
    if (stream.finished && stream.chunkCount === 0) throw new IngestError('NO_TEXT');
    const writeStart = performance.now();
    const written = await replaceChunks(found, embedded, stream, deps);
    if (written === 'gone') return;
    if (written === 'superseded') {
      log.info({ embeddingModel: embedder.model }, 'the tenant changed its embedding model meanwhile; the newer job re-embeds');
      return;
    }
    const stages: StageTimings = { ...stream.timings(), writeMs: Math.round(performance.now() - writeStart) };
    const { pageCount, chunkCount } = stream;
    publish('READY');
    log.info({ pageCount, chunkCount, ms: Date.now() - started, stages }, 'document ingested');
  } catch (error) {
    if (error instanceof IngestError && error.permanent) {
      await setStatus(db, documentId, { status: 'FAILED', errorCode: error.code, errorMessage: error.message });
      publish('FAILED', null, error.code);
      log.warn({ errorCode: error.code }, `document rejected: ${error.message}`);
      return; // permanent: no retry
    }
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof EmbedderError && !error.retryable) {
      // The provider refused the request itself (bad key, bad model): retrying cannot help.
      await setStatus(db, documentId, { status: 'FAILED', errorCode: 'EMBEDDING_REJECTED', errorMessage: message });
      publish('FAILED', null, 'EMBEDDING_REJECTED');
      log.error({ err: error }, 'embedding provider refused the request');
      return;
    }
    const lastAttempt = attempt.attempts >= attempt.maxAttempts;
    if (lastAttempt) {
      await setStatus(db, documentId, {
        status: 'FAILED',
        errorCode: 'INGESTION_FAILED',
        errorMessage: `Gave up after ${attempt.attempts} attempts: ${message}`,
      });
      publish('FAILED', null, 'INGESTION_FAILED');
    } else {
      // Back in the queue until graphile-worker's backoff runs the next attempt.
      await setStatus(db, documentId, { status: 'QUEUED', errorCode: null, errorMessage: `Retrying: ${message}` });
      publish('QUEUED');
    }
    log.error({ err: error, lastAttempt }, 'ingestion attempt failed');
    throw error;
  }
}

/** Updates the status if the document still exists; false when it was deleted. */
async function setStatus(
  db: TenantDb,
  documentId: string,
  data: { status: DocumentStatusValue; errorCode: string | null; errorMessage: string | null },
): Promise<boolean> {
  const { count } = await db.document.updateMany({ where: { id: documentId }, data });
  return count === 1;
}

interface EmbeddedBatch {
  chunks: Chunk[];
  vectors: number[][];
}

/**
 * A document's chunks, embedded, one provider batch at a time and in order: pages are pulled
 * from extraction only as far as the next batch needs, cleaned and chunked, then embedded.
 * Keeps the time of each stage, for the pace estimate and the log.
 */
class EmbeddedChunkStream {
  private readonly pieces: AsyncIterator<PagePiece>;
  private readonly embedder: Embedder;
  private readonly onProgress: (progress: number) => void;
  /** Chunked, not yet embedded. */
  private pending: Chunk[] = [];
  private extracted = false;
  private pagesDone = 0;
  private chunked = 0;
  private embeddedCount = 0;
  pageCount = 0;
  private extractMs = 0;
  private chunkMs = 0;
  private embedMs = 0;

  constructor(pieces: AsyncIterator<PagePiece>, embedder: Embedder, onProgress: (progress: number) => void) {
    this.pieces = pieces;
    this.embedder = embedder;
    this.onProgress = onProgress;
  }

  get model(): string {
    return this.embedder.model;
  }

  /** Chunks produced (all of them once `finished`). */
  get chunkCount(): number {
    return this.chunked;
  }

  get finished(): boolean {
    return this.extracted && this.pending.length === 0;
  }

  /** Share of the work done: pages read, and of their chunks the share embedded. */
  private doneShare(): number {
    if (this.pageCount === 0) return 0;
    return (this.pagesDone / this.pageCount) * (this.chunked === 0 ? 1 : this.embeddedCount / this.chunked);
  }

  /** The time the rest should take at the pace so far. */
  estimatedRemainingMs(): number {
    if (this.finished) return 0;
    const share = this.doneShare();
    const spent = this.extractMs + this.chunkMs + this.embedMs;
    return share === 0 ? Infinity : (spent * (1 - share)) / share;
  }

  timings(): Omit<StageTimings, 'writeMs'> {
    return { extractMs: Math.round(this.extractMs), chunkMs: Math.round(this.chunkMs), embedMs: Math.round(this.embedMs) };
  }

  /** The next embedded batch, or null when there is none. Call again only once the previous call has settled. */
  async next(): Promise<EmbeddedBatch | null> {
    // Lets a query issued just before (the previous batch's INSERT) reach the database first:
    // extraction and a local model compute on this thread, so the server works meanwhile.
    await yieldToEventLoop();
    while (this.pending.length < this.embedder.maxBatchSize && !this.extracted) {
      const started = performance.now();
      const piece = await this.pieces.next();
      const extractedAt = performance.now();
      this.extractMs += extractedAt - started;
      if (piece.done) {
        this.extracted = true;
        break;
      }
      this.pageCount = piece.value.pageCount;
      this.pagesDone += piece.value.pages.length;
      const chunks = chunkPages(piece.value.pages.map((page) => ({ pageNumber: page.pageNumber, text: cleanText(page.text) })));
      // Chunk indexes count across the whole document.
      for (const chunk of chunks) this.pending.push({ ...chunk, index: this.chunked++ });
      this.chunkMs += performance.now() - extractedAt;
    }
    if (this.pending.length === 0) return null;
    const chunks = this.pending.splice(0, this.embedder.maxBatchSize);
    const started = performance.now();
    const embedded = await this.embedder.embed(chunks.map((chunk) => chunk.text), { task: 'document' });
    this.embedMs += performance.now() - started;
    this.embeddedCount += chunks.length;
    this.onProgress(Math.min(1, this.doneShare()));
    return { chunks, vectors: embedded.map(toStoredVector) };
  }
}

/**
 * Replaces all chunks of the document and marks it READY, atomically, embedding the batches
 * not embedded yet while it writes. Writes nothing and returns 'gone' if the document was
 * deleted meanwhile, 'superseded' if the tenant's embedding model changed meanwhile (the
 * settings change queued a newer job for this document).
 *
 * Plain SQL on a pooled connection (inside the tenant, as every tenant query), not the Prisma
 * client: a raw Prisma query serialises each parameter to JSON (a vector's bytes as base64)
 * and decodes it again before handing it to the driver. For a document of 2,600 chunks that
 * is 15,600 parameters and 8 MB of base64 — 0.2 s of our CPU, profiled, in a stage that
 * competes with extraction for it.
 */
async function replaceChunks(
  document: Document,
  embedded: EmbeddedBatch[],
  embedding: EmbeddedChunkStream,
  deps: IngestDeps,
): Promise<'written' | 'gone' | 'superseded'> {
  const settings = { idle_in_transaction_session_timeout: TRANSACTION_IDLE_TIMEOUT };
  return withTenant(
    deps.pool,
    document.tenantId,
    async (client) => {
      // The tenant's model and full-text language, read under KEY SHARE: a settings change
      // (FOR UPDATE) waits for this transaction, or this read waits for it and sees its values.
      const { rows: tenants } = await client.query<{ embedding_model: string | null; fts_config: string | null }>(
        'SELECT embedding_model, fts_config FROM tenants WHERE id = $1 FOR KEY SHARE',
        [document.tenantId],
      );
      const tenant = tenants[0];
      if (!tenant) return 'gone';
      if ((tenant.embedding_model ?? deps.embedders.defaultModel) !== embedding.model) return 'superseded';
      const ftsConfig = tenant.fts_config ?? deps.ftsConfig;
      const locked = await client.query('SELECT id FROM documents WHERE id = $1 FOR UPDATE', [document.id]);
      if (locked.rowCount === 0) return 'gone';
      await client.query('DELETE FROM chunks WHERE document_id = $1', [document.id]);

      // The batches embedded so far first; each write overlaps the production (extraction,
      // chunking, embedding) of the next batch. If either fails, the transaction rolls back;
      // Promise.all also absorbs a failure of the other one that comes later, so nothing is
      // left unhandled. NO_TEXT can only be known at the end: it rolls everything back too.
      let batch: EmbeddedBatch | null = mergeBatches(embedded);
      while (batch) {
        [, batch] = await Promise.all([
          insertChunks(client, document, batch, embedding.model, ftsConfig),
          embedding.finished ? null : embedding.next(),
        ]);
      }
      if (embedding.chunkCount === 0) throw new IngestError('NO_TEXT');

      const now = new Date();
      await client.query(
        `UPDATE documents
            SET status = 'READY', error_code = NULL, error_message = NULL, page_count = $2, chunk_count = $3,
                embedding_model = $4, processed_at = $5, updated_at = $5
          WHERE id = $1`,
        [document.id, embedding.pageCount, embedding.chunkCount, embedding.model, now],
      );
      return 'written' as const;
    },
    settings,
  );
}

function mergeBatches(batches: EmbeddedBatch[]): EmbeddedBatch {
  return { chunks: batches.flatMap((batch) => batch.chunks), vectors: batches.flatMap((batch) => batch.vectors) };
}

// One statement per INSERT_BATCH rows; each vector is a binary parameter (src/db/vector-param.ts).
async function insertChunks(
  client: pg.PoolClient,
  document: Document,
  { chunks, vectors }: EmbeddedBatch,
  embeddingModel: string,
  ftsConfig: string,
) {
  for (let start = 0; start < chunks.length; start += INSERT_BATCH) {
    const values: unknown[] = [document.tenantId, document.id, embeddingModel, ftsConfig];
    const rows = chunks.slice(start, start + INSERT_BATCH).map((c, i) => {
      const n = values.push(c.index, c.pageNumber, c.charStart, c.charEnd, c.text, vectorParam(vectors[start + i]!));
      return `($${n - 5}::int, $${n - 4}::int, $${n - 3}::int, $${n - 2}::int, $${n - 1}::text, $${n}::vector)`;
    });
    await client.query(
      `INSERT INTO chunks (tenant_id, document_id, index, page_number, char_start, char_end, text,
                           embedding, embedding_model, tsv)
       SELECT $1::uuid, $2::uuid, c.idx, c.page, c.cs, c.ce, c.txt, c.emb, $3, to_tsvector($4::regconfig, c.txt)
         FROM (VALUES ${rows.join(', ')}) AS c(idx, page, cs, ce, txt, emb)`,
      values,
    );
  }
}
