-- Hand-written: the tables of plans, usage and audit behind row-level security (see
-- 20261122090000_row_level_security), and the tenant-wide jobs of a settings change enqueued
-- through functions, like single-document ingestion, since ragchat_tenant has no rights on
-- graphile-worker's queue.

-- Usage counters are incremented inside the tenant's transactions; audit entries are only
-- ever added and read (a trigger also refuses edits, whoever asks).
SELECT ragchat_enable_tenant_rls('usage_daily', 'tenant_id', 'SELECT, INSERT, UPDATE');
SELECT ragchat_enable_tenant_rls('audit_events', 'tenant_id', 'SELECT, INSERT');

-- Changing the embedding model re-ingests every document of the transaction's tenant; changing
-- the full-text language rewrites its chunks' vectors. Task names and job keys match
-- src/ingest/queue.ts and jobs/.
CREATE FUNCTION ragchat_enqueue_tenant_reingestion(p_max_attempts integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'no tenant in this transaction' USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM graphile_worker.add_job('ingest_document', json_build_object('documentId', d.id::text),
                                  job_key := 'ingest:' || d.id::text, max_attempts := p_max_attempts)
     FROM documents d WHERE d.tenant_id = tenant;
END $$;

CREATE FUNCTION ragchat_enqueue_fts_rewrite(p_max_attempts integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'no tenant in this transaction' USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM graphile_worker.add_job('rewrite_fts', json_build_object('tenantId', tenant::text),
                                  job_key := 'fts:' || tenant::text, max_attempts := p_max_attempts);
END $$;

DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION ragchat_enqueue_tenant_reingestion(integer) SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION ragchat_enqueue_fts_rewrite(integer) SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION ragchat_enqueue_tenant_reingestion(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ragchat_enqueue_fts_rewrite(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ragchat_enqueue_tenant_reingestion(integer) TO ragchat_tenant;
GRANT EXECUTE ON FUNCTION ragchat_enqueue_fts_rewrite(integer) TO ragchat_tenant;
