// Retrieval for the caller's tenant, exposed as a query for front-ends and evaluation. It uses
// the tenant's embedding model and full-text language, so it searches what ingestion wrote.
import type pg from 'pg';
import { z } from 'zod';
import type { Tenant } from '../db/generated/client.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { effectiveChoices, ModelUnavailableError, type Models } from '../providers/registry.ts';
import { searchQuestion, type RetrievalParams, type ScoredChunk } from '../retrieval/search.ts';
import { parseInput } from './validation.ts';
import type { Viewer } from './viewer.ts';

const SearchInput = z.object({
  query: z.string().trim().min(1, 'must not be empty').max(2000),
  limit: z.number().int().min(1).max(50),
});

export interface SearchOptions {
  models: Models;
  defaultFtsConfig: string;
  retrieval: RetrievalParams;
}

export function createSearchService(pool: pg.Pool, viewer: Viewer, tenant: () => Promise<Tenant>, options: SearchOptions) {
  return {
    async search(query: string, limit: number): Promise<ScoredChunk[]> {
      const input = parseInput(SearchInput, { query, limit });
      const choices = effectiveChoices(await tenant(), options.models, options.defaultFtsConfig);
      let embedder;
      try {
        embedder = options.models.embedders.get(choices.embeddingModel);
      } catch (error) {
        // The tenant chose a model this deployment no longer runs (e.g. GEMINI_API_KEY removed).
        if (error instanceof ModelUnavailableError) {
          throw new AppError(ErrorCode.FAILED_PRECONDITION, `${error.message}; an ADMIN can choose another embedding model`, {
            reason: error.reason,
          });
        }
        throw error;
      }
      const { retrieval } = options;
      return searchQuestion(
        pool,
        { tenantId: viewer.tenantId, text: input.query, ftsConfig: choices.ftsConfig, embedder },
        { ...retrieval, n: input.limit, k: Math.max(retrieval.k, input.limit) },
      );
    },
  };
}
