// Small helpers shared by bench/chat.ts and its child server: percentiles, rounding, a
// wall clock with sub-millisecond resolution that two processes agree on, and the stamp a
// benchmark delta carries so a client can tell when the model produced it.
import { performance } from 'node:perf_hooks';

/** Nearest-rank percentile of values sorted ascending (q in 0..1); NaN for no values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p95: round(percentile(sorted, 0.95)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(mean),
  };
}

export const round = (x: number, digits = 1) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null) as number;

export const fmt = (s: Summary, unit = 'ms') =>
  `p50 ${s.p50} ${unit}, p95 ${s.p95} ${unit}, p99 ${s.p99} ${unit}, max ${s.max} ${unit} (n=${s.n})`;

/**
 * Epoch milliseconds with microsecond resolution. Both processes derive it from the same
 * system clock (timeOrigin) plus their monotonic clock, so a difference between a stamp made
 * in the server and a reading in the client is a delivery latency (good to well under 1 ms
 * on one machine; Date.now() alone would add up to 1 ms of rounding).
 */
export const wallClock = () => performance.timeOrigin + performance.now();

/** What the bench's ticking model says before it waits for the start signal (bench/chat-server.ts). */
export const PREAMBLE = 'Answer: ';

/** The text of timed delta `seq`: `<d7@1765432101234.567> ` (not a `[n]` citation marker). */
export const stampDelta = (seq: number, at = wallClock()) => `<d${seq}@${at.toFixed(3)}> `;

const STAMP = /<d(\d+)@(\d+\.\d+)> /g;

/** The stamps found in a piece of streamed text, in order. */
export function readStamps(text: string): { seq: number; at: number }[] {
  return [...text.matchAll(STAMP)].map((m) => ({ seq: Number(m[1]), at: Number(m[2]) }));
}
