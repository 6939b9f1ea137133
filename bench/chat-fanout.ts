// Part 2 of bench:chat — 1,000 concurrent streaming subscriptions on one API instance.
//
// The API runs as a child process (bench/chat-server.ts). Through its public GraphQL API the
// bench signs up one user per answer, opens a chat session and sends a question; the child's
// model says a preamble and then waits. 1,000 graphql-ws clients (20 per answer: an answer is
// private to its asker, so these are that person's tabs and devices) connect with the owner's
// token and subscribe to `messageStream`. Each subscription's first event is the preamble, caught
// up from the database — proof that it is live — and only when all 1,000 are live does the
// bench send "start". Every timed delta carries the moment the model yielded it; its delivery
// latency is the client's clock on arrival minus that stamp (same machine, same clock).
// Mid-stream, extra clients join late: they must still get the full text (counted apart).
import { spawn, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { fmt, PREAMBLE, readStamps, round, summarize, wallClock, type Summary } from './chat-stats.ts';

export interface FanOutOptions {
  /** A real PostgreSQL for the child; unset → the child's embedded PGlite. */
  databaseUrl: string | undefined;
  answers: number;
  subscribersPerAnswer: number;
  deltas: number;
  deltaMs: number;
  lateJoiners: number;
}

export interface FanOutResult {
  subscriptions: number;
  connectMs: number;
  connectEach: Summary;
  subscribeMs: number;
  delivery: Summary;
  deltasDelivered: number;
  deltasExpected: number;
  /** Timed deltas that arrived merged into a catch-up from the database instead of live. */
  deltasCaughtUp: number;
  /** Subscribers whose streamed text equals the final message, which is COMPLETE. */
  textsExact: number;
  lateJoiners: number;
  lateJoinersFullText: number;
  rssStartMb: number;
  rssIdleMb: number;
  rssConnectedMb: number;
  rssPeakMb: number;
  serverLoopDelayP99Ms: number;
  /** Highest share of one core the server used in a 200 ms sample while streaming. */
  serverCpuPeak: number;
  clientLoopDelayP99Ms: number;
  /** Model yield → the delta's NOTIFY back in the server process (PostgreSQL only). */
  notify: Summary | null;
}

const STREAM = `subscription BenchStream($messageId: ID!) {
  messageStream(messageId: $messageId) { delta done message { id status content } }
}`;

interface Received {
  at: number;
  delta: string | null;
  status: string | null;
  content: string | null;
}

interface Subscriber {
  messageId: string;
  events: Received[];
  errors: unknown[];
  /** Resolves on the first event (the subscription is live). */
  live: Promise<void>;
  /** Resolves when the server completes the subscription, or it fails. */
  finished: Promise<void>;
}

interface Stats {
  at: number;
  rssMb: number;
  heapMb: number;
  loopP99Ms: number;
  /** Share of one core the server used over the sample's 200 ms. */
  cpu: number;
}

const now = () => performance.now();

export async function measureFanOut(options: FanOutOptions): Promise<FanOutResult> {
  const total = options.answers * options.subscribersPerAnswer;
  const server = await startChild(options);
  const clients: Client[] = [];
  try {
    const url = server.url;
    const rssStartMb = server.latest().rssMb;

    // One user (tenant admin) per answer, a session each, and the question.
    const runId = Date.now().toString(36);
    const owners: { token: string; messageId: string }[] = [];
    await inBatches(options.answers, 5, async (i) => {
      const slug = `fanout-${runId}-${i}`;
      const { signUp } = await gql<{ signUp: { token: string } }>(
        url,
        `mutation($slug: String!, $email: String!) {
           signUp(tenantName: "Fan-out bench", tenantSlug: $slug, name: "Bench", email: $email, password: "benchmark password") { token }
         }`,
        { slug, email: `owner@${slug}.test` },
      );
      const token = signUp.token;
      const { createChatSession } = await gql<{ createChatSession: { id: string } }>(url, 'mutation { createChatSession { id } }', {}, token);
      const { sendMessage } = await gql<{ sendMessage: { id: string } }>(
        url,
        'mutation($sessionId: ID!, $content: String!) { sendMessage(sessionId: $sessionId, content: $content) { id } }',
        { sessionId: createChatSession.id, content: `Question ${i}: how are answers streamed to many subscribers?` },
        token,
      );
      owners[i] = { token, messageId: sendMessage.id };
    });
    // Every answer has said its preamble and saved it: from now on a subscriber's first event is that text.
    for (const owner of owners) {
      await waitFor(async () => {
        const { node } = await gql<{ node: { content: string } | null }>(
          url,
          'query($id: ID!) { node(id: $id) { ... on ChatMessage { content } } }',
          { id: owner.messageId },
          owner.token,
        );
        return node?.content === PREAMBLE;
      }, 'the preamble of every answer to be saved');
    }
    await sleep(1000);
    const rssIdleMb = server.latest().rssMb;
    console.log(`server up (RSS ${rssStartMb} MB at start); ${options.answers} answers waiting; RSS idle ${rssIdleMb} MB`);

    // Connect all clients at once, as after a deploy or a network blip.
    const connectingFrom = Date.now();
    const connectStart = now();
    const connected = Array.from({ length: total }, (_, i) => {
      const { client, ready } = connect(url, owners[i % options.answers]!.token);
      clients.push(client);
      return ready;
    });
    const connectTimes = (await within(Promise.all(connected), 60_000, 'clients to connect')).map((t) => t - connectStart);
    const connectMs = round(Math.max(...connectTimes));
    const connectEach = summarize(connectTimes);
    console.log(`${total} clients connected in ${connectMs} ms (each: ${fmt(connectEach)})`);

    const subscribeStart = now();
    const subscribers = clients.map((client, i) => subscribe(client, owners[i % options.answers]!.messageId));
    await within(Promise.all(subscribers.map((s) => s.live)), 60_000, 'every subscription to be live');
    const subscribeMs = round(now() - subscribeStart);
    await sleep(500);
    const rssConnectedMb = server.latest().rssMb;
    console.log(`${total} subscriptions live in ${subscribeMs} ms; server RSS ${rssConnectedMb} MB`);

    // Go: the answers tick; halfway through, late joiners subscribe.
    const clientLoop = monitorEventLoopDelay({ resolution: 5 });
    clientLoop.enable();
    const streamingFrom = Date.now();
    server.start();
    await sleep((options.deltas * options.deltaMs) / 2);
    const late = Array.from({ length: options.lateJoiners }, (_, j) => {
      const owner = owners[j % options.answers]!;
      const { client, ready } = connect(url, owner.token);
      clients.push(client);
      return ready.then(() => subscribe(client, owner.messageId));
    });
    const lateSubscribers = await within(Promise.all(late), 60_000, 'late joiners to connect');
    await within(
      Promise.all([...subscribers, ...lateSubscribers].map((s) => s.finished)),
      options.deltas * options.deltaMs + 60_000,
      'every answer to finish',
    );
    clientLoop.disable();
    await sleep(400); // one more stats sample after the end
    const during = server.samples.filter((s) => s.at >= streamingFrom);
    const rssPeakMb = Math.max(rssConnectedMb, ...server.samples.filter((s) => s.at >= connectingFrom).map((s) => s.rssMb));
    const serverLoopDelayP99Ms = Math.max(0, ...during.map((s) => s.loopP99Ms));
    const serverCpuPeak = Math.max(0, ...during.map((s) => s.cpu));
    const notify = await server.report();

    // What the live subscribers received.
    const latencies: number[] = [];
    let delivered = 0;
    let caughtUp = 0;
    let exact = 0;
    const errors: unknown[] = [];
    for (const s of subscribers) {
      errors.push(...s.errors);
      const seen = new Set<number>();
      for (const event of s.events) {
        if (!event.delta) continue;
        const stamps = readStamps(event.delta);
        // A live delta carries exactly one stamp; several means a catch-up from the database.
        if (stamps.length === 1) latencies.push(event.at - stamps[0]!.at);
        else caughtUp += stamps.length;
        for (const stamp of stamps) seen.add(stamp.seq);
      }
      delivered += seen.size;
      if (isExact(s, options.deltas)) exact++;
    }
    const lateFull = lateSubscribers.filter((s) => isExact(s, options.deltas)).length;
    for (const s of lateSubscribers) errors.push(...s.errors);
    if (errors.length) console.log(`subscription errors: ${errors.length}, first: ${describe(errors[0])}`);

    const delivery = summarize(latencies);
    const result: FanOutResult = {
      subscriptions: total,
      connectMs,
      connectEach,
      subscribeMs,
      delivery,
      deltasDelivered: delivered,
      deltasExpected: total * options.deltas,
      deltasCaughtUp: caughtUp,
      textsExact: exact,
      lateJoiners: lateSubscribers.length,
      lateJoinersFullText: lateFull,
      rssStartMb,
      rssIdleMb,
      rssConnectedMb,
      rssPeakMb,
      serverLoopDelayP99Ms,
      serverCpuPeak,
      clientLoopDelayP99Ms: round(clientLoop.percentile(99) / 1e6),
      notify,
    };
    console.log(`delivery latency (model yield → client receive): ${fmt(delivery)}`);
    if (notify) console.log(`  of which model yield → NOTIFY back in the server: ${fmt(notify)}`);
    console.log(`deltas delivered ${delivered} of ${result.deltasExpected} (${caughtUp} via catch-up); exact texts ${exact}/${total}`);
    console.log(`late joiners with the full text: ${lateFull}/${lateSubscribers.length}`);
    console.log(`server RSS: idle ${rssIdleMb} MB → ${rssConnectedMb} MB with ${total} subscriptions → peak ${rssPeakMb} MB while streaming`);
    console.log(`while streaming: server event-loop delay p99 ${serverLoopDelayP99Ms} ms, CPU up to ${Math.round(serverCpuPeak * 100)}% of a core; bench clients' loop delay p99 ${result.clientLoopDelayP99Ms} ms`);
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await server.stop();
  }
}

/** The subscriber saw the preamble, every timed delta once, and a COMPLETE message equal to its text. */
function isExact(s: Subscriber, deltas: number): boolean {
  const last = s.events.at(-1);
  const text = s.events.map((e) => e.delta ?? '').join('');
  const seqs = readStamps(text).map((x) => x.seq);
  return (
    last?.status === 'COMPLETE' &&
    last.content === text &&
    text.startsWith(PREAMBLE) &&
    seqs.length === deltas &&
    seqs.every((seq, i) => seq === i)
  );
}

function connect(url: string, token: string): { client: Client; ready: Promise<number> } {
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false, // connect now, so connecting is timed apart from subscribing
    retryAttempts: 0,
    onNonLazyError: reject,
    on: { connected: () => resolve(now()) },
  });
  return { client, ready: promise };
}

function subscribe(client: Client, messageId: string): Subscriber {
  const live = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  const subscriber: Subscriber = { messageId, events: [], errors: [], live: live.promise, finished: finished.promise };
  client.subscribe<{ messageStream: { delta: string | null; message: { status: string; content: string } | null } }>(
    { query: STREAM, variables: { messageId } },
    {
      // Hot path: take the time first, keep the rest for later.
      next: (result) => {
        const at = wallClock();
        const event = result.data?.messageStream;
        if (result.errors) subscriber.errors.push(...result.errors);
        if (event) {
          subscriber.events.push({ at, delta: event.delta, status: event.message?.status ?? null, content: event.message?.content ?? null });
        }
        live.resolve();
      },
      error: (error) => {
        subscriber.errors.push(error);
        live.resolve();
        finished.resolve();
      },
      complete: () => {
        live.resolve();
        finished.resolve();
      },
    },
  );
  return subscriber;
}

interface Child {
  url: string;
  samples: Stats[];
  latest(): Stats;
  start(): void;
  report(): Promise<Summary | null>;
  stop(): Promise<void>;
}

async function startChild(options: FanOutOptions): Promise<Child> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JWT_SECRET: 'fanout-secret-fanout-secret-fanout-secret-01',
    BENCH_DELTAS: String(options.deltas),
    BENCH_DELTA_MS: String(options.deltaMs),
  };
  // e.g. BENCH_CHAT_SERVER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server alone.
  if (process.env.BENCH_CHAT_SERVER_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_CHAT_SERVER_NODE_OPTIONS;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  else delete env.DATABASE_URL;
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL('./chat-server.ts', import.meta.url))], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const samples: Stats[] = [];
  const ready = Promise.withResolvers<string>();
  let reported = Promise.withResolvers<Summary | null>();
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('@bench ')) {
      process.stderr.write(`[server] ${line}\n`);
      return;
    }
    const message = JSON.parse(line.slice(7)) as { event: string; url?: string; notify?: Summary | null } & Omit<Stats, 'at'>;
    if (message.event === 'ready') ready.resolve(message.url!);
    if (message.event === 'report') reported.resolve(message.notify ?? null);
    if (message.event === 'stats') {
      samples.push({ at: Date.now(), rssMb: message.rssMb, heapMb: message.heapMb, loopP99Ms: message.loopP99Ms, cpu: message.cpu });
    }
  });
  void exited.then((code) => ready.reject(new Error(`bench/chat-server.ts exited (${code}) before it was ready`)));
  const url = await within(ready.promise, 60_000, 'the server to start');
  await waitFor(() => samples.length > 0, 'a first stats line');
  return {
    url,
    samples,
    latest: () => samples.at(-1)!,
    start: () => void child.stdin!.write('start\n'),
    async report() {
      reported = Promise.withResolvers();
      child.stdin!.write('report\n');
      return within(reported.promise, 10_000, 'the server report');
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function gql<T>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function inBatches(count: number, width: number, run: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < count; i = next++) await run(i);
  }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'code' in error) return `close ${String((error as { code: unknown }).code)}`;
  return JSON.stringify(error);
}
