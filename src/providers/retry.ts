// Timeouts, retries and cancellation for calls to remote models (embeddings now, chat later).
//
// Why not @google/genai's own `httpOptions.retryOptions`/`timeout` (p-retry 4 underneath): its
// ApiError keeps only status and message, so a Retry-After header is lost; Node's network failures
// ("fetch failed") are TypeErrors that p-retry 4 does not retry; a caller's abort during a back-off
// is only noticed after the wait; and its timeout stays armed while a streamed body is read, so a
// long answer would be cut off. This one small policy behaves the same for every provider, and the
// SDK is left at its default of a single attempt with no timeout.
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  /** Back-off ceiling before the first retry; it doubles per retry (full jitter: a random wait below it). */
  baseDelayMs: number;
  /** Longest wait between tries; a provider asking for longer makes us give up instead. */
  maxDelayMs: number;
  /** Bound on each try until `fn` settles (a stream `fn` returns is not cut off later). */
  timeoutMs: number;
  /** The caller's cancellation: stops the current try and any wait at once, with its reason. */
  signal?: AbortSignal;
  /** Whether an error is worth another try. A try that hit `timeoutMs` always is. */
  isRetryable: (error: unknown) => boolean;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** Errors may carry the provider's wait hint (HTTP Retry-After, google.rpc.RetryInfo) here. */
export interface RetryHint {
  retryAfterMs?: number;
}

export async function withRetry<T>(fn: (signal: AbortSignal) => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal } = options;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    // A cleared timer rather than AbortSignal.timeout(): once fn has settled, the signal it was
    // given must only follow the caller, or a stream still being read would be aborted mid-way.
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException(`attempt timed out after ${options.timeoutMs} ms`, 'TimeoutError')),
      options.timeoutMs,
    );
    const attemptSignal = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    let failure: unknown;
    try {
      return await fn(attemptSignal);
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(timer);
    }
    if (signal?.aborted) throw signal.reason;
    const retryable = deadline.signal.aborted || options.isRetryable(failure);
    const delayMs = retryable && attempt < options.attempts ? nextDelay(attempt, failure, options) : undefined;
    if (delayMs === undefined) throw failure;
    options.onRetry?.({ attempt, delayMs, error: failure });
    await sleep(delayMs, undefined, { signal }).catch(() => {
      throw signal?.reason;
    });
  }
}

/** The wait before try `attempt + 1`, or undefined when the provider asks for more than maxDelayMs. */
function nextDelay(attempt: number, error: unknown, options: RetryOptions): number | undefined {
  const hint = (error as RetryHint | null)?.retryAfterMs;
  if (typeof hint === 'number' && hint >= 0) return hint <= options.maxDelayMs ? hint : undefined;
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.random() * ceiling;
}
