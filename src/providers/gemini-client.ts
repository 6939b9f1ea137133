// What every Gemini provider shares: how the @google/genai client is built, and how its failures
// are told apart (caller abort, timeout, HTTP status, network), so each provider only maps the
// verdict onto its own error type.
import { ApiError, GoogleGenAI } from '@google/genai';

export interface GeminiClientOptions {
  apiKey: string;
  /** Origin of the API, e.g. a local fake server in tests; the SDK appends `/v1beta/models/…`. */
  baseUrl?: string;
}

export function createGeminiClient(options: GeminiClientOptions): GoogleGenAI {
  return new GoogleGenAI({
    apiKey: options.apiKey,
    // Pinned so that GOOGLE_GENAI_USE_VERTEXAI / GOOGLE_GENAI_API_VERSION in the environment cannot
    // redirect us, and because SDK 3.x would otherwise use /v1 rather than the documented /v1beta.
    vertexai: false,
    apiVersion: 'v1beta',
    // No SDK retryOptions or timeout: retry.ts explains why our own policy wraps each call instead.
    ...(options.baseUrl ? { httpOptions: { baseUrl: options.baseUrl } } : {}),
  });
}

export type GeminiFailure =
  /** The signal was aborted for a reason other than a timeout (the caller's cancellation). */
  | { kind: 'aborted'; reason: unknown }
  | { kind: 'timeout'; message: string }
  | { kind: 'http'; status: number; retryable: boolean; retryAfterMs?: number; message: string }
  /** fetch's "fetch failed" / "terminated" (refused, reset, DNS): transient as far as we can tell. */
  | { kind: 'network'; message: string }
  | { kind: 'other' };

/** Statuses worth another try besides 5xx (408 request timeout, 429 rate limit). */
const RETRYABLE_STATUSES = new Set([408, 429]);

/**
 * Classifies an SDK failure of a call made with `signal`. The SDK reports every abort as a bare
 * AbortError, so the signal's reason tells a timeout (a DOMException named TimeoutError, as
 * retry.ts and our stream timers use) from a cancellation.
 */
export function classifyGeminiError(error: unknown, signal: AbortSignal): GeminiFailure {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return { kind: 'timeout', message: reason.message };
    return { kind: 'aborted', reason };
  }
  if (error instanceof ApiError) {
    return {
      kind: 'http',
      status: error.status,
      retryable: error.status >= 500 || RETRYABLE_STATUSES.has(error.status),
      retryAfterMs: retryDelayMs(error.message),
      message: error.message,
    };
  }
  if (error instanceof TypeError) return { kind: 'network', message: error.message };
  return { kind: 'other' };
}

/**
 * Gemini puts its wait hint in the error body as google.rpc.RetryInfo (`"retryDelay": "17s"`);
 * ApiError's message is that body as JSON. (The Retry-After header does not reach us through the SDK.)
 */
function retryDelayMs(message: string): number | undefined {
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message);
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}
