// The API under test for part 2 of bench:chat, as a process of its own (so its memory and
// event loop are measured apart from the 1,000 clients): the real app and server
// (createApp + startServer) with a ticking chat model.
//
// The model first yields a short preamble, then waits for the bench's start signal, then yields
// BENCH_DELTAS deltas BENCH_DELTA_MS apart, each stamped with the moment it was yielded. The
// preamble is saved at once (the first delta always is), so every subscriber receives it as the
// answer's text so far: the bench knows each subscription is live before any timed delta exists.
// On "start", waiting answers are released one after another, spread over one tick, so the
// answers' ticks interleave as independent conversations would instead of all firing together.
//
// stdout protocol: lines `@bench {json}` — {"event":"ready","url"} once, then {"event":"stats",
// "rssMb","heapMb","loopP99Ms","cpu"} every 200 ms, and {"event":"report","notify"} when asked.
// stdin: a line "start" releases waiting answers; "report" asks for the NOTIFY latencies.
// Anything else on stdout (logs) is not ours. SIGTERM closes everything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import readline from 'node:readline';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { EVENTS_CHANNEL, parseNotification } from '../src/pubsub.ts';
import { cancelled, type ChatModel } from '../src/providers/chat-model.ts';
import { startServer } from '../src/server.ts';
import { hashEmbedder } from '../tests/helpers/hash-embedder.ts';
import { PREAMBLE, readStamps, stampDelta, summarize, wallClock } from './chat-stats.ts';

const DELTAS = Number(process.env.BENCH_DELTAS ?? 20);
const DELTA_MS = Number(process.env.BENCH_DELTA_MS ?? 50);

const say = (message: object) => process.stdout.write(`@bench ${JSON.stringify(message)}\n`);

/** Answers waiting for the start signal, in arrival order. */
const waiting: (() => void)[] = [];

function release(): void {
  const batch = waiting.splice(0);
  batch.forEach((go, i) => setTimeout(go, (i * DELTA_MS) / batch.length));
}

const tickingModel: ChatModel = {
  model: 'bench/ticking',
  async *stream(request) {
    yield { type: 'delta', text: PREAMBLE };
    await new Promise<void>((resolve, reject) => {
      waiting.push(resolve);
      request.signal.addEventListener('abort', () => reject(cancelled(request.signal)), { once: true });
    });
    for (let seq = 0; seq < DELTAS; seq++) {
      if (seq > 0) await sleep(DELTA_MS, undefined, { signal: request.signal }).catch(() => Promise.reject(cancelled(request.signal)));
      yield { type: 'delta', text: stampDelta(seq) };
    }
    yield { type: 'usage', inputTokens: 100, outputTokens: DELTAS * 4 };
  },
};

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-chat-server-'));
const config = loadConfig({
  ...process.env,
  DATA_DIR: dataDir,
  RUN_WORKER: 'false',
  GRAPHIQL: 'false',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  // Thousands of questions and subscriptions from few members: no plan limit may interfere.
  DEFAULT_PLAN: 'ENTERPRISE',
  PLAN_LIMITS: JSON.stringify({ ENTERPRISE: { requestsPerMinute: null } }),
});
const app = await createApp(config, createLogger(config.logLevel), { inMemory: true, embedder: hashEmbedder(768), chatModel: tickingModel });
const server = await startServer(app, 0, '127.0.0.1');

// Where delivery time goes, first half: from the model yielding a delta to its NOTIFY coming
// back to this process (the app's own listener sees it at the same moment, on the same event
// loop). A listener of our own on the product's channel, so no product code is touched.
const notifyLatencies: number[] = [];
let listener: pg.Client | null = null;
if (config.databaseUrl) {
  listener = new pg.Client({ connectionString: config.databaseUrl });
  await listener.connect();
  listener.on('notification', (message) => {
    const at = wallClock();
    if (message.channel !== EVENTS_CHANNEL || !message.payload) return;
    const { topic, detail } = parseNotification(message.payload) as { topic?: string; detail?: { kind?: string; text?: string } };
    if (!topic?.startsWith('messageStream:') || detail?.kind !== 'delta' || !detail.text) return;
    for (const stamp of readStamps(detail.text)) notifyLatencies.push(at - stamp.at);
  });
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
}

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let cpu = process.cpuUsage();
let cpuAt = performance.now();
const stats = setInterval(() => {
  const memory = process.memoryUsage();
  const used = process.cpuUsage(cpu);
  const elapsedMs = performance.now() - cpuAt;
  say({
    event: 'stats',
    rssMb: Math.round(memory.rss / 2 ** 20),
    heapMb: Math.round(memory.heapUsed / 2 ** 20),
    loopP99Ms: Number((loop.percentile(99) / 1e6).toFixed(1)),
    /** Share of one core used since the last line. */
    cpu: Number(((used.user + used.system) / 1000 / elapsedMs).toFixed(2)),
  });
  loop.reset();
  cpu = process.cpuUsage();
  cpuAt = performance.now();
}, 200);
say({ event: 'ready', url: server.url, pid: process.pid });

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'start') release();
  if (line.trim() === 'report') say({ event: 'report', notify: notifyLatencies.length ? summarize(notifyLatencies) : null });
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(stats);
  await listener?.end();
  await server.close();
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
