// The embedding provider contract, and how any provider's vectors are stored.

export interface Embedder {
  /** Stable id recorded with every chunk; vectors of different ids are never compared. e.g. 'local/use-lite' or 'gemini-embedding-001' */
  readonly model: string;
  /** Native dimensions of the model (512 local, 768 Gemini as configured). */
  readonly dimensions: number;
  /**
   * Most texts one underlying model call takes. embed() splits longer inputs itself, but callers
   * that batch to this size get progress, cancellation and failure at that granularity.
   */
  readonly maxBatchSize: number;
  /**
   * How much this model's nearest chunks weigh against full-text hits when hybrid search fuses
   * the two lists (1 = equally; the default). A weak model's list is noise that pushes good
   * full-text hits down (see createLocalEmbedder).
   */
  readonly fusionWeight?: number;
  /** One unit-length vector of `dimensions` values per text, in input order. */
  embed(texts: string[], options?: { signal?: AbortSignal; task?: 'document' | 'query' }): Promise<number[][]>;
}

/** Width of the one `vector(768)` column that holds every model's vectors. */
export const EMBEDDING_COLUMN_DIMENSIONS = 768;

/**
 * A failed embedding call. `retryable` says whether trying again later can help (rate limit,
 * server error, timeout); `retryAfterMs` carries the provider's own wait hint when it gave one.
 */
export class EmbedderError extends Error {
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    details: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'EmbedderError';
    this.retryable = details.retryable;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** Scales a vector to unit length. Throws on a zero or non-finite vector: it has no direction. */
export function normalize(vector: number[]): number[] {
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares);
  if (!Number.isFinite(norm) || norm === 0) throw new RangeError('cannot normalise a zero or non-finite vector');
  return vector.map((value) => value / norm);
}

/**
 * The column form of a vector: unit length, zero-padded to 768. Padding adds nothing to dot
 * products or norms, so cosine similarity between two padded vectors equals that of the originals,
 * and one column serves models of different widths (they are never compared with each other).
 */
export function toStoredVector(vector: number[]): number[] {
  if (vector.length > EMBEDDING_COLUMN_DIMENSIONS) {
    throw new RangeError(`vector has ${vector.length} dimensions; the column holds at most ${EMBEDDING_COLUMN_DIMENSIONS}`);
  }
  const stored = normalize(vector);
  while (stored.length < EMBEDDING_COLUMN_DIMENSIONS) stored.push(0);
  return stored;
}
