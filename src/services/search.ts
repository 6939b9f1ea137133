// Retrieval for the caller's tenant, exposed as a query for front-ends and evaluation.
import type pg from 'pg';
import type { Embedder } from '../providers/embedder.ts';
import { toStoredVector } from '../providers/embedder.ts';
import { hybridSearch, type RetrievalParams, type ScoredChunk } from '../retrieval/search.ts';
import { parseInput } from './validation.ts';
import type { Viewer } from './viewer.ts';
import { z } from 'zod';

const SearchInput = z.object({
  query: z.string().trim().min(1, 'must not be empty').max(2000),
  limit: z.number().int().min(1).max(50),
});

export function createSearchService(pool: pg.Pool, embedder: Embedder, viewer: Viewer, ftsConfig: string, retrieval: RetrievalParams) {
  return {
    async search(query: string, limit: number): Promise<ScoredChunk[]> {
      const input = parseInput(SearchInput, { query, limit });
      const [vector] = await embedder.embed([input.query], { task: 'query' });
      return hybridSearch(
        pool,
        { tenantId: viewer.tenantId, embeddingModel: embedder.model, vector: toStoredVector(vector!), text: input.query, ftsConfig },
        { ...retrieval, n: input.limit, k: Math.max(retrieval.k, input.limit) },
      );
    },
  };
}
