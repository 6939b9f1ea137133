// Gemini embeddings (gemini-embedding-001) through @google/genai, with our retry policy around
// each request of at most 100 texts.
import { EmbedderError, normalize, type Embedder } from './embedder.ts';
import { classifyGeminiError, createGeminiClient } from './gemini-client.ts';
import { withRetry } from './retry.ts';

export interface GeminiEmbedderOptions {
  apiKey: string;
  /** Origin of the API, e.g. a local fake server in tests; the SDK appends `/v1beta/models/…`. */
  baseUrl?: string;
  model?: string;
  /** outputDimensionality: 768, 1536 or 3072 for gemini-embedding-001. Only 768 fits the column. */
  dimensions?: number;
  /** Bound on one HTTP request; a request that exceeds it is retried. */
  timeoutMs?: number;
  /** Tries per request, the first included. */
  attempts?: number;
}

/** batchEmbedContents accepts at most 100 requests. */
const MAX_BATCH_SIZE = 100;

export function createGeminiEmbedder(options: GeminiEmbedderOptions): Embedder {
  const model = options.model ?? 'gemini-embedding-001';
  const dimensions = options.dimensions ?? 768;
  const client = createGeminiClient({ apiKey: options.apiKey, baseUrl: options.baseUrl });

  async function embedBatch(texts: string[], taskType: string, signal: AbortSignal | undefined): Promise<number[][]> {
    const response = await withRetry(
      (attemptSignal) =>
        client.models
          .embedContent({
            model,
            contents: texts,
            config: { taskType, outputDimensionality: dimensions, abortSignal: attemptSignal },
          })
          .catch((error: unknown) => {
            throw toEmbedderError(error, attemptSignal);
          }),
      {
        attempts: options.attempts ?? 4,
        baseDelayMs: 500,
        maxDelayMs: 30_000,
        timeoutMs: options.timeoutMs ?? 30_000,
        signal,
        isRetryable: (error) => error instanceof EmbedderError && error.retryable,
      },
    );
    const embeddings = response.embeddings ?? [];
    if (embeddings.length !== texts.length) {
      throw new EmbedderError(`Gemini returned ${embeddings.length} embeddings for ${texts.length} texts`, { retryable: false });
    }
    return embeddings.map(({ values = [] }) => {
      if (values.length !== dimensions) {
        throw new EmbedderError(`Gemini returned ${values.length} dimensions, expected ${dimensions}`, { retryable: false });
      }
      // Vectors truncated below 3072 dimensions are not unit length.
      return normalize(values);
    });
  }

  return {
    model,
    dimensions,
    maxBatchSize: MAX_BATCH_SIZE,
    async embed(texts, { signal, task = 'document' } = {}) {
      const taskType = task === 'query' ? 'RETRIEVAL_QUERY' : 'RETRIEVAL_DOCUMENT';
      const vectors: number[][] = [];
      // One request at a time: ingestion is a background job, and this stays gentle on rate limits.
      for (let start = 0; start < texts.length; start += MAX_BATCH_SIZE) {
        vectors.push(...(await embedBatch(texts.slice(start, start + MAX_BATCH_SIZE), taskType, signal)));
      }
      return vectors;
    },
  };
}

/** Maps an SDK failure onto EmbedderError; caller aborts pass through untouched (withRetry rethrows the caller's reason). */
function toEmbedderError(error: unknown, signal: AbortSignal): unknown {
  const failure = classifyGeminiError(error, signal);
  switch (failure.kind) {
    case 'aborted':
      return failure.reason;
    case 'timeout':
      return new EmbedderError(`Gemini embedding request: ${failure.message}`, { retryable: true, cause: error });
    case 'http':
      return new EmbedderError(`Gemini embedding request failed with HTTP ${failure.status}: ${failure.message}`, {
        retryable: failure.retryable,
        status: failure.status,
        retryAfterMs: failure.retryAfterMs,
        cause: error,
      });
    case 'network':
      return new EmbedderError(`Gemini embedding request failed: ${failure.message}`, { retryable: true, cause: error });
    default:
      return error;
  }
}
