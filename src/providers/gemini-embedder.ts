// Gemini embeddings (gemini-embedding-001) through @google/genai, with our retry policy around
// each request of at most 100 texts.
import { ApiError, GoogleGenAI } from '@google/genai';
import { EmbedderError, normalize, type Embedder } from './embedder.ts';
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
/** Statuses worth another try besides 5xx (408 request timeout, 429 rate limit). */
const RETRYABLE_STATUSES = new Set([408, 429]);

export function createGeminiEmbedder(options: GeminiEmbedderOptions): Embedder {
  const model = options.model ?? 'gemini-embedding-001';
  const dimensions = options.dimensions ?? 768;
  const client = new GoogleGenAI({
    apiKey: options.apiKey,
    // Pinned so that GOOGLE_GENAI_USE_VERTEXAI / GOOGLE_GENAI_API_VERSION in the environment cannot
    // redirect us, and because SDK 3.x would otherwise use /v1 rather than the documented /v1beta.
    vertexai: false,
    apiVersion: 'v1beta',
    ...(options.baseUrl ? { httpOptions: { baseUrl: options.baseUrl } } : {}),
  });

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

/**
 * Classifies an SDK failure. Caller aborts pass through untouched (withRetry rethrows the caller's
 * reason); the SDK reports every abort as a bare AbortError, so the signal tells a timeout apart.
 */
function toEmbedderError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') {
      return new EmbedderError(`Gemini embedding request: ${reason.message}`, { retryable: true, cause: error });
    }
    return reason;
  }
  if (error instanceof ApiError) {
    return new EmbedderError(`Gemini embedding request failed with HTTP ${error.status}: ${error.message}`, {
      retryable: error.status >= 500 || RETRYABLE_STATUSES.has(error.status),
      status: error.status,
      retryAfterMs: retryDelayMs(error.message),
      cause: error,
    });
  }
  // fetch's "fetch failed" (connection refused/reset, DNS): transient as far as we can tell.
  if (error instanceof TypeError) {
    return new EmbedderError(`Gemini embedding request failed: ${error.message}`, { retryable: true, cause: error });
  }
  return error;
}

/**
 * Gemini puts its wait hint in the error body as google.rpc.RetryInfo (`"retryDelay": "17s"`);
 * ApiError's message is that body as JSON. (The Retry-After header does not reach us through the SDK.)
 */
function retryDelayMs(message: string): number | undefined {
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message);
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}
