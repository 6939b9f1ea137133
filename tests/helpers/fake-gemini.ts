// A local stand-in for the Gemini REST API (generativelanguage v1beta), speaking the shapes the
// @google/genai SDK sends and expects, so provider code is tested through the real SDK.
// The real SDK reaches it with
//   new GoogleGenAI({ apiKey, apiVersion: 'v1beta', httpOptions: { baseUrl: gemini.baseUrl } })
// apiVersion matters: @google/genai 3.x defaults to /v1, and this fake (like the documented shapes)
// serves /v1beta only, so a client that does not pin its API version fails here with a 404.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeRoute = 'batchEmbedContents' | 'streamGenerateContent';

/**
 * One scripted reply, used by the next request on its route. Every field is optional:
 * `stallMs` waits before answering (the client usually times out first), `status` other than 200
 * answers with a Gemini error body, `retryAfterSeconds` adds the hints a real 429 carries.
 */
export interface ScriptedReply {
  status?: number;
  stallMs?: number;
  retryAfterSeconds?: number;
  message?: string;
}

export interface RecordedRequest {
  route: FakeRoute | 'unknown';
  model: string;
  /** Path with query string, e.g. `/v1beta/models/m:streamGenerateContent?alt=sse`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** performance.now() when the request arrived, to assert back-off gaps. */
  receivedAt: number;
}

export interface AnswerOptions {
  /** Pause between streamed events, to test cancellation mid-answer. */
  eventDelayMs?: number;
  finishReason?: string;
}

export interface FakeGemini {
  /** Give this to the SDK as `httpOptions.baseUrl` (origin only: the SDK appends `/{apiVersion}/models/…`). */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  script(route: FakeRoute, replies: ScriptedReply[]): void;
  setAnswer(parts: string[], options?: AnswerOptions): void;
  close(): Promise<void>;
}

/** Vectors of gemini-embedding-001 have 3072 values unless outputDimensionality asks for fewer. */
const FULL_DIMENSIONS = 3072;
const MAX_BATCH = 100;
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export async function startFakeGemini(): Promise<FakeGemini> {
  const requests: RecordedRequest[] = [];
  const scripts = new Map<FakeRoute, ScriptedReply[]>();
  let answer: { parts: string[]; options: AnswerOptions } = { parts: ['This is a fake answer.'], options: {} };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, String(error));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? '/';
    const match = /^\/v1beta\/models\/([^/:?]+):(batchEmbedContents|streamGenerateContent)(\?|$)/.exec(url);
    const route = (match?.[2] as FakeRoute | undefined) ?? 'unknown';
    const text = await readBody(req);
    const record: RecordedRequest = {
      route,
      model: match?.[1] ?? '',
      url,
      headers: req.headers,
      body: parseJson(text),
      receivedAt: performance.now(),
    };
    requests.push(record);

    if (route === 'unknown' || req.method !== 'POST') return sendError(res, 404, `no route ${req.method} ${url} (the fake serves /v1beta only)`);
    const reply = scripts.get(route)?.shift() ?? {};
    if (reply.stallMs && !(await stall(reply.stallMs, res))) return;
    if (reply.status && reply.status !== 200) return sendError(res, reply.status, reply.message, reply.retryAfterSeconds);
    if (!req.headers['x-goog-api-key']) return sendError(res, 403, 'Method doesn\'t allow unregistered callers.');
    if (record.body === undefined) return sendError(res, 400, 'Invalid JSON payload received.');

    if (route === 'batchEmbedContents') return embed(record, res);
    return stream(record.body, res, answer);
  }

  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    script(route, replies) {
      scripts.set(route, [...(scripts.get(route) ?? []), ...replies]);
    },
    setAnswer(parts, options = {}) {
      answer = { parts, options };
    },
    close() {
      // Stalled requests hold their sockets open; end them so close() resolves.
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function embed(record: RecordedRequest, res: ServerResponse) {
  const batch = (record.body as { requests?: unknown }).requests;
  if (!Array.isArray(batch) || batch.length === 0) return sendError(res, 400, '* BatchEmbedContentsRequest.requests: must not be empty');
  if (batch.length > MAX_BATCH) return sendError(res, 400, `* BatchEmbedContentsRequest.requests: at most ${MAX_BATCH} requests can be in one batch`);
  const embeddings = [];
  for (const item of batch as Array<{ model?: string; content?: { parts?: Array<{ text?: string }> }; outputDimensionality?: number }>) {
    if (item.model !== `models/${record.model}`) {
      return sendError(res, 400, `* BatchEmbedContentsRequest.requests[].model: unexpected model ${item.model}, expected models/${record.model}`);
    }
    const text = (item.content?.parts ?? []).map((part) => part.text ?? '').join('');
    const dimensions = item.outputDimensionality ?? FULL_DIMENSIONS;
    embeddings.push({ values: fakeVector(text).slice(0, dimensions) });
  }
  sendJson(res, 200, { embeddings });
}

/**
 * Deterministic and loosely meaningful: each word adds ±1 at one hashed position in each quarter of
 * the 3072 values, so texts sharing words are similar and a 768-value truncation keeps every word.
 * The full vector is unit length, so a truncated one is not (as with the real model).
 */
export function fakeVector(text: string): number[] {
  const vector = new Array<number>(FULL_DIMENSIONS).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text];
  const quarter = FULL_DIMENSIONS / 4;
  for (const word of words) {
    const hash = createHash('sha256').update(word).digest();
    for (let q = 0; q < 4; q++) {
      const position = q * quarter + (hash.readUInt32BE(q * 4) % quarter);
      vector[position]! += (hash[16 + q]! & 1) === 0 ? 1 : -1;
    }
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}

async function stream(body: unknown, res: ServerResponse, answer: { parts: string[]; options: AnswerOptions }) {
  const promptTokenCount = Math.ceil(JSON.stringify(body).length / 4);
  const candidatesTokenCount = Math.ceil(answer.parts.join('').length / 4);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [index, text] of answer.parts.entries()) {
    if (index > 0 && answer.options.eventDelayMs && !(await stall(answer.options.eventDelayMs, res))) return;
    const last = index === answer.parts.length - 1;
    const event = {
      candidates: [
        {
          content: { role: 'model', parts: [{ text }] },
          index: 0,
          ...(last ? { finishReason: answer.options.finishReason ?? 'STOP' } : {}),
        },
      ],
      ...(last
        ? { usageMetadata: { promptTokenCount, candidatesTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount } }
        : {}),
    };
    res.write(`data: ${JSON.stringify(event)}\r\n\r\n`);
  }
  res.end();
}

/** Resolves true after `ms`, or false as soon as the client goes away (it aborted or timed out). */
function stall(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    res.once('close', onClose);
  });
}

function sendError(res: ServerResponse, code: number, message = `fake ${code}`, retryAfterSeconds?: number) {
  const status = STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
  // Real 429s carry the wait both as a header and as google.rpc.RetryInfo in the body.
  const details =
    retryAfterSeconds === undefined
      ? undefined
      : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` }];
  const headers: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterSeconds)) };
  sendJson(res, code, { error: { code, message, status, ...(details ? { details } : {}) } }, headers);
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(payload));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
