// Gemini answers streamed through @google/genai (generateContentStream, SSE).
//
// Retries happen only until the first text arrives: a request that is refused (429/5xx), fails
// to connect or stays silent past `timeoutMs` is tried again, but once text has been emitted a
// failure ends the stream with ChatModelError, because text already shown cannot be taken back.
// Cancellation: the request's signal aborts the HTTP request at once and the stream throws
// ChatModelError CANCELLED (it never just returns, so a cut-off answer is not mistaken for a
// complete one).
import type { Content, GenerateContentResponse, GenerateContentResponseUsageMetadata } from '@google/genai';
import { cancelled, ChatModelError, type ChatEvent, type ChatModel, type ChatRequest } from './chat-model.ts';
import { classifyGeminiError, createGeminiClient } from './gemini-client.ts';
import { buildPrompt, estimateTokens } from './prompt.ts';
import { withRetry } from './retry.ts';

export interface GeminiChatOptions {
  apiKey: string;
  /** Origin of the API, e.g. a local fake server in tests. */
  baseUrl?: string;
  model?: string;
  /**
   * Per attempt, from sending the request to the first text. Generous by default: thinking models
   * send nothing until they have finished thinking.
   */
  timeoutMs?: number;
  /** Longest silence between two chunks once text is flowing; exceeding it fails with TIMEOUT. */
  idleTimeoutMs?: number;
  /** Tries before the first text, the first included. */
  attempts?: number;
  historyTokenBudget?: number;
}

type Chunks = AsyncGenerator<GenerateContentResponse>;

/** An attempt that got as far as its first text (or a stream that ended without any). */
interface OpenStream {
  chunks: Chunks;
  /** Aborting it ends this HTTP request (idle timeout, or we stopped reading). */
  connection: AbortController;
  signal: AbortSignal;
  /** The chunks read while waiting for the first text, in order. */
  head: GenerateContentResponse[];
  ended: boolean;
}

export function createGeminiChatModel(options: GeminiChatOptions): ChatModel {
  const model = options.model ?? 'gemini-flash-latest';
  const client = createGeminiClient({ apiKey: options.apiKey, baseUrl: options.baseUrl });
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;

  /** One attempt: sends the request and reads until a chunk carries text. */
  async function open(systemInstruction: string, contents: Content[], attemptSignal: AbortSignal): Promise<OpenStream> {
    const connection = new AbortController();
    const signal = AbortSignal.any([attemptSignal, connection.signal]);
    const head: GenerateContentResponse[] = [];
    try {
      const chunks = await client.models.generateContentStream({ model, contents, config: { systemInstruction, abortSignal: signal } });
      for (;;) {
        const next = await chunks.next();
        if (next.done) return { chunks, connection, signal, head, ended: true };
        head.push(next.value);
        if (textOf(next.value)) return { chunks, connection, signal, head, ended: false };
      }
    } catch (error) {
      // Classified before the abort below, which would otherwise read as a cancellation.
      const failure = toChatModelError(error, signal);
      connection.abort();
      throw failure;
    }
  }

  async function* stream(request: ChatRequest): AsyncGenerator<ChatEvent> {
    const prompt = buildPrompt(request, { historyTokenBudget: options.historyTokenBudget });
    const contents: Content[] = [
      ...prompt.history.map((turn) => ({ role: turn.role === 'assistant' ? 'model' : 'user', parts: [{ text: turn.content }] })),
      { role: 'user', parts: [{ text: prompt.user }] },
    ];

    let opened: OpenStream;
    try {
      opened = await withRetry((attemptSignal) => open(prompt.systemInstruction, contents, attemptSignal), {
        attempts: options.attempts ?? 3,
        baseDelayMs: 500,
        // Someone is waiting for this answer: a provider asking for a longer pause gets a
        // RATE_LIMITED failure instead of a silent wait.
        maxDelayMs: 10_000,
        timeoutMs: options.timeoutMs ?? 60_000,
        signal: request.signal,
        isRetryable: (error) => error instanceof ChatModelError && error.retryable,
      });
    } catch (error) {
      // withRetry rethrows the caller's own abort reason; it becomes our CANCELLED.
      if (request.signal.aborted) throw cancelled(request.signal);
      throw error;
    }

    const { chunks, connection, signal } = opened;
    let answer = '';
    let usage: GenerateContentResponseUsageMetadata | undefined;
    // Kept from whichever chunk carried them: a last chunk may hold only usage.
    let finishReason: string | undefined;
    let blockReason: string | undefined;
    try {
      const pending = [...opened.head];
      let ended = opened.ended;
      for (;;) {
        for (const chunk of pending.splice(0)) {
          usage = chunk.usageMetadata ?? usage;
          finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
          blockReason = chunk.promptFeedback?.blockReason ?? blockReason;
          const text = textOf(chunk);
          if (!text) continue;
          answer += text;
          yield { type: 'delta', text };
        }
        if (ended) break;
        const next = await nextWithin(chunks, idleTimeoutMs, connection).catch((error: unknown) => {
          if (request.signal.aborted) throw cancelled(request.signal);
          throw toChatModelError(error, signal);
        });
        if (next.done) ended = true;
        else pending.push(next.value);
      }
    } finally {
      // Ends the HTTP request when we stop early: the consumer broke off, or a failure above.
      connection.abort();
    }

    if (!answer) {
      const why = blockReason ?? finishReason ?? 'none given';
      throw new ChatModelError(`Gemini returned no answer (reason: ${why})`, { code: 'PROVIDER_ERROR', retryable: false });
    }
    if (!finishReason) {
      // Gemini always closes a complete answer with a finish reason; without one it was cut off.
      throw new ChatModelError('the Gemini stream ended before the answer was complete', { code: 'PROVIDER_ERROR', retryable: true });
    }
    yield usageEvent(usage, prompt.systemInstruction, contents, answer);
  }

  return { model, stream };
}

/** The next chunk, or a TimeoutError abort of the connection after `idleMs` of silence. */
async function nextWithin(chunks: Chunks, idleMs: number, connection: AbortController): Promise<IteratorResult<GenerateContentResponse>> {
  const timer = setTimeout(
    () => connection.abort(new DOMException(`no data from Gemini for ${idleMs} ms`, 'TimeoutError')),
    idleMs,
  );
  try {
    return await chunks.next();
  } finally {
    clearTimeout(timer);
  }
}

/** The answer text of a chunk. Thought summaries are not answer text; the SDK's `.text` getter warns on some parts, so this reads them itself. */
function textOf(chunk: GenerateContentResponse): string {
  const parts = chunk.candidates?.[0]?.content?.parts ?? [];
  return parts.map((part) => (part.thought ? '' : (part.text ?? ''))).join('');
}

function usageEvent(
  usage: GenerateContentResponseUsageMetadata | undefined,
  systemInstruction: string,
  contents: Content[],
  answer: string,
): ChatEvent {
  if (usage?.promptTokenCount !== undefined && usage.candidatesTokenCount !== undefined) {
    // Thinking tokens are billed as output, so they count here.
    return { type: 'usage', inputTokens: usage.promptTokenCount, outputTokens: usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0) };
  }
  const sent = [systemInstruction, ...contents.flatMap((content) => (content.parts ?? []).map((part) => part.text ?? ''))].join('\n');
  return { type: 'usage', inputTokens: estimateTokens(sent), outputTokens: estimateTokens(answer) };
}

function toChatModelError(error: unknown, signal: AbortSignal): ChatModelError {
  const failure = classifyGeminiError(error, signal);
  switch (failure.kind) {
    case 'timeout':
      return new ChatModelError(`Gemini: ${failure.message}`, { code: 'TIMEOUT', retryable: true, cause: error });
    case 'http':
      return new ChatModelError(`Gemini request failed with HTTP ${failure.status}: ${failure.message}`, {
        code: failure.status === 429 ? 'RATE_LIMITED' : 'PROVIDER_ERROR',
        retryable: failure.retryable,
        status: failure.status,
        retryAfterMs: failure.retryAfterMs,
        cause: error,
      });
    case 'network':
      return new ChatModelError(`Gemini request failed: ${failure.message}`, { code: 'PROVIDER_ERROR', retryable: true, cause: error });
    case 'aborted':
      return new ChatModelError('the Gemini request was aborted', { code: 'CANCELLED', retryable: false, cause: failure.reason });
    default:
      return new ChatModelError(`Gemini request failed: ${error instanceof Error ? error.message : String(error)}`, {
        code: 'PROVIDER_ERROR',
        retryable: false,
        cause: error,
      });
  }
}
