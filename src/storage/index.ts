// Where document bytes live. The default keeps them in PostgreSQL (document_files), so a
// document row, its bytes and its ingestion job commit or roll back together; another
// implementation (object storage) would write before the transaction and clean up after.
import type { TenantDb, TenantTx } from '../db/tenant-scope.ts';

export type { TenantTx };

export interface DocumentRef {
  tenantId: string;
  documentId: string;
}

export interface DocumentStorage {
  /** Stores the bytes as part of the caller's transaction. */
  put(tx: TenantTx, ref: DocumentRef, bytes: Uint8Array): Promise<void>;
  /** The bytes, or null when the document (or its bytes) is gone. */
  get(db: TenantDb, ref: DocumentRef): Promise<Uint8Array | null>;
}

export const postgresStorage: DocumentStorage = {
  async put(tx, { documentId, tenantId }, bytes) {
    await tx.documentFile.create({ data: { documentId, tenantId, bytes: Buffer.from(bytes) } });
  },
  async get(db, { documentId }) {
    const file = await db.documentFile.findUnique({ where: { documentId } });
    return file ? new Uint8Array(file.bytes) : null;
  },
};
