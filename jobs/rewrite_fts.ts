// Task `rewrite_fts`: after a tenant changes its full-text language, rewrite the tsv of its
// chunks with the new text-search configuration. Payload { tenantId }.
//
// A job rather than an UPDATE inside the settings mutation: every rewritten row is a new row
// version, and since tsv is indexed none is a HOT update — each one also inserts into the GIN and
// HNSW indexes (~1 ms of server CPU per chunk, see src/ingest/pipeline.ts). For a tenant with
// 100,000 chunks that is minutes: far too long for a request, and one huge transaction would
// hold locks and bloat the table at once. Here it runs in batches, each its own transaction.
// Meanwhile full-text search mixes old and new vectors for a little while (vector search is
// unaffected); ingestion already writes new chunks with the new language.
//
// Idempotent: it reads the tenant's current language (not the payload's), rewrites
// every chunk with it, and stops early if the language changes again (the change queued a
// newer job, which starts over).
import type { Task } from 'graphile-worker';
import { z } from 'zod';
import type { IngestDeps } from '../src/ingest/pipeline.ts';

const Payload = z.object({ tenantId: z.uuid() });

/** Chunks per transaction: a few hundred milliseconds of index maintenance. */
const BATCH = 500;

export default function createTask(deps: IngestDeps): Task {
  return async (payload, helpers) => {
    const parsed = Payload.safeParse(payload);
    if (!parsed.success) {
      helpers.logger.error(`rewrite_fts: invalid payload ${JSON.stringify(payload)}: ${parsed.error.message}`);
      return;
    }
    const { tenantId } = parsed.data;
    const languageNow = async () => {
      const tenant = await deps.prisma.tenant.findUnique({ where: { id: tenantId }, select: { ftsConfig: true } });
      return tenant ? (tenant.ftsConfig ?? deps.ftsConfig) : null;
    };
    const language = await languageNow();
    if (!language) return; // the tenant is gone
    let after = '00000000-0000-0000-0000-000000000000';
    let rewritten = 0;
    for (;;) {
      // Keyset over the primary key: each batch is one index range scan, whatever the table size.
      const rows = await deps.prisma.$queryRaw<{ id: string }[]>`
        UPDATE chunks SET tsv = to_tsvector(${language}::regconfig, text)
         WHERE id IN (SELECT id FROM chunks WHERE tenant_id = ${tenantId}::uuid AND id > ${after}::uuid ORDER BY id LIMIT ${BATCH})
        RETURNING id`;
      if (rows.length === 0) break;
      rewritten += rows.length;
      after = rows.reduce((max, row) => (row.id > max ? row.id : max), after);
      if ((await languageNow()) !== language) {
        deps.logger.info({ tenantId, rewritten }, 'rewrite_fts: the language changed again; the newer job takes over');
        return;
      }
    }
    deps.logger.info({ tenantId, language, rewritten }, 'rewrote full-text vectors');
  };
}
