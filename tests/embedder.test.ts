// Embedding providers: Gemini through the real @google/genai SDK against a local fake server,
// the embedded USE-lite model, and the stored vector form shared by both.
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMBEDDING_COLUMN_DIMENSIONS, EmbedderError, normalize, toStoredVector } from '../src/providers/embedder.ts';
import { createGeminiEmbedder, type GeminiEmbedderOptions } from '../src/providers/gemini-embedder.ts';
import { createEmbedder } from '../src/providers/index.ts';
import { createLocalEmbedder } from '../src/providers/local-embedder.ts';
import { fakeVector, startFakeGemini, type FakeGemini } from './helpers/fake-gemini.ts';

const cosine = (a: number[], b: number[]) => a.reduce((sum, value, i) => sum + value * b[i]!, 0) / (norm(a) * norm(b));
const norm = (v: number[]) => Math.hypot(...v);

let gemini: FakeGemini;
beforeAll(async () => {
  gemini = await startFakeGemini();
});
afterAll(async () => {
  await gemini?.close();
});

describe('Gemini embedder', () => {
  let first: number;
  beforeEach(() => {
    first = gemini.requests.length;
  });
  const sent = () => gemini.requests.slice(first);
  const embedder = (options: Partial<GeminiEmbedderOptions> = {}) =>
    createGeminiEmbedder({ apiKey: 'test-key', baseUrl: gemini.baseUrl, ...options });

  it('sends 250 texts as 3 requests of at most 100 and returns 768-d unit vectors in order', async () => {
    const texts = Array.from({ length: 250 }, (_, i) => `passage number ${i} about topic ${i % 7}`);
    const vectors = await embedder().embed(texts);

    expect(sent().map((r) => (r.body as { requests: unknown[] }).requests.length)).toEqual([100, 100, 50]);
    expect(vectors).toHaveLength(250);
    for (const vector of vectors) {
      expect(vector).toHaveLength(768);
      expect(norm(vector)).toBeCloseTo(1, 6);
    }
    // The fake truncates a unit 3072-d vector, so unit length here proves normalisation after truncation.
    expect(norm(fakeVector(texts[0]!).slice(0, 768))).toBeLessThan(0.9);
    expect(vectors[137]).toEqual(normalize(fakeVector(texts[137]!).slice(0, 768)));

    const [request] = sent();
    expect(request).toMatchObject({ route: 'batchEmbedContents', model: 'gemini-embedding-001' });
    expect(request?.url).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(request?.headers['x-goog-api-key']).toBe('test-key');
    expect((request?.body as { requests: unknown[] }).requests[0]).toEqual({
      model: 'models/gemini-embedding-001',
      content: { role: 'user', parts: [{ text: texts[0] }] },
      taskType: 'RETRIEVAL_DOCUMENT',
      outputDimensionality: 768,
    });
  });

  it('asks for query embeddings with RETRIEVAL_QUERY', async () => {
    await embedder().embed(['how do I reset my password?'], { task: 'query' });
    expect((sent()[0]?.body as { requests: unknown[] }).requests[0]).toMatchObject({ taskType: 'RETRIEVAL_QUERY' });
  });

  it('retries a 503 and succeeds', async () => {
    gemini.script('batchEmbedContents', [{ status: 503 }]);
    const vectors = await embedder().embed(['hello']);
    expect(vectors).toHaveLength(1);
    expect(sent()).toHaveLength(2);
  });

  it('fails at once, not retryable, on a 400', async () => {
    gemini.script('batchEmbedContents', [{ status: 400, message: 'API key not valid' }]);
    const failure = await embedder().embed(['hello']).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EmbedderError);
    expect(failure).toMatchObject({ retryable: false, status: 400 });
    expect(sent()).toHaveLength(1);
  });

  it('waits as long as a 429 asks (google.rpc.RetryInfo), then retries', async () => {
    gemini.script('batchEmbedContents', [{ status: 429, retryAfterSeconds: 0.3 }]);
    await embedder().embed(['hello']);
    const [refused, retried] = sent();
    expect(retried!.receivedAt - refused!.receivedAt).toBeGreaterThanOrEqual(290);
  });

  it('gives up at once, retryable, when a 429 asks for a longer wait than it will make', async () => {
    gemini.script('batchEmbedContents', [{ status: 429, retryAfterSeconds: 3600 }]);
    const failure = await embedder().embed(['hello']).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'EmbedderError', retryable: true, status: 429, retryAfterMs: 3_600_000 });
    expect(sent()).toHaveLength(1);
  });

  it('times out a stalled request and retries it', async () => {
    gemini.script('batchEmbedContents', [{ stallMs: 5_000 }]);
    const started = performance.now();
    const vectors = await embedder({ timeoutMs: 200 }).embed(['hello']);
    expect(vectors).toHaveLength(1);
    expect(sent()).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('reports a retryable timeout when every attempt stalls', async () => {
    gemini.script('batchEmbedContents', [{ stallMs: 5_000 }, { stallMs: 5_000 }]);
    const failure = await embedder({ timeoutMs: 100, attempts: 2 }).embed(['hello']).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'EmbedderError', retryable: true });
    expect(sent()).toHaveLength(2);
  });

  it('stops at once when the caller aborts a request in flight', async () => {
    gemini.script('batchEmbedContents', [{ stallMs: 5_000 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    await expect(embedder().embed(['hello'], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(sent()).toHaveLength(1);
  });

  it('stops at once when the caller aborts during a back-off', async () => {
    gemini.script('batchEmbedContents', [{ status: 429, retryAfterSeconds: 20 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    await expect(embedder().embed(['hello'], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(sent()).toHaveLength(1);
  });
});

describe('fake Gemini streaming (for chat model tests)', () => {
  const client = () => new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1beta', httpOptions: { baseUrl: gemini.baseUrl } });

  it('streams the scripted answer through the real SDK, with usage on the last event', async () => {
    gemini.setAnswer(['Hello', ' world', ' [1]']);
    const stream = await client().models.generateContentStream({
      model: 'gemini-flash-latest',
      contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }],
      config: { systemInstruction: 'Answer from the sources.' },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.text)).toEqual(['Hello', ' world', ' [1]']);
    expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(chunks.at(-1)?.usageMetadata).toMatchObject({ candidatesTokenCount: expect.any(Number) as number });
    expect(gemini.requests.at(-1)).toMatchObject({
      route: 'streamGenerateContent',
      url: '/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse',
      body: { systemInstruction: { parts: [{ text: 'Answer from the sources.' }] } },
    });
  });

  it('answers scripted errors on the streaming route', async () => {
    gemini.script('streamGenerateContent', [{ status: 503 }]);
    const request = client().models.generateContentStream({ model: 'gemini-flash-latest', contents: 'hi' });
    await expect(request).rejects.toMatchObject({ status: 503 });
  });
});

describe('local embedder (USE-lite)', () => {
  const local = createLocalEmbedder();

  it('returns deterministic 512-d unit vectors, one per text, empty text included', async () => {
    const texts = ['How do I reset my password?', '', 'Quarterly revenue grew by 12%.'];
    const vectors = await local.embed(texts);
    expect(local).toMatchObject({ model: 'local/use-lite', dimensions: 512 });
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) {
      expect(vector).toHaveLength(512);
      expect(norm(vector)).toBeCloseTo(1, 6);
    }
    // Same text, another batch composition: same vector.
    const [again] = await local.embed(['Quarterly revenue grew by 12%.']);
    expect(cosine(again!, vectors[2]!)).toBeCloseTo(1, 5);
  });

  it('places related sentences closer than unrelated ones', async () => {
    const [question, related, unrelated] = await local.embed([
      'How do I reset my password?',
      'Steps to change your account password',
      'The Siege of Vicksburg lasted 47 days',
    ]);
    expect(cosine(question!, related!)).toBeGreaterThan(cosine(question!, unrelated!) + 0.2);
  });

  it('stops between runs when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(local.embed(['a', 'b'], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('createEmbedder', () => {
  it('uses Gemini when an API key is configured, the local model otherwise', () => {
    expect(createEmbedder({}).model).toBe('local/use-lite');
    expect(createEmbedder({ geminiApiKey: 'k', geminiBaseUrl: gemini.baseUrl })).toMatchObject({
      model: 'gemini-embedding-001',
      dimensions: 768,
      maxBatchSize: 100,
    });
  });
});

describe('toStoredVector', () => {
  it('normalises, zero-pads to the column width and keeps cosine similarity', () => {
    const a = [3, 4, 0, 1];
    const b = [1, 2, 2, 0];
    const storedA = toStoredVector(a);
    const storedB = toStoredVector(b);
    expect(storedA).toHaveLength(EMBEDDING_COLUMN_DIMENSIONS);
    expect(norm(storedA)).toBeCloseTo(1, 12);
    expect(storedA.slice(4).every((value) => value === 0)).toBe(true);
    expect(cosine(storedA, storedB)).toBeCloseTo(cosine(a, b), 12);
  });

  it('rejects vectors wider than the column, and zero vectors', () => {
    expect(() => toStoredVector(new Array<number>(769).fill(1))).toThrow(RangeError);
    expect(() => toStoredVector([0, 0, 0])).toThrow(RangeError);
  });
});
