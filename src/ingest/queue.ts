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
