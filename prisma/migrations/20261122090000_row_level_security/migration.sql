-- Hand-written (Prisma cannot express roles, policies or functions; its diffs ignore them):
-- row-level security, the second wall under the forTenant() Prisma extension.
--
-- Tenant-scoped work runs as the role ragchat_tenant, entered per transaction together with
-- the tenant, in the BEGIN message (src/db/tenant-session.ts):
--   BEGIN; SET LOCAL ROLE ragchat_tenant; SET LOCAL app.tenant_id = '<uuid>'
-- ragchat_tenant is NOLOGIN, not a superuser and without BYPASSRLS, so the policies below
-- apply to it: it sees and writes only rows whose tenant is the transaction's. Without a
-- tenant set it sees nothing (NULL matches no row). The connecting role keeps its own access
-- for the few cross-tenant paths listed in the README.

-- Roles are shared by every database of the server, and test files migrate scratch databases
-- concurrently: creating the role or the membership twice at the same moment is not an error.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ragchat_tenant') THEN
    CREATE ROLE ragchat_tenant NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;

-- The connecting role must be allowed to SET ROLE ragchat_tenant (a superuser always may).
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'ragchat_tenant', 'MEMBER') THEN
    EXECUTE format('GRANT ragchat_tenant TO %I', current_user);
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;

DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO ragchat_tenant', current_schema());
END $$;

-- Puts a table holding tenant rows behind row-level security. Future migrations call it for
-- every new table with a tenant_id column (tests/row-level-security.test.ts fails otherwise):
--   SELECT ragchat_enable_tenant_rls('new_table');
-- FORCE makes the policies bind the table owner too; the owner (the role running migrations,
-- which is the application's connecting role) gets its access from the explicit
-- service_access policy instead of an implicit exemption, so every role that may read the
-- table is named in pg_policies.
CREATE FUNCTION ragchat_enable_tenant_rls(
  target regclass,
  tenant_column name DEFAULT 'tenant_id',
  privileges text DEFAULT 'SELECT, INSERT, UPDATE, DELETE'
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  tenant_matches text := format('%I = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid', tenant_column);
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
  EXECUTE format('GRANT %s ON %s TO ragchat_tenant', privileges, target);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
  EXECUTE format('CREATE POLICY tenant_isolation ON %s FOR ALL TO ragchat_tenant USING (%s) WITH CHECK (%s)',
                 target, tenant_matches, tenant_matches);
  EXECUTE format('DROP POLICY IF EXISTS service_access ON %s', target);
  EXECUTE format('CREATE POLICY service_access ON %s FOR ALL TO %I USING (true) WITH CHECK (true)', target, current_user);
END $$;
REVOKE ALL ON FUNCTION ragchat_enable_tenant_rls(regclass, name, text) FROM PUBLIC;

-- The tenant itself: its own row only, read and updated (settings, name, row locks); creating
-- and deleting tenants are cross-tenant paths (sign-up, deleteTenant).
SELECT ragchat_enable_tenant_rls('tenants', 'id', 'SELECT, UPDATE');
SELECT ragchat_enable_tenant_rls('users');
SELECT ragchat_enable_tenant_rls('invitations');
SELECT ragchat_enable_tenant_rls('documents');
SELECT ragchat_enable_tenant_rls('document_files');
SELECT ragchat_enable_tenant_rls('chunks');
SELECT ragchat_enable_tenant_rls('chat_sessions');
SELECT ragchat_enable_tenant_rls('chat_messages');
SELECT ragchat_enable_tenant_rls('citations');

-- The job queue is graphile-worker's, shared by all tenants, and ragchat_tenant has no rights
-- on it. Uploads enqueue (and deletions cancel) a document's ingestion inside their tenant
-- transaction through these two functions, which run as their owner but only for a document
-- of the transaction's tenant. The task name and job key match src/ingest/queue.ts and
-- jobs/ingest_document.ts. plpgsql bodies are checked when called, so graphile_worker's
-- schema (created at start-up, after these migrations) need not exist yet.
CREATE FUNCTION ragchat_enqueue_ingestion(p_document_id uuid, p_max_attempts integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM documents d
                  WHERE d.id = p_document_id
                    AND d.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) THEN
    RAISE EXCEPTION 'document % does not belong to the current tenant', p_document_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM graphile_worker.add_job('ingest_document', json_build_object('documentId', p_document_id::text),
                                  job_key := 'ingest:' || p_document_id::text, max_attempts := p_max_attempts);
END $$;

CREATE FUNCTION ragchat_cancel_ingestion(p_document_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM documents d
                  WHERE d.id = p_document_id
                    AND d.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) THEN
    RAISE EXCEPTION 'document % does not belong to the current tenant', p_document_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM graphile_worker.remove_job('ingest:' || p_document_id::text);
END $$;

-- SECURITY DEFINER functions must not resolve names through a path the caller controls
-- (a temporary table named "documents" would otherwise shadow the real one): pin the path to
-- this schema, with pg_temp last.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION ragchat_enqueue_ingestion(uuid, integer) SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION ragchat_cancel_ingestion(uuid) SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION ragchat_enqueue_ingestion(uuid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ragchat_cancel_ingestion(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ragchat_enqueue_ingestion(uuid, integer) TO ragchat_tenant;
GRANT EXECUTE ON FUNCTION ragchat_cancel_ingestion(uuid) TO ragchat_tenant;
