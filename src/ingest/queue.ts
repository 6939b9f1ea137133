// The ingestion job, as seen from the code that creates and cancels it. Both run inside
// the caller's tenant transaction, so a job exists exactly when its document row does.
// `job_key` makes a document have at most one pending job: re-adding replaces it.
//
// The tenant role has no rights on graphile-worker's tables: the two SQL functions of the
// row-level-security migration add and remove the job as their owner, after checking that
// the document belongs to the transaction's tenant. They spell the task name
// (`ingest_document`, the file name in jobs/) and the job key `ingest:<documentId>`.

import type { TaggedSql } from '../db/tagged-sql.ts';

type Tx = Pick<TaggedSql, '$executeRaw'>;

export async function enqueueIngestion(tx: Tx, documentId: string, maxAttempts: number): Promise<void> {
  await tx.$executeRaw`SELECT ragchat_enqueue_ingestion(${documentId}::uuid, ${maxAttempts}::int)`;
}

/**
 * Cancels a pending job; a running one is left to notice that its document is gone. Call it
 * before deleting the document: the function checks the document is the tenant's.
 */
export async function removeIngestion(tx: Tx, documentId: string): Promise<void> {
  await tx.$executeRaw`SELECT ragchat_cancel_ingestion(${documentId}::uuid)`;
}

/**
 * Cancels the pending jobs of every document of a tenant (tenant deletion). Cross-tenant: it
 * runs as the connecting role, in the deleting transaction, and so spells the job key itself.
 */
export async function removeTenantIngestions(tx: Tx, tenantId: string): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.remove_job('ingest:' || d.id::text) FROM documents d WHERE d.tenant_id = ${tenantId}::uuid`;
}

/**
 * Re-ingests every document of the transaction's tenant (its embedding model changed): one job
 * per document, added by one statement inside the caller's transaction. A document whose
 * ingestion is running gets a second job (graphile-worker clears a locked job's key), so it
 * ends on the new model.
 */
export async function enqueueTenantReingestion(tx: Tx, maxAttempts: number): Promise<void> {
  await tx.$executeRaw`SELECT ragchat_enqueue_tenant_reingestion(${maxAttempts}::int)`;
}

/** Rewrites the full-text vectors of the transaction's tenant's chunks with its (new) configuration (jobs/rewrite_fts.ts). */
export async function enqueueFtsRewrite(tx: Tx, maxAttempts: number): Promise<void> {
  await tx.$executeRaw`SELECT ragchat_enqueue_fts_rewrite(${maxAttempts}::int)`;
}
