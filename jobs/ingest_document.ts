// Task `ingest_document`: turn an uploaded document into embedded, full-text-indexed chunks.
// Payload { documentId }. Throwing lets graphile-worker retry with backoff (transient
// failures); permanent ones are recorded on the document by the pipeline, without a retry.
import type { Task } from 'graphile-worker';
import { z } from 'zod';
import { ingestDocument, type IngestDeps } from '../src/ingest/pipeline.ts';

const Payload = z.object({ documentId: z.uuid() });

export default function createTask(deps: IngestDeps): Task {
  return async (payload, helpers) => {
    const parsed = Payload.safeParse(payload);
    if (!parsed.success) {
      // A malformed payload never becomes valid: log it and finish the job instead of retrying.
      helpers.logger.error(`ingest_document: invalid payload ${JSON.stringify(payload)}: ${parsed.error.message}`);
      return;
    }
    await ingestDocument(deps, parsed.data.documentId, {
      attempts: helpers.job.attempts,
      maxAttempts: helpers.job.max_attempts,
    });
  };
}
