-- Hand-written: every change to the rows the API's response cache serves (src/response-cache.ts)
-- announces itself, whichever process or statement made it — a mutation on any API instance,
-- the ingestion worker, an operator's SQL.
--
-- The announcement is a NOTIFY on the application's event channel (src/pubsub.ts), sent at
-- commit and only then: a rolled-back change announces nothing. Its payload names the tenant
-- only, so Postgres folds the copies of one transaction into one (identical payloads are
-- delivered once), however many rows it changed. Listeners receive notifications in commit
-- order, so an instance that sees an event published after a commit (say, a document's READY
-- status) has already seen that commit's announcement.
--
-- Chunks have no trigger: they are only ever written or deleted together with their
-- document's row (ingestion sets READY in the same transaction; a delete cascades from it).
CREATE FUNCTION ragchat_announce_tenant_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed_tenant uuid;
BEGIN
  -- TG_ARGV[0]: the column holding the tenant's id ('id' on tenants itself).
  IF TG_OP = 'DELETE' THEN
    changed_tenant := (to_jsonb(OLD) ->> TG_ARGV[0])::uuid;
  ELSE
    changed_tenant := (to_jsonb(NEW) ->> TG_ARGV[0])::uuid;
  END IF;
  -- "<tag> <json>", the event format of src/pubsub.ts.
  PERFORM pg_notify('ragchat_events', 'db ' || jsonb_build_object(
    'topic', 'tenantDataChanged',
    'detail', jsonb_build_object('tenantId', changed_tenant))::text);
  RETURN NULL;
END $$;

CREATE TRIGGER tenants_announce_change AFTER INSERT OR UPDATE OR DELETE ON "tenants"
  FOR EACH ROW EXECUTE FUNCTION ragchat_announce_tenant_change('id');
CREATE TRIGGER users_announce_change AFTER INSERT OR UPDATE OR DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION ragchat_announce_tenant_change('tenant_id');
CREATE TRIGGER documents_announce_change AFTER INSERT OR UPDATE OR DELETE ON "documents"
  FOR EACH ROW EXECUTE FUNCTION ragchat_announce_tenant_change('tenant_id');
