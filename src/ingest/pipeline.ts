// The ingestion of one document, run by the `ingest_document` job:
// PROCESSING → extract pages → clean → chunk → embed in batches → replace the document's
// chunks in one transaction → READY (or FAILED with a stable reason).
//
// Idempotent: everything it writes replaces what a previous (crashed) attempt may have
// written, in a single transaction, so a retry never leaves duplicate chunks.
import type { PrismaClient } from '../db/index.ts';
import type { Document } from '../db/generated/client.ts';
import { forTenant, type TenantDb } from '../db/tenant-scope.ts';
import type { Logger } from '../logger.ts';
import type { Embedder } from '../providers/embedder.ts';
import { EmbedderError, toStoredVector } from '../providers/embedder.ts';
import type { DocumentStatusValue, PubSub } from '../pubsub.ts';
import type { DocumentStorage } from '../storage/index.ts';
import { chunkPages, type Chunk } from './chunk.ts';
import { cleanText } from './clean.ts';
import type { ContentType } from './detect.ts';
import { IngestError } from './errors.ts';
import { extractPages } from './extract.ts';

export interface IngestDeps {
  prisma: PrismaClient;
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

export async function ingestDocument(deps: IngestDeps, documentId: string, attempt: Attempt): Promise<void> {
  const { prisma, logger } = deps;
  const found = await prisma.document.findUnique({ where: { id: documentId } });
  if (!found) {
    logger.info({ documentId }, 'document is gone; nothing to ingest');
    return;
  }
  const db = forTenant(prisma, found.tenantId);
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
    const { pages, pageCount } = await extractPages(bytes, found.contentType as ContentType);
    const chunks = chunkPages(pages.map((page) => ({ pageNumber: page.pageNumber, text: cleanText(page.text) })));
    if (chunks.length === 0) throw new IngestError('NO_TEXT');

    const vectors = await embedAll(deps.embedder, chunks, (done) => publish('PROCESSING', done / chunks.length));
    const written = await replaceChunks(db, found, chunks, vectors, pageCount, deps);
    if (!written) return;
    publish('READY');
    log.info({ pageCount, chunkCount: chunks.length, ms: Date.now() - started }, 'document ingested');
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

async function embedAll(embedder: Embedder, chunks: Chunk[], onProgress: (done: number) => void): Promise<number[][]> {
  const vectors: number[][] = [];
  for (let start = 0; start < chunks.length; start += embedder.maxBatchSize) {
    const batch = chunks.slice(start, start + embedder.maxBatchSize).map((chunk) => chunk.text);
    const embedded = await embedder.embed(batch, { task: 'document' });
    for (const vector of embedded) vectors.push(toStoredVector(vector));
    onProgress(vectors.length);
  }
  return vectors;
}

/**
 * Replaces all chunks of the document and marks it READY, atomically. Returns false if the
 * document was deleted while it was being processed (then nothing is written).
 */
async function replaceChunks(
  db: TenantDb,
  document: Document,
  chunks: Chunk[],
  vectors: number[][],
  pageCount: number,
  deps: IngestDeps,
): Promise<boolean> {
  return db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM documents WHERE id = ${document.id}::uuid FOR UPDATE`;
      if (locked.length === 0) return false;
      await tx.chunk.deleteMany({ where: { documentId: document.id } });
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
      await tx.document.update({
        where: { id: document.id },
        data: {
          status: 'READY',
          errorCode: null,
          errorMessage: null,
          pageCount,
          chunkCount: chunks.length,
          embeddingModel: deps.embedder.model,
          processedAt: new Date(),
        },
      });
      return true;
    },
    { timeout: 120_000 },
  );
}
