-- Hand-written: lets full-text matches use the (tenant, tsv) GIN index under row-level security.
--
-- Tenant transactions read chunks through RLS policies. The planner must not evaluate a
-- function that is not LEAKPROOF on a row before the policy has accepted it, so `tsv @@ query`
-- (ts_match_vq) could not be an index condition: the GIN index was searched for the tenant only
-- and every one of the tenant's chunks was matched on the heap (bench:chat, 10k chunks per
-- tenant: 18.8 ms for a three-word query; as an index condition 0.27 ms).
-- ts_match_vq only reads its two arguments and returns a boolean: it has no side effects and
-- raises no error that depends on the row, so it cannot reveal a row the policy hides.
-- Only a superuser may mark a function LEAKPROOF; a deployment migrating as another role keeps
-- the slower plan (a notice says so) and can have a superuser run this statement.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
  ELSE
    RAISE NOTICE 'not a superuser: ts_match_vq stays non-leakproof, full-text search filters on the heap (see this migration)';
  END IF;
END $$;
