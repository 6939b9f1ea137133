-- Hand-written: the nearest-neighbour index moves from the full vectors to their binary
-- quantisation (one bit per dimension: its sign), searched by Hamming distance; queries re-rank
-- the index's candidates by exact cosine distance (src/retrieval/search.ts, vectorSearch).
--
-- Why: maintaining the HNSW graph was most of the cost of writing a document's chunks, which runs
-- in the ingestion transaction; Hamming distance of 768 bits is a dozen popcounts where cosine
-- takes 768 multiply-adds. Measured: inserting 5,500 real embeddings (USE-lite, SciFact chunks)
-- into an index of 16,500 took 1.43 ms per row with full vectors, 0.68 with bits; bench:ingest's
-- pipelineVsExtract went from 0.34 to 0.67 (0.72 with no vector index at all). Recall@20 against
-- exact cosine on those embeddings, searched within one tenant: 0.957 with 8× candidates
-- re-ranked, where the full-vector index gave 0.959 at ef_search 40.
--
-- The embedded PGlite still gets no HNSW index (see the documents migration).
DO $$
BEGIN
  IF version() NOT LIKE '%emscripten%' THEN
    DROP INDEX IF EXISTS "chunks_embedding_hnsw_idx";
    CREATE INDEX "chunks_embedding_bq_hnsw_idx" ON "chunks"
      USING hnsw ((binary_quantize("embedding")::bit(768)) bit_hamming_ops);
  END IF;
END $$;
