// Chat models: Gemini streaming through the real @google/genai SDK against the local fake server
// (retries before the first token only, timeouts, cancellation), the prompt builder, and the
// offline extractive answerer.
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatModelError, type ChatEvent, type ChatTurn, type Source } from '../src/providers/chat-model.ts';
import { createExtractiveChatModel, NOT_FOUND_ANSWER } from '../src/providers/extractive-chat.ts';
import { createGeminiChatModel, type GeminiChatOptions } from '../src/providers/gemini-chat.ts';
import { createChatModel } from '../src/providers/index.ts';
import { buildPrompt, estimateTokens, trimHistory } from '../src/providers/prompt.ts';
import { startFakeGemini, type FakeGemini } from './helpers/fake-gemini.ts';

interface Collected {
  deltas: string[];
  usage: Extract<ChatEvent, { type: 'usage' }>[];
  events: ChatEvent['type'][];
  error?: unknown;
}

/** Reads a whole stream, calling `onDelta` after each delta (to abort mid-way). */
async function collect(stream: AsyncIterable<ChatEvent>, onDelta?: (count: number) => void): Promise<Collected> {
  const result: Collected = { deltas: [], usage: [], events: [] };
  try {
    for await (const event of stream) {
      result.events.push(event.type);
      if (event.type === 'usage') result.usage.push(event);
      else {
        result.deltas.push(event.text);
        onDelta?.(result.deltas.length);
      }
    }
  } catch (error) {
    result.error = error;
  }
  return result;
}

const SOURCES: Source[] = [
  {
    n: 1,
    title: 'Refund policy',
    pageNumber: 2,
    text: 'Customers may request a refund within 30 days of delivery. Refunds are paid to the original card.\nOpened software cannot be refunded.',
  },
  { n: 2, title: 'Shipping guide', pageNumber: 5, text: 'Parcels ship from Rotterdam every weekday. Tracking numbers arrive by email.' },
];

const HISTORY: ChatTurn[] = [
  { role: 'user', content: 'Hello' },
  { role: 'assistant', content: 'Hi! Ask me about your documents.' },
];

/** A TCP relay in front of the fake that notes when client connections close. */
async function startRelay(targetUrl: string) {
  const target = new URL(targetUrl);
  const closedAt: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => {
      closedAt.push(performance.now());
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    closedAt,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let gemini: FakeGemini;
beforeAll(async () => {
  gemini = await startFakeGemini();
});
afterAll(async () => {
  await gemini?.close();
});

describe('Gemini chat model', () => {
  let first: number;
  beforeEach(() => {
    first = gemini.requests.length;
  });
  const sent = () => gemini.requests.slice(first);
  const chat = (options: Partial<GeminiChatOptions> = {}) => createGeminiChatModel({ apiKey: 'test-key', baseUrl: gemini.baseUrl, ...options });
  const ask = (signal = new AbortController().signal) => ({
    question: 'How long do I have to ask for a refund?',
    sources: SOURCES,
    history: HISTORY,
    signal,
  });
  const PARTS = ['You have', ' 30 days from', ' delivery to ask', ' for a refund [1].'];

  it('streams the parts as deltas in order, then one usage event with the reported counts', async () => {
    gemini.setAnswer(PARTS);
    const model = chat();
    const result = await collect(model.stream(ask()));

    expect(result.error).toBeUndefined();
    expect(model.model).toBe('gemini-flash-latest');
    expect(result.deltas).toEqual(PARTS);
    expect(result.events).toEqual(['delta', 'delta', 'delta', 'delta', 'usage']);
    const [request] = sent();
    expect(sent()).toHaveLength(1);
    // The fake's own arithmetic: prompt = JSON body length / 4, candidates = answer length / 4.
    expect(result.usage).toEqual([
      { type: 'usage', inputTokens: Math.ceil(JSON.stringify(request!.body).length / 4), outputTokens: Math.ceil(PARTS.join('').length / 4) },
    ]);

    expect(request).toMatchObject({ url: '/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse', headers: { 'x-goog-api-key': 'test-key' } });
    const body = request!.body as { systemInstruction: { parts: { text: string }[] }; contents: { role: string; parts: { text: string }[] }[] };
    const system = body.systemInstruction.parts[0]!.text;
    expect(system).toContain('ONLY the numbered sources');
    expect(system).toMatch(/\[1\]/);
    expect(system).toContain('do not contain the answer');
    expect(body.contents.map((content) => content.role)).toEqual(['user', 'model', 'user']);
    expect(body.contents[1]!.parts[0]!.text).toBe('Hi! Ask me about your documents.');
    const user = body.contents[2]!.parts[0]!.text;
    expect(user).toContain('[1] (Refund policy, p. 2)\nCustomers may request a refund within 30 days');
    expect(user).toContain('[2] (Shipping guide, p. 5)\nParcels ship');
    expect(user.endsWith('Question: How long do I have to ask for a refund?')).toBe(true);
  });

  it('retries a 429 before the first token, with the same deltas', async () => {
    gemini.setAnswer(PARTS);
    gemini.script('streamGenerateContent', [{ status: 429, retryAfterSeconds: 0.05 }]);
    const result = await collect(chat().stream(ask()));
    expect(result.error).toBeUndefined();
    expect(result.deltas).toEqual(PARTS);
    expect(result.usage).toHaveLength(1);
    expect(sent()).toHaveLength(2);
  });

  it('fails with RATE_LIMITED, not retried, when a 429 asks for a longer wait than a user should get', async () => {
    gemini.script('streamGenerateContent', [{ status: 429, retryAfterSeconds: 3600 }]);
    const result = await collect(chat().stream(ask()));
    expect(result.error).toBeInstanceOf(ChatModelError);
    expect(result.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true, status: 429, retryAfterMs: 3_600_000 });
    expect(result.deltas).toEqual([]);
    expect(sent()).toHaveLength(1);
  });

  it('fails at once with PROVIDER_ERROR on a 400', async () => {
    gemini.script('streamGenerateContent', [{ status: 400, message: 'API key not valid' }]);
    const result = await collect(chat().stream(ask()));
    expect(result.error).toMatchObject({ name: 'ChatModelError', code: 'PROVIDER_ERROR', retryable: false, status: 400 });
    expect(sent()).toHaveLength(1);
  });

  it('retries a request that stalls before the first byte past timeoutMs', async () => {
    gemini.setAnswer(PARTS);
    gemini.script('streamGenerateContent', [{ stallMs: 5_000 }]);
    const started = performance.now();
    const result = await collect(chat({ timeoutMs: 200 }).stream(ask()));
    expect(result.error).toBeUndefined();
    expect(result.deltas).toEqual(PARTS);
    expect(sent()).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('fails with TIMEOUT once every attempt has stalled', async () => {
    gemini.script('streamGenerateContent', [{ stallMs: 5_000 }, { stallMs: 5_000 }]);
    const started = performance.now();
    const result = await collect(chat({ timeoutMs: 150, attempts: 2 }).stream(ask()));
    expect(result.error).toBeInstanceOf(ChatModelError);
    expect(result.error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(result.deltas).toEqual([]);
    expect(sent()).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('ends with TIMEOUT, without a retry, when the stream goes silent after text was emitted', async () => {
    gemini.setAnswer(PARTS, { eventDelayMs: 2_000 });
    const started = performance.now();
    const result = await collect(chat({ idleTimeoutMs: 150 }).stream(ask()));
    expect(result.error).toMatchObject({ name: 'ChatModelError', code: 'TIMEOUT' });
    expect(result.deltas).toEqual([PARTS[0]]);
    expect(result.usage).toEqual([]);
    expect(sent()).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('stops at once when the caller aborts mid-stream, closing the HTTP connection', async () => {
    const relay = await startRelay(gemini.baseUrl);
    try {
      const parts = Array.from({ length: 10 }, (_, i) => `part ${i} `);
      gemini.setAnswer(parts, { eventDelayMs: 100 });
      const controller = new AbortController();
      let abortedAt = 0;
      const model = createGeminiChatModel({ apiKey: 'test-key', baseUrl: relay.baseUrl });
      const result = await collect(model.stream(ask(controller.signal)), (count) => {
        if (count === 2) {
          abortedAt = performance.now();
          controller.abort();
        }
      });
      const endedAt = performance.now();

      expect(result.error).toBeInstanceOf(ChatModelError);
      expect(result.error).toMatchObject({ code: 'CANCELLED', retryable: false });
      expect(result.deltas).toEqual(parts.slice(0, 2));
      expect(result.usage).toEqual([]);
      expect(endedAt - abortedAt).toBeLessThan(200);
      // The relay saw the client's connection close right after the abort, long before the
      // fake would have finished its 1 s answer.
      await expect.poll(() => relay.closedAt.length, { timeout: 1_000 }).toBeGreaterThan(0);
      expect(relay.closedAt[0]! - abortedAt).toBeLessThan(300);
      expect(sent()).toHaveLength(1);
    } finally {
      await relay.close();
    }
  });

  it('ends with CANCELLED at once when aborted during the first-token wait', async () => {
    gemini.script('streamGenerateContent', [{ stallMs: 5_000 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const result = await collect(chat().stream(ask(controller.signal)));
    expect(result.error).toMatchObject({ name: 'ChatModelError', code: 'CANCELLED' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(sent()).toHaveLength(1);
  });
});

describe('prompt', () => {
  const turn = (role: ChatTurn['role'], label: string): ChatTurn => ({ role, content: `${label} `.padEnd(400, '.') });
  // Six turns of 100 estimated tokens each, oldest first.
  const history = [turn('user', 'q1'), turn('assistant', 'a1'), turn('user', 'q2'), turn('assistant', 'a2'), turn('user', 'q3'), turn('assistant', 'a3')];
  const labels = (turns: ChatTurn[]) => turns.map((t) => t.content.split(' ')[0]);

  it('keeps the newest whole turns within the token budget', () => {
    expect(estimateTokens(history[0]!.content)).toBe(100);
    expect(labels(trimHistory(history, 450))).toEqual(['q2', 'a2', 'q3', 'a3']);
    expect(labels(trimHistory(history, 10_000))).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3']);
    // 350 tokens fit a2, q3, a3; an answer without its question is dropped.
    expect(labels(trimHistory(history, 350))).toEqual(['q3', 'a3']);
    expect(trimHistory(history, 99)).toEqual([]);
    for (const budget of [99, 250, 350, 450, 599]) {
      const kept = trimHistory(history, budget);
      expect(kept.reduce((sum, t) => sum + estimateTokens(t.content), 0)).toBeLessThanOrEqual(budget);
      expect(kept.every((t) => history.includes(t))).toBe(true);
    }
  });

  it('skips empty turns and applies the default budget of 3000 tokens', () => {
    const long = Array.from({ length: 40 }, (_, i) => turn(i % 2 ? 'assistant' : 'user', `t${i}`));
    const prompt = buildPrompt({ question: 'q', sources: [], history: [...long, { role: 'user', content: '  ' }] });
    expect(labels(prompt.history)).toEqual(labels(long.slice(-30)));
  });

  it('lists the sources, appends the tenant instructions after the rules, and says when there are no sources', () => {
    const prompt = buildPrompt({ question: 'Where do parcels ship from?', sources: SOURCES, history: [], systemPrompt: 'Answer in a friendly tone.' });
    expect(prompt.systemInstruction).toMatch(/ONLY the numbered sources[\s\S]*cite|Cite/);
    expect(prompt.systemInstruction.indexOf('Answer in a friendly tone.')).toBeGreaterThan(prompt.systemInstruction.indexOf('ONLY'));
    expect(prompt.user).toBe(
      'Sources:\n\n[1] (Refund policy, p. 2)\n' +
        SOURCES[0]!.text +
        '\n\n[2] (Shipping guide, p. 5)\n' +
        SOURCES[1]!.text +
        '\n\nQuestion: Where do parcels ship from?',
    );
    expect(buildPrompt({ question: 'x', sources: [], history: [] }).user).toBe('Sources: none were found for this question.\n\nQuestion: x');
  });
});

describe('extractive chat model', () => {
  const ask = (question: string, sources = SOURCES, signal = new AbortController().signal) => ({ question, sources, history: [], signal });

  it('quotes the matching source sentences with [n] markers, streamed as several deltas', async () => {
    const model = createExtractiveChatModel();
    const result = await collect(model.stream(ask('How many days do I have to request a refund?')));
    const answer = result.deltas.join('');

    expect(model.model).toBe('local/extractive');
    expect(result.error).toBeUndefined();
    expect(answer).toContain('Customers may request a refund within 30 days of delivery. [1]');
    expect(answer).not.toContain('[2]');
    expect(answer).not.toContain('Rotterdam');
    // Every sentence is followed by its marker.
    expect(answer).toMatch(/^([^[\]]+ \[1\])( [^[\]]+ \[1\])*$/);
    expect(result.deltas.length).toBeGreaterThanOrEqual(3);
    expect(result.events.at(-1)).toBe('usage');
    expect(result.usage).toEqual([{ type: 'usage', inputTokens: expect.any(Number) as number, outputTokens: estimateTokens(answer) }]);
  });

  it('matches words across inflections and cites the source it quotes', async () => {
    const result = await collect(createExtractiveChatModel().stream(ask('When are parcels shipped?')));
    expect(result.deltas.join('')).toBe('Parcels ship from Rotterdam every weekday. [2]');
  });

  it('quotes a sentence repeated in overlapping chunks once, from the better-ranked source', async () => {
    const overlapping: Source[] = [
      { n: 1, title: 'Guide', pageNumber: 1, text: 'Tracking numbers arrive by email. Other text.' },
      { n: 2, title: 'Guide', pageNumber: 1, text: 'Tracking numbers arrive by email.' },
    ];
    const result = await collect(createExtractiveChatModel().stream(ask('tracking numbers', overlapping)));
    expect(result.deltas.join('')).toBe('Tracking numbers arrive by email. [1]');
  });

  it('says plainly that it could not find an answer, without citations', async () => {
    for (const [question, sources] of [
      ['What is the capital of Mongolia?', SOURCES],
      ['How do refunds work?', []],
      ['What is it?', SOURCES],
    ] as const) {
      const result = await collect(createExtractiveChatModel().stream(ask(question, [...sources])));
      expect(result.deltas.join('')).toBe(NOT_FOUND_ANSWER);
      expect(result.deltas.length).toBeGreaterThanOrEqual(3);
      expect(result.usage).toHaveLength(1);
    }
  });

  it('stops between deltas when the caller aborts', async () => {
    const controller = new AbortController();
    const model = createExtractiveChatModel({ deltaDelayMs: 15 });
    const full = await collect(model.stream(ask('How many days do I have to request a refund?')));
    const result = await collect(model.stream(ask('How many days do I have to request a refund?', SOURCES, controller.signal)), (count) => {
      if (count === 1) setTimeout(() => controller.abort(), 5);
    });
    expect(result.error).toMatchObject({ name: 'ChatModelError', code: 'CANCELLED' });
    expect(result.deltas.length).toBeGreaterThanOrEqual(1);
    expect(result.deltas.length).toBeLessThan(full.deltas.length);
    expect(result.usage).toEqual([]);
  });
});

describe('createChatModel', () => {
  it('uses Gemini when an API key is configured, the extractive answerer otherwise', () => {
    expect(createChatModel({}).model).toBe('local/extractive');
    expect(createChatModel({ geminiApiKey: 'k', geminiBaseUrl: gemini.baseUrl }).model).toBe('gemini-flash-latest');
    expect(createChatModel({ geminiApiKey: 'k', geminiChatModel: 'gemini-pro-latest' }).model).toBe('gemini-pro-latest');
  });
});
