// The ingestion of one document, run by the `ingest_document` job:
// PROCESSING → extract pages → clean → chunk → embed in batches → replace the document's
// chunks in one transaction → READY (or FAILED with a stable reason).
//
// Idempotent: everything it writes replaces what a previous (crashed) attempt may have
// written, in a single transaction, so a retry never leaves duplicate chunks.
//
// Where the time goes (bench:ingest: 2 long PDFs, 2,607 chunks, real PostgreSQL): the write is
// dominated by maintaining the HNSW index, about 1.2 ms of server CPU per chunk, twice what
// pdf.js needs to extract those pages. The write therefore runs while the last batches are
// still being embedded (see EMBED_IN_TRANSACTION_MS), and each document's log line carries the
// time of every stage.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { PrismaClient, TenantPrismaClient } from '../db/index.ts';
import type { Document } from '../db/generated/client.ts';
import { forTenant, type TenantDb } from '../db/tenant-scope.ts';
import type { Logger } from '../logger.ts';
import type { Embedder } from '../providers/embedder.ts';
import { EmbedderError, toStoredVector } from '../providers/embedder.ts';
import type { DocumentStatusValue, PubSub } from '../pubsub.ts';
import type { DocumentStorage, TenantTx } from '../storage/index.ts';
import { chunkPages, type Chunk } from './chunk.ts';
import { cleanText } from './clean.ts';
import type { ContentType } from './detect.ts';
import { IngestError } from './errors.ts';
import { extractPages } from './extract.ts';

export interface IngestDeps {
  /** Cross-tenant: only to learn which tenant a job's document belongs to. */
  prisma: PrismaClient;
  tenantPrisma: TenantPrismaClient;
  pubsub: PubSub;
  storage: DocumentStorage;
  embedder: Embedder;
  logger: Logger;
  /** Postgres text-search configuration for the chunks' full-text vectors. */
  ftsConfig: string;
}

export interface Attempt {
  attempts: number;
  maxAttempts: number;
}

/** Rows per INSERT statement when writing chunks. */
const INSERT_BATCH = 250;

/**
 * Embedding continues inside the replacing transaction once the rest of it is expected to take
 * at most this long: the chunks embedded so far are written (mostly HNSW maintenance, on the
 * database server's CPU) while the last batches are embedded (on ours). The bound keeps a slow
 * model or API from holding the transaction, with the document's row lock and a connection —
 * on the embedded PGlite its only session — open much longer than the write itself takes.
 */
const EMBED_IN_TRANSACTION_MS = 2_000;

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

  if (!(await setStatus(db, documentId, { status: 'PROCESSING', errorCode: null, errorMessage: null }))) return;
  publish('PROCESSING', 0);

  try {
    const bytes = await deps.storage.get(db, { tenantId: found.tenantId, documentId });
    if (!bytes) return; // deleted meanwhile
    const extractStart = performance.now();
    const { pages, pageCount } = await extractPages(bytes, found.contentType as ContentType);
    const chunkStart = performance.now();
    const chunks = chunkPages(pages.map((page) => ({ pageNumber: page.pageNumber, text: cleanText(page.text) })));
    if (chunks.length === 0) throw new IngestError('NO_TEXT');
    const chunkEnd = performance.now();

    const embedding = new ChunkEmbedder(deps.embedder, chunks, (done) => publish('PROCESSING', done / chunks.length));
    const embedded: EmbeddedBatch[] = [];
    do embedded.push(await embedding.next());
    while (!embedding.finished && embedding.estimatedRemainingMs() > EMBED_IN_TRANSACTION_MS);
    const writeStart = performance.now();
    const written = await replaceChunks(db, found, embedded, embedding, pageCount, deps);
    if (!written) return;
    const stages: StageTimings = {
      extractMs: Math.round(chunkStart - extractStart),
      chunkMs: Math.round(chunkEnd - chunkStart),
      embedMs: Math.round(embedding.elapsedMs),
      writeMs: Math.round(performance.now() - writeStart),
    };
    publish('READY');
    log.info({ pageCount, chunkCount: chunks.length, ms: Date.now() - started, stages }, 'document ingested');
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

/** Embeds a document's chunks one provider batch at a time, in order, and keeps the pace. */
class ChunkEmbedder {
  private readonly embedder: Embedder;
  private readonly chunks: Chunk[];
  private readonly onProgress: (done: number) => void;
  private done = 0;
  /** Time spent in embedding calls so far. */
  elapsedMs = 0;

  constructor(embedder: Embedder, chunks: Chunk[], onProgress: (done: number) => void) {
    this.embedder = embedder;
    this.chunks = chunks;
    this.onProgress = onProgress;
  }

  get chunkCount(): number {
    return this.chunks.length;
  }

  get finished(): boolean {
    return this.done === this.chunks.length;
  }

  /** The time the remaining chunks should take at the pace so far. */
  estimatedRemainingMs(): number {
    return this.done === 0 ? Infinity : (this.elapsedMs / this.done) * (this.chunks.length - this.done);
  }

  /** Embeds the next batch. Call it again only once the previous call has settled. */
  async next(): Promise<EmbeddedBatch> {
    // A provider that computes on this thread (the local model) would otherwise hold back a
    // query issued just before, which then could not run on the server meanwhile.
    await yieldToEventLoop();
    const started = performance.now();
    const chunks = this.chunks.slice(this.done, this.done + this.embedder.maxBatchSize);
    const embedded = await this.embedder.embed(chunks.map((chunk) => chunk.text), { task: 'document' });
    this.elapsedMs += performance.now() - started;
    this.done += chunks.length;
    this.onProgress(this.done);
    return { chunks, vectors: embedded.map(toStoredVector) };
  }
}

/**
 * Replaces all chunks of the document and marks it READY, atomically, embedding the batches
 * not embedded yet while it writes. Returns false if the document was deleted while it was
 * being processed (then nothing is written).
 */
async function replaceChunks(
  db: TenantDb,
  document: Document,
  embedded: EmbeddedBatch[],
  embedding: ChunkEmbedder,
  pageCount: number,
  deps: IngestDeps,
): Promise<boolean> {
  return db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM documents WHERE id = ${document.id}::uuid FOR UPDATE`;
      if (locked.length === 0) return false;
      await tx.chunk.deleteMany({ where: { documentId: document.id } });

      // The batches embedded so far first; each write overlaps the embedding of the next batch.
      // If either fails, the transaction rolls back; Promise.all also absorbs a failure of the
      // other one that comes later, so nothing is left unhandled.
      let batch: EmbeddedBatch | undefined = mergeBatches(embedded);
      while (batch) {
        [, batch] = await Promise.all([
          insertChunks(tx, document, batch, deps),
          embedding.finished ? undefined : embedding.next(),
        ]);
      }

      await tx.document.update({
        where: { id: document.id },
        data: {
          status: 'READY',
          errorCode: null,
          errorMessage: null,
          pageCount,
          chunkCount: embedding.chunkCount,
          embeddingModel: deps.embedder.model,
          processedAt: new Date(),
        },
      });
      return true;
    },
    { timeout: 120_000 },
  );
}

function mergeBatches(batches: EmbeddedBatch[]): EmbeddedBatch {
  return { chunks: batches.flatMap((batch) => batch.chunks), vectors: batches.flatMap((batch) => batch.vectors) };
}

// Vectors travel as text literals: binary float4[] parameters measured no faster, parsing them
// is a few per cent of the write.
async function insertChunks(tx: TenantTx, document: Document, { chunks, vectors }: EmbeddedBatch, deps: IngestDeps) {
  for (let start = 0; start < chunks.length; start += INSERT_BATCH) {
    const batch = chunks.slice(start, start + INSERT_BATCH);
    const batchVectors = vectors.slice(start, start + INSERT_BATCH);
    await tx.$executeRaw`
      INSERT INTO chunks (tenant_id, document_id, index, page_number, char_start, char_end, text,
                          embedding, embedding_model, tsv)
      SELECT ${document.tenantId}::uuid, ${document.id}::uuid, c.idx, c.page, c.cs, c.ce, c.txt,
             c.emb::vector, ${deps.embedder.model}, to_tsvector(${deps.ftsConfig}::regconfig, c.txt)
        FROM unnest(${batch.map((c) => c.index)}::int[], ${batch.map((c) => c.pageNumber)}::int[],
                    ${batch.map((c) => c.charStart)}::int[], ${batch.map((c) => c.charEnd)}::int[],
                    ${batch.map((c) => c.text)}::text[], ${batchVectors.map((v) => `[${v.join(',')}]`)}::text[])
             AS c(idx, page, cs, ce, txt, emb)`;
  }
}
