-- Hand-written: full-text search always runs inside one tenant, so its GIN index leads with
-- the tenant. With the full-text vector alone, an OR query of a question's words matched
-- tens of thousands of chunks of every tenant before the tenant filter kept a tenth of them
-- (bench:chat, 100k chunks over 10 tenants: ~10 ms of a ~20 ms search); with the tenant in
-- the index only the tenant's matches are read. btree_gin lets GIN index the uuid column.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX "chunks_tenant_tsv_idx" ON "chunks" USING gin ("tenant_id", "tsv");
DROP INDEX "chunks_tsv_idx";
