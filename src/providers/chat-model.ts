// The chat model contract: a question, the numbered sources retrieved for it and the conversation
// so far go in; the answer comes out as a stream of text deltas, closed by one usage event.

/** A retrieved passage offered to the model; `[n]` markers in the answer refer to `n`. */
export interface Source {
  n: number;
  title: string;
  pageNumber: number;
  text: string;
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  question: string;
  sources: Source[];
  /** Earlier turns, oldest first; the prompt builder trims the oldest to its token budget. */
  history: ChatTurn[];
  /** The tenant's own instructions, appended to (never replacing) the grounding rules. */
  systemPrompt?: string;
  /** Stops the answer at once: the stream then throws ChatModelError CANCELLED. */
  signal: AbortSignal;
}

/**
 * A stream is any number of deltas (their concatenation is the answer), then exactly one `usage`
 * event, then the end. A failure or cancellation throws ChatModelError instead of the usage event.
 */
export type ChatEvent = { type: 'delta'; text: string } | { type: 'usage'; inputTokens: number; outputTokens: number };

export interface ChatModel {
  /** Stable id recorded with each answer, e.g. 'gemini-flash-latest' or 'local/extractive'. */
  readonly model: string;
  stream(request: ChatRequest): AsyncIterable<ChatEvent>;
}

export type ChatModelErrorCode = 'TIMEOUT' | 'RATE_LIMITED' | 'PROVIDER_ERROR' | 'CANCELLED';

/**
 * A failed or cancelled answer. `retryable` says whether asking again later can help (rate limit,
 * server error, timeout); a stream never retries by itself once text has been emitted, since text
 * already shown cannot be taken back. `retryAfterMs` carries the provider's own wait hint.
 */
export class ChatModelError extends Error {
  readonly code: ChatModelErrorCode;
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    details: { code: ChatModelErrorCode; retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'ChatModelError';
    this.code = details.code;
    this.retryable = details.retryable;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The error every model throws when the request's signal aborts. */
export function cancelled(signal: AbortSignal): ChatModelError {
  return new ChatModelError('the answer was cancelled', { code: 'CANCELLED', retryable: false, cause: signal.reason });
}
