-- CreateTable
CREATE TABLE "fulltext_lexemes" (
    "tenant_id" UUID NOT NULL,
    "lexeme" TEXT NOT NULL,
    "chunks" INTEGER NOT NULL,

    CONSTRAINT "fulltext_lexemes_pkey" PRIMARY KEY ("tenant_id","lexeme")
);

-- CreateTable
CREATE TABLE "fulltext_totals" (
    "tenant_id" UUID NOT NULL,
    "chunks" BIGINT NOT NULL,
    "chars" BIGINT NOT NULL,

    CONSTRAINT "fulltext_totals_pkey" PRIMARY KEY ("tenant_id")
);

-- AddForeignKey
ALTER TABLE "fulltext_lexemes" ADD CONSTRAINT "fulltext_lexemes_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fulltext_totals" ADD CONSTRAINT "fulltext_totals_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written from here: row-level security for the two tables, the triggers that keep them
-- exact, and their backfill.
--
-- BM25 (src/retrieval/search.ts) weighs each word of a question by how rare it is among the
-- tenant's chunks. Counting that at query time means visiting every chunk holding a common
-- word; instead the counts are kept here, changed by statement-level triggers in the
-- transaction that inserts, deletes or rewrites chunks, so they are exact at every commit and
-- a rolled-back ingestion leaves them untouched.
SELECT ragchat_enable_tenant_rls('fulltext_lexemes');
SELECT ragchat_enable_tenant_rls('fulltext_totals');

-- Adds (sign 1) or removes (sign -1) chunks, given as parallel arrays of their tenant, tsv and
-- text length, to or from the counts. Writers of one tenant's counts take the tenant's lock
-- first, held to the end of the transaction (it is re-entrant): the upserts lock lexeme rows in
-- sorted order within a statement but not across statements, so two ingestions of one tenant
-- could otherwise deadlock. Removal never inserts: during deleteTenant the tenant's rows here
-- may already be gone.
CREATE FUNCTION ragchat_fulltext_apply(sign int, tenant_ids uuid[], tsvs tsvector[], lengths bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(cardinality(tenant_ids), 0) = 0 THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('ragchat_fulltext_stats'), hashtext(t::text))
     FROM (SELECT DISTINCT unnest(tenant_ids) ORDER BY 1) AS x(t);
  IF sign > 0 THEN
    INSERT INTO fulltext_lexemes AS f (tenant_id, lexeme, chunks)
    SELECT r.tenant_id, x.lexeme, count(*)
      FROM unnest(tenant_ids, tsvs) AS r(tenant_id, tsv) CROSS JOIN LATERAL unnest(tsvector_to_array(r.tsv)) AS x(lexeme)
     GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (tenant_id, lexeme) DO UPDATE SET chunks = f.chunks + excluded.chunks;
    INSERT INTO fulltext_totals AS t (tenant_id, chunks, chars)
    SELECT r.tenant_id, count(*), sum(r.length) FROM unnest(tenant_ids, lengths) AS r(tenant_id, length) GROUP BY 1
    ON CONFLICT (tenant_id) DO UPDATE SET chunks = t.chunks + excluded.chunks, chars = t.chars + excluded.chars;
  ELSE
    WITH counts AS (
      SELECT r.tenant_id, x.lexeme, count(*)::int AS n
        FROM unnest(tenant_ids, tsvs) AS r(tenant_id, tsv) CROSS JOIN LATERAL unnest(tsvector_to_array(r.tsv)) AS x(lexeme)
       GROUP BY 1, 2
    ), emptied AS (
      DELETE FROM fulltext_lexemes f USING counts c
       WHERE f.tenant_id = c.tenant_id AND f.lexeme = c.lexeme AND f.chunks <= c.n
    )
    UPDATE fulltext_lexemes f SET chunks = f.chunks - c.n FROM counts c
     WHERE f.tenant_id = c.tenant_id AND f.lexeme = c.lexeme AND f.chunks > c.n;
    UPDATE fulltext_totals t SET chunks = t.chunks - s.chunks, chars = t.chars - s.chars
      FROM (SELECT r.tenant_id, count(*) AS chunks, sum(r.length) AS chars
              FROM unnest(tenant_ids, lengths) AS r(tenant_id, length) GROUP BY 1) AS s
     WHERE t.tenant_id = s.tenant_id;
  END IF;
END $$;

-- The triggers: one function, whose branches each name only the transition tables their event
-- has (plpgsql plans a statement when it first runs it). A chunk without tsv is not searchable
-- and not counted; an update counts only rows whose text or tsv changed.
CREATE FUNCTION ragchat_fulltext_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM ragchat_fulltext_apply(1, array_agg(tenant_id), array_agg(tsv), array_agg(length(text)::bigint))
       FROM new_chunks WHERE tsv IS NOT NULL;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM ragchat_fulltext_apply(-1, array_agg(tenant_id), array_agg(tsv), array_agg(length(text)::bigint))
       FROM old_chunks WHERE tsv IS NOT NULL;
  ELSE
    PERFORM ragchat_fulltext_apply(-1, array_agg(o.tenant_id), array_agg(o.tsv), array_agg(length(o.text)::bigint))
       FROM old_chunks o JOIN new_chunks n ON n.id = o.id
      WHERE o.tsv IS NOT NULL AND (n.tsv IS DISTINCT FROM o.tsv OR n.text <> o.text OR n.tenant_id <> o.tenant_id);
    PERFORM ragchat_fulltext_apply(1, array_agg(n.tenant_id), array_agg(n.tsv), array_agg(length(n.text)::bigint))
       FROM new_chunks n JOIN old_chunks o ON o.id = n.id
      WHERE n.tsv IS NOT NULL AND (n.tsv IS DISTINCT FROM o.tsv OR n.text <> o.text OR n.tenant_id <> o.tenant_id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER chunks_fulltext_stats_insert AFTER INSERT ON chunks
  REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION ragchat_fulltext_stats();
CREATE TRIGGER chunks_fulltext_stats_delete AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_chunks FOR EACH STATEMENT EXECUTE FUNCTION ragchat_fulltext_stats();
-- Transition tables rule out `UPDATE OF tsv`; updates that change neither text nor tsv count nothing.
CREATE TRIGGER chunks_fulltext_stats_update AFTER UPDATE ON chunks
  REFERENCING OLD TABLE AS old_chunks NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION ragchat_fulltext_stats();

INSERT INTO fulltext_lexemes (tenant_id, lexeme, chunks)
SELECT c.tenant_id, x.lexeme, count(*)
  FROM chunks c CROSS JOIN LATERAL unnest(tsvector_to_array(c.tsv)) AS x(lexeme)
 WHERE c.tsv IS NOT NULL
 GROUP BY 1, 2;
INSERT INTO fulltext_totals (tenant_id, chunks, chars)
SELECT tenant_id, count(*), sum(length(text)) FROM chunks WHERE tsv IS NOT NULL GROUP BY 1;
