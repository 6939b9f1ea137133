// Closed-loop HTTP/1.1 load generator for bench/graphql.ts, run in a process of its own so it
// does not share an event loop with the servers it measures. `connections` keep-alive sockets
// each send one request, wait for the whole response, and send the next. Requests are
// pre-encoded bytes and responses are parsed by hand (status line, Content-Length or chunked),
// which costs far less CPU per request than node:http's client.
//
//   node bench/graphql-load.ts '<json LoadSpec>'   → {"window":"start"}, {"window":"end"}, then {"result":LoadResult}
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** The response body must contain this (checked on every response), e.g. '"data":{"me"'. */
  expect: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Non-200 responses, bodies without `expect`, socket errors — any is a failed run. */
  failures: number;
  firstFailure: string | null;
  /** CPU time of this process per wall second during the measured window (1 = one core). */
  loadGeneratorCpu: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

function encodeRequest(spec: LoadSpec): Buffer {
  const url = new URL(spec.url);
  const body = Buffer.from(spec.body);
  const lines = [
    `POST ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    'Connection: keep-alive',
    'Content-Type: application/json',
    'Accept: application/graphql-response+json, application/json',
    ...Object.entries(spec.headers).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${body.length}`,
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]);
}

/** Where the complete response in `buffer` ends, or -1 if more bytes are needed. */
function responseEnd(buffer: Buffer, headerEnd: number, headers: string): number {
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
  if (length) {
    const end = headerEnd + Number(length[1]);
    return buffer.length >= end ? end : -1;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) {
    let at = headerEnd;
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return -1;
      const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
      const next = lineEnd + 2 + size + 2;
      if (buffer.length < next) return -1;
      if (size === 0) return next;
      at = next;
    }
  }
  throw new Error(`response without Content-Length or chunked encoding: ${headers.slice(0, 200)}`);
}

function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

export interface LoadHooks {
  /** Called as the measured window opens and closes (after the warm-up). */
  onWindow?(phase: 'start' | 'end'): void;
}

export async function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  const url = new URL(spec.url);
  const request = encodeRequest(spec);
  const expected = Buffer.from(spec.expect);
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | null = null;
  let measuring = false;
  let stopping = false;
  const fail = (why: string) => {
    failures++;
    firstFailure ??= why;
  };

  const connection = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
      let buffer: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = () => {
        if (stopping) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (data: Buffer) => {
        buffer = buffer.length ? Buffer.concat([buffer, data]) : data;
        for (;;) {
          const headerEnd = buffer.indexOf(HEADER_END);
          if (headerEnd < 0) return;
          const headers = buffer.subarray(0, headerEnd).toString('latin1');
          const end = responseEnd(buffer, headerEnd + 4, headers);
          if (end < 0) return;
          const elapsed = performance.now() - sentAt;
          const status = headers.slice(9, 12);
          let body: Buffer = buffer.subarray(headerEnd + 4, end);
          if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) body = dechunk(body);
          if (status !== '200') fail(`HTTP ${status}: ${body.subarray(0, 300).toString()}`);
          else if (body.indexOf(expected) < 0) fail(`unexpected body: ${body.subarray(0, 300).toString()}`);
          else if (measuring) latencies.push(elapsed);
          buffer = buffer.subarray(end);
          send();
        }
      });
      socket.on('error', (error) => {
        fail(`socket error: ${error.message}`);
        resolve();
      });
      socket.on('close', () => resolve());
    });

  const sockets = Array.from({ length: spec.connections }, () => connection());
  await new Promise((resolve) => setTimeout(resolve, spec.warmupSeconds * 1000));
  measuring = true;
  hooks.onWindow?.('start');
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, spec.durationSeconds * 1000));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  hooks.onWindow?.('end');
  stopping = true;
  await Promise.all(sockets);

  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! : NaN);
  const round = (x: number) => Number(x.toFixed(2));
  return {
    requests: latencies.length,
    seconds: round(seconds),
    rps: round(latencies.length / seconds),
    p50Ms: round(at(0.5)),
    p90Ms: round(at(0.9)),
    p99Ms: round(at(0.99)),
    maxMs: round(latencies.at(-1) ?? NaN),
    failures,
    firstFailure,
    loadGeneratorCpu: round((cpu.user + cpu.system) / 1e6 / seconds),
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  // The window markers let the parent sample the server's CPU over the same interval.
  const result = await runLoad(spec, { onWindow: (phase) => console.log(JSON.stringify({ window: phase })) });
  console.log(JSON.stringify({ result }));
}
