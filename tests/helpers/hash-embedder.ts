// A zero-cost, deterministic Embedder (feature hashing of words). Tests that exercise the
// ingestion machinery rather than semantic quality use it to stay fast, and the ingestion
// benchmark uses it as its "embedding costs nothing" baseline.
import { createHash } from 'node:crypto';
import type { Embedder } from '../../src/providers/embedder.ts';

export function hashEmbedder(dimensions = 256): Embedder {
  return {
    model: `test/hash-${dimensions}`,
    dimensions,
    maxBatchSize: 256,
    async embed(texts) {
      return texts.map((text) => {
        const vector = new Array<number>(dimensions).fill(0);
        for (const word of text.toLowerCase().match(/\p{L}+|\p{N}+/gu) ?? []) {
          const digest = createHash('md5').update(word).digest();
          vector[digest.readUInt32LE(0) % dimensions]! += digest[4]! & 1 ? 1 : -1;
        }
        const norm = Math.hypot(...vector) || 1;
        return vector.map((x) => x / norm);
      });
    },
  };
}
