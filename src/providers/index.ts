// Chooses the providers from configuration: Gemini when an API key is set, else the embedded models.
import type { Embedder } from './embedder.ts';
import { createGeminiEmbedder } from './gemini-embedder.ts';
import { createLocalEmbedder } from './local-embedder.ts';

export { EMBEDDING_COLUMN_DIMENSIONS, EmbedderError, toStoredVector, type Embedder } from './embedder.ts';

export function createEmbedder(options: {
  geminiApiKey?: string;
  geminiBaseUrl?: string;
  geminiEmbeddingModel?: string;
}): Embedder {
  if (!options.geminiApiKey) return createLocalEmbedder();
  return createGeminiEmbedder({
    apiKey: options.geminiApiKey,
    baseUrl: options.geminiBaseUrl,
    model: options.geminiEmbeddingModel,
  });
}
