// The ingestion job, as seen from the code that creates and cancels it. Both run inside
// the caller's transaction, so a job exists exactly when its document row does.
// `job_key` makes a document have at most one pending job: re-adding replaces it.

export const INGEST_TASK = 'ingest_document';

interface Tx {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>;
}

const jobKey = (documentId: string) => `ingest:${documentId}`;

export async function enqueueIngestion(tx: Tx, documentId: string, maxAttempts: number): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.add_job(
    ${INGEST_TASK}, json_build_object('documentId', ${documentId}::text),
    job_key := ${jobKey(documentId)}, max_attempts := ${maxAttempts}::int)`;
}

/** Cancels a pending job; a running one is left to notice that its document is gone. */
export async function removeIngestion(tx: Tx, documentId: string): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.remove_job(${jobKey(documentId)})`;
}

/**
 * Re-ingests every document of the tenant (its embedding model changed): one job per document,
 * added by one statement inside the caller's transaction. A document whose ingestion is running
 * gets a second job (graphile-worker clears a locked job's key), so it ends on the new model.
 */
export async function enqueueTenantReingestion(tx: Tx, tenantId: string, maxAttempts: number): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.add_job(
      ${INGEST_TASK}, json_build_object('documentId', id::text),
      job_key := 'ingest:' || id::text, max_attempts := ${maxAttempts}::int)
    FROM documents WHERE tenant_id = ${tenantId}::uuid`;
}

export const REWRITE_FTS_TASK = 'rewrite_fts';

/** Rewrites the full-text vectors of the tenant's chunks with its (new) configuration. */
export async function enqueueFtsRewrite(tx: Tx, tenantId: string, maxAttempts: number): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.add_job(
    ${REWRITE_FTS_TASK}, json_build_object('tenantId', ${tenantId}::text),
    job_key := ${`fts:${tenantId}`}, max_attempts := ${maxAttempts}::int)`;
}
