// bench:graphql — throughput and p99 latency of typical authenticated queries over HTTP
// keep-alive, as ratios to a bare graphql-yoga hello world measured in the same run on the
// same machine (these machines are small and shared: only the ratios travel).
//   me         { me { id name email role } tenant { id name slug } }
//   documents  a 20-document page with each uploader (documents(first: 20) { … uploadedBy { id name } })
//   bare       { hello } on createYoga({ schema: createSchema(…) }) over node:http
// `me` and `documents` are measured twice: on the API as configured by default, whose response
// cache answers repeated reads (src/response-cache.ts), and on a second API process with the
// cache off (RESPONSE_CACHE_TTL_MS=0: meUncached, documentsUncached) — what every read costs
// right after a change to the tenant's data. `documentsMiss` runs on a third API whose cache is
// on but too small for any answer (RESPONSE_CACHE_MAX_MB of one byte): every request pays the
// cache's work on a miss (building its key, the lookup, measuring the answer to store it) and
// is then executed.
// Each server is a child process (`node src/server.ts` exactly as `npm start` runs it, and
// bench/graphql-bare-server.ts); the load comes from a third process (bench/graphql-load.ts):
// BENCH_CONNECTIONS keep-alive connections (default 32), closed loop, BENCH_WARMUP_SECONDS
// (3) of warm-up then BENCH_SECONDS (10) measured, BENCH_ROUNDS (2) rounds in the order
// bare, me, documents then reversed, so a drift of the machine's load hits all alike.
// Database: DATABASE_URL (a real PostgreSQL — the meaningful setting: the API answers from a
// separate server process, as deployed) or else the embedded PGlite inside the API process.
// BENCH_CPU_PROF=<dir> runs each API process under --cpu-prof and writes its profile there (<name>.cpuprofile)
// (summarise it with `node bench/cpuprofile-top.ts <file>`).
// BENCH_SCENARIOS=me or =documents measures only that query (and bare), e.g. for a profile of one.
// BENCH_COMPARE_DIRS=<checkout>[,<checkout>…] also starts each checkout's src/server.ts on the
// same database and measures it in the same rounds (me@<dir name>, documents@<dir name>): an
// A/B of candidate changes against the current code, under the same machine load.
// Human-readable progress first; the LAST line is one JSON object with the figures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startApiProcess,
  startNodeProcess,
  startWorkerProcess,
  type LogLine,
  type NodeProcess,
} from '../tests/helpers/node-process.ts';
import { fetchMetrics, responseCacheLookups } from '../tests/helpers/metrics.ts';
import type { LoadResult, LoadSpec } from './graphql-load.ts';

const BARE_SERVER = fileURLToPath(new URL('./graphql-bare-server.ts', import.meta.url));
const LOAD_GENERATOR = fileURLToPath(new URL('./graphql-load.ts', import.meta.url));

const intEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 32);
const SECONDS = intEnv('BENCH_SECONDS', 10);
const WARMUP_SECONDS = intEnv('BENCH_WARMUP_SECONDS', 3);
const ROUNDS = intEnv('BENCH_ROUNDS', 2);
const DOCUMENTS = 24;
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null;
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'me,documents').split(',').filter(Boolean));
const COMPARE_DIRS = (process.env.BENCH_COMPARE_DIRS ?? '').split(',').filter(Boolean).map((dir) => path.resolve(dir));
const databaseUrl = process.env.DATABASE_URL;
const database = databaseUrl ? 'postgres' : 'embedded';

const ME_QUERY = 'query Me { me { id name email role } tenant { id name slug } }';
const DOCUMENTS_QUERY =
  'query Documents { documents(first: 20) { edges { node { id title status byteSize chunkCount createdAt uploadedBy { id name } } } pageInfo { hasNextPage endCursor } } }';
const BARE_QUERY = '{ hello }';

const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const log = (message: string) => console.log(message);

// ---- processes ----------------------------------------------------------------------------

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-graphql-'));
const processes: NodeProcess[] = [];
const cleanup = async () => {
  await Promise.all(processes.map((p) => p.stop(5_000)));
  fs.rmSync(dataDir, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));

const productEnv: NodeJS.ProcessEnv = {
  ...process.env,
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: dataDir,
  JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
  // API instances of a scale-out; the embedded database keeps its worker in the API process.
  RUN_WORKER: databaseUrl ? 'false' : 'true',
  // The per-member rate limit runs on every request (its cost is part of the figure), with a
  // limit the load never reaches: a refused request would be cheaper than a real one.
  DEFAULT_PLAN: 'ENTERPRISE',
  PLAN_LIMITS: JSON.stringify({ ENTERPRISE: { requestsPerMinute: 1_000_000_000 } }),
};
delete productEnv.GEMINI_API_KEY; // the embedded models: no network in a benchmark

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: T; errors?: unknown[] };
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Busy and total CPU time of the whole machine so far, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

interface Measured extends LoadResult {
  /** CPU of the server process per wall second during the window (1 = one core). */
  serverCpu: number;
  /** Share of the whole machine busy during the window (all processes, others' included). */
  machineBusy: number;
}

async function measureLoad(name: string, server: NodeProcess, spec: LoadSpec): Promise<Measured> {
  const load = startNodeProcess({
    name: `load-${name}`,
    script: LOAD_GENERATOR,
    args: [JSON.stringify(spec)],
    env: process.env,
  });
  const isWindow = (phase: string) => (line: LogLine) => line.window === phase;
  const timeout = (WARMUP_SECONDS + SECONDS) * 1000 + 30_000;
  await load.waitForLog(isWindow('start'), 'the measured window', timeout);
  const pid = server.child.pid!;
  const cpu0 = processCpuSeconds(pid);
  const machine0 = machineCpu();
  await load.waitForLog(isWindow('end'), 'the end of the window', timeout);
  const cpu1 = processCpuSeconds(pid);
  const machine1 = machineCpu();
  const { result } = (await load.waitForLog((l) => 'result' in l, 'the result', 30_000)) as LogLine & { result: LoadResult };
  await load.exited();
  if (result.failures) throw new Error(`${name}: ${result.failures} failed requests, first: ${result.firstFailure}`);
  return {
    ...result,
    serverCpu: round((cpu1 - cpu0) / result.seconds, 2),
    machineBusy: round((machine1.busy - machine0.busy) / (machine1.total - machine0.total), 2),
  };
}

// ---- setup --------------------------------------------------------------------------------

log(`bench:graphql — database: ${database}${databaseUrl ? '' : ' (set DATABASE_URL for the meaningful setting: a real PostgreSQL)'}`);
log(`${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per measurement, ${ROUNDS} round(s), ${os.cpus().length} CPUs`);

try {
  const bare = startNodeProcess({ name: 'bare', script: BARE_SERVER, env: { ...process.env, PORT: '0' } });
  processes.push(bare);
  const bareUrl = (await bare.waitForLog((l) => l.msg === 'ready', 'the bare server')).url as string;

  if (CPU_PROF_DIR) fs.mkdirSync(CPU_PROF_DIR, { recursive: true });
  /** Each API process, profiled into `<name>.cpuprofile` when BENCH_CPU_PROF is set. */
  const startApi = async (name: string, env: NodeJS.ProcessEnv) => {
    const execArgv = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
    const started = await startApiProcess(name, env, { execArgv, timeoutMs: 120_000 });
    processes.push(started);
    return started;
  };
  const api = await startApi('api', productEnv);
  const uncachedApi = await startApi('api-uncached', { ...productEnv, RESPONSE_CACHE_TTL_MS: '0' });
  const missApi = await startApi('api-miss', { ...productEnv, RESPONSE_CACHE_MAX_MB: '0.000001' });
  log(`bare server ${bareUrl}; API ${api.url}; API without the response cache ${uncachedApi.url}`);
  const candidates: { label: string; dir: string; api: NodeProcess & { url: string } }[] = [];
  for (const dir of COMPARE_DIRS) {
    const label = path.basename(dir);
    const candidate = await startApiProcess(`api@${label}`, productEnv, { script: path.join(dir, 'src/server.ts'), timeoutMs: 120_000 });
    processes.push(candidate);
    candidates.push({ label, dir, api: candidate });
    log(`candidate API ${label} (${dir}) ${candidate.url}`);
  }

  // Seed: a tenant, its ADMIN and DOCUMENTS ingested documents.
  const started = Date.now();
  const slug = `bench-${Date.now().toString(36)}`;
  const { signUp } = await gql<{ signUp: { token: string } }>(
    api.url,
    'mutation($slug: String!) { signUp(tenantName: "Bench", tenantSlug: $slug, name: "Bench Admin", email: "admin@bench.test", password: "benchmark password") { token } }',
    { slug },
  );
  const token = signUp.token;
  for (let i = 0; i < DOCUMENTS; i++) {
    const content = Array.from(
      { length: 6 },
      (_, j) => `Document ${i} paragraph ${j}: the quarterly report ${i * 7 + j} discusses revenue, staffing and plans.`,
    ).join(' ');
    await gql(api.url, 'mutation($t: String!, $c: String!) { addTextDocument(title: $t, content: $c) { document { id } } }', { t: `Report ${i}`, c: content }, token);
  }
  const worker = databaseUrl ? await startWorkerProcess('worker', productEnv, { timeoutMs: 120_000 }) : null;
  if (worker) processes.push(worker);
  for (;;) {
    const { documents } = await gql<{ documents: { edges: { node: { status: string } }[] } }>(
      api.url,
      'query { documents(first: 100) { edges { node { status } } } }',
      {},
      token,
    );
    const statuses = documents.edges.map((e) => e.node.status);
    if (statuses.includes('FAILED')) throw new Error('a seeded document FAILED ingestion');
    if (statuses.filter((s) => s === 'READY').length >= DOCUMENTS) break;
    if (Date.now() - started > 300_000) throw new Error('seeded documents did not become READY within 300 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // The measured API serves requests only: the seeding worker is gone (on PostgreSQL).
  if (worker) {
    await worker.stop();
    processes.splice(processes.indexOf(worker), 1);
  }
  log(`seeded ${DOCUMENTS} READY documents in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const auth = { authorization: `Bearer ${token}` };
  const meSpec = (url: string) => ({ url, body: JSON.stringify({ query: ME_QUERY }), headers: auth, expect: '"data":{"me":{' });
  const documentsSpec = (url: string) => ({ url, body: JSON.stringify({ query: DOCUMENTS_QUERY }), headers: auth, expect: '"hasNextPage":true' });
  type Name = string; // bare, me, documents, meUncached, documentsUncached, me@<candidate>, documents@<candidate>
  type Scenario = { server: NodeProcess; spec: Omit<LoadSpec, 'connections' | 'warmupSeconds' | 'durationSeconds'> };
  const scenarios = new Map<Name, Scenario>([
    ['bare', { server: bare, spec: { url: bareUrl, body: JSON.stringify({ query: BARE_QUERY }), headers: {}, expect: '"data":{"hello":"world"}' } }],
    ['me', { server: api, spec: meSpec(api.url) }],
    ['meUncached', { server: uncachedApi, spec: meSpec(uncachedApi.url) }],
    ...candidates.map((c): [Name, Scenario] => [`me@${c.label}`, { server: c.api, spec: meSpec(c.api.url) }]),
    ['documents', { server: api, spec: documentsSpec(api.url) }],
    ['documentsUncached', { server: uncachedApi, spec: documentsSpec(uncachedApi.url) }],
    ['documentsMiss', { server: missApi, spec: documentsSpec(missApi.url) }],
    ...candidates.map((c): [Name, Scenario] => [`documents@${c.label}`, { server: c.api, spec: documentsSpec(c.api.url) }]),
  ]);
  const queryOf = (name: Name) => name.split('@')[0]!.replace(/(Uncached|Miss)$/, '');
  for (const name of scenarios.keys()) if (name !== 'bare' && !SCENARIOS.has(queryOf(name))) scenarios.delete(name);

  // Each answer checked once in full before it is measured.
  for (const url of [api.url, uncachedApi.url, missApi.url, ...candidates.map((c) => c.api.url)]) {
    const page = await gql<{ documents: { edges: { node: { status: string; uploadedBy: { name: string } | null } }[] } }>(url, DOCUMENTS_QUERY, {}, token);
    if (page.documents.edges.length !== 20 || page.documents.edges.some((e) => e.node.status !== 'READY' || !e.node.uploadedBy)) {
      throw new Error(`unexpected documents page: ${JSON.stringify(page).slice(0, 500)}`);
    }
    const me = await gql<{ me: { name: string }; tenant: { slug: string } }>(url, ME_QUERY, {}, token);
    if (me.me.name !== 'Bench Admin' || me.tenant.slug !== slug) throw new Error(`unexpected me: ${JSON.stringify(me)}`);
  }

  const results = new Map<Name, Measured[]>([...scenarios.keys()].map((name) => [name, []]));
  const order = [...scenarios.keys()];
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of r % 2 === 0 ? order : [...order].reverse()) {
      const { server, spec } = scenarios.get(name)!;
      const result = await measureLoad(name, server, {
        ...spec,
        connections: CONNECTIONS,
        warmupSeconds: WARMUP_SECONDS,
        durationSeconds: SECONDS,
      });
      results.get(name)!.push(result);
      log(
        `round ${r + 1} ${name.padEnd(18)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(1)} ms  p99 ${result.p99Ms.toFixed(1)} ms` +
          `  server CPU ${result.serverCpu} cores (${((1000 * result.serverCpu) / result.rps).toFixed(2)} ms/req), load generator ${result.loadGeneratorCpu}, machine busy ${(result.machineBusy * 100).toFixed(0)}%`,
      );
    }
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const of = (name: Name) => results.get(name) ?? []; // not measured (BENCH_SCENARIOS) → NaN → null
  const rps = (name: Name) => mean(of(name).map((r) => r.rps));
  const p99 = (name: Name) => round(mean(of(name).map((r) => r.p99Ms)), 2);
  const cpuPerRequestMs = (name: Name) => round(mean(of(name).map((r) => (1000 * r.serverCpu) / r.rps)), 3);
  const ratioRounds = (name: Name) => of('bare').map((b, i) => (of(name)[i]?.rps ?? NaN) / b.rps);
  const spread = (name: Name) => round(Math.max(...ratioRounds(name)) - Math.min(...ratioRounds(name)));

  // The cached API's own count: how many of its lookups the cache answered.
  const lookups = responseCacheLookups(await fetchMetrics(api.url));
  const missLookups = responseCacheLookups(await fetchMetrics(missApi.url));
  if (SCENARIOS.has('documents') && missLookups.hit > 0) throw new Error(`api-miss answered ${missLookups.hit} requests from its cache`);
  const summary = {
    bareRps: round(rps('bare'), 0),
    meRps: round(rps('me'), 0),
    documentsRps: round(rps('documents'), 0),
    meUncachedRps: round(rps('meUncached'), 0),
    documentsUncachedRps: round(rps('documentsUncached'), 0),
    documentsMissRps: round(rps('documentsMiss'), 0),
    meVsBare: round(rps('me') / rps('bare')),
    documentsVsBare: round(rps('documents') / rps('bare')),
    meUncachedVsBare: round(rps('meUncached') / rps('bare')),
    documentsUncachedVsBare: round(rps('documentsUncached') / rps('bare')),
    documentsMissVsBare: round(rps('documentsMiss') / rps('bare')),
    responseCacheHitRate: round(lookups.hit / (lookups.hit + lookups.miss), 4),
    bareP99Ms: p99('bare'),
    meP99Ms: p99('me'),
    documentsP99Ms: p99('documents'),
    meUncachedP99Ms: p99('meUncached'),
    documentsUncachedP99Ms: p99('documentsUncached'),
    /** max − min of the per-round ratio: the run's own noise. */
    meVsBareSpread: spread('me'),
    documentsVsBareSpread: spread('documents'),
    /** Server CPU per request (ms): what a request costs when the machine is not the limit. */
    cpuPerRequestMs: {
      bare: cpuPerRequestMs('bare'),
      me: cpuPerRequestMs('me'),
      documents: cpuPerRequestMs('documents'),
      meUncached: cpuPerRequestMs('meUncached'),
      documentsUncached: cpuPerRequestMs('documentsUncached'),
      documentsMiss: cpuPerRequestMs('documentsMiss'),
    },
    /** bare's CPU per request ÷ the query's: the throughput ratio if each server had a core of its own
     *  (less sensitive than the req/s ratio to other processes on a shared machine). */
    meVsBareByCpu: round(cpuPerRequestMs('bare') / cpuPerRequestMs('me')),
    documentsVsBareByCpu: round(cpuPerRequestMs('bare') / cpuPerRequestMs('documents')),
    documentsUncachedVsBareByCpu: round(cpuPerRequestMs('bare') / cpuPerRequestMs('documentsUncached')),
    rounds: of('bare').map((_, i) => ({
      meVsBare: round(ratioRounds('me')[i]!),
      documentsVsBare: round(ratioRounds('documents')[i]!),
      meUncachedVsBare: round(ratioRounds('meUncached')[i]!),
      documentsUncachedVsBare: round(ratioRounds('documentsUncached')[i]!),
      documentsMissVsBare: round(ratioRounds('documentsMiss')[i]!),
    })),
    ...(candidates.length
      ? {
          candidates: candidates.map(({ label, dir }) => ({
            label,
            dir,
            meRps: round(rps(`me@${label}`), 0),
            documentsRps: round(rps(`documents@${label}`), 0),
            meVsBare: round(rps(`me@${label}`) / rps('bare')),
            documentsVsBare: round(rps(`documents@${label}`) / rps('bare')),
            meP99Ms: p99(`me@${label}`),
            documentsP99Ms: p99(`documents@${label}`),
            cpuPerRequestMs: { me: cpuPerRequestMs(`me@${label}`), documents: cpuPerRequestMs(`documents@${label}`) },
            meVsBareByCpu: round(cpuPerRequestMs('bare') / cpuPerRequestMs(`me@${label}`)),
            documentsVsBareByCpu: round(cpuPerRequestMs('bare') / cpuPerRequestMs(`documents@${label}`)),
          })),
        }
      : {}),
    connections: CONNECTIONS,
    seconds: SECONDS,
    database,
  };
  log(
    `me ${summary.meVsBare}× bare (spread ${summary.meVsBareSpread}; by CPU ${summary.meVsBareByCpu}), ` +
      `documents ${summary.documentsVsBare}× bare (spread ${summary.documentsVsBareSpread}; by CPU ${summary.documentsVsBareByCpu}); ` +
      `without the response cache: me ${summary.meUncachedVsBare}×, documents ${summary.documentsUncachedVsBare}× bare; ` +
      `documents missing the cache every time ${summary.documentsMissVsBare}× bare ` +
      `(cache hit rate ${summary.responseCacheHitRate})` +
      (summary.meVsBare < 0.5 ? ' — below the 0.5 target for me' : ''),
  );
  for (const c of summary.candidates ?? []) {
    log(`candidate ${c.label}: me ${c.meVsBare}× bare (${c.cpuPerRequestMs.me} ms CPU/req), documents ${c.documentsVsBare}× bare (${c.cpuPerRequestMs.documents} ms CPU/req)`);
  }
  await cleanup();
  if (CPU_PROF_DIR) log(`API CPU profile(s) in ${CPU_PROF_DIR}: ${fs.readdirSync(CPU_PROF_DIR).join(', ')}`);
  console.log(JSON.stringify(summary));
  process.exit(0);
} catch (error) {
  console.error(error);
  await cleanup();
  process.exit(1);
}
