// The product's own entry points (`node src/server.ts`, `node src/worker/main.ts`) run as child
// processes, for tests and benchmarks of several processes sharing one PostgreSQL.
// Children log JSON lines (pino) on stdout; a server announces its address in its
// "… ready" log line ({"url": "http://…/graphql"}), so PORT=0 works and no port is guessed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SERVER_MAIN = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
export const WORKER_MAIN = fileURLToPath(new URL('../../src/worker/main.ts', import.meta.url));

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines the process printed (stdout and stderr), for failure messages. */
  readonly tail: string[];
  /** Resolves with the first log line (past or future) that `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process has exited (at once if it already has). */
  exited(): Promise<void>;
  /** SIGTERM (a graceful stop), then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once; resolves once it is gone. */
  kill(): Promise<void>;
}

export interface StartOptions {
  name: string;
  script: string;
  /** Arguments after the script. */
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  execArgv?: string[];
  /** Print lines at this pino level or above (and non-JSON lines) to our stderr; default 40 (warn). */
  echoLevel?: number;
}

const TAIL_LINES = 60;

export function startNodeProcess(options: StartOptions): NodeProcess {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script, ...(options.args ?? [])], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const echoLevel = options.echoLevel ?? 40;
  const tail: string[] = [];
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  let exitedAt: { code: number | null; signal: string | null } | null = null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedAt = { code, signal };
      resolve();
    });
  });

  const onLine = (text: string) => {
    tail.push(text);
    if (tail.length > TAIL_LINES) tail.shift();
    let line: LogLine | null = null;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object') line = parsed as LogLine;
    } catch {
      // not a log line (e.g. a library writing to the console)
    }
    if (!line || (line.level ?? 0) >= echoLevel) process.stderr.write(`[${options.name}] ${text}\n`);
    if (!line) return;
    lines.push(line);
    for (const waiter of waiters) waiter(line);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);

  const describe = () => `${options.name} (pid ${child.pid})`;

  return {
    name: options.name,
    child,
    tail,
    waitForLog(match, what, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<LogLine>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        const waiter = (line: LogLine) => {
          if (!match(line)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${describe()}: timed out waiting for ${what}; last output:\n${tail.join('\n')}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exit.then(() => {
          if (!waiters.has(waiter)) return;
          done();
          reject(new Error(`${describe()} exited (${JSON.stringify(exitedAt)}) before ${what}; last output:\n${tail.join('\n')}`));
        });
      });
    },
    exited: () => exit,
    async stop(graceMs = 5_000) {
      if (exitedAt) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
    async kill() {
      if (exitedAt) return;
      child.kill('SIGKILL');
      await exit;
    },
  };
}

/** The server's "… ready" line carries its GraphQL URL (the wording of the message may change). */
const isReadyLine = (l: LogLine) => typeof l.url === 'string' && /\/graphql$/.test(l.url) && /\bready\b/i.test(l.msg ?? '');

/** Starts `node src/server.ts` (PORT=0 unless set) and resolves with its GraphQL URL once it listens. */
export async function startApiProcess(
  name: string,
  env: NodeJS.ProcessEnv,
  options: Pick<StartOptions, 'execArgv' | 'echoLevel'> & { timeoutMs?: number; script?: string } = {},
): Promise<NodeProcess & { url: string }> {
  // The address is announced at level info: keep at least that.
  const proc = startNodeProcess({
    name,
    script: options.script ?? SERVER_MAIN,
    env: { PORT: '0', ...env, LOG_LEVEL: 'info' },
    execArgv: options.execArgv,
    echoLevel: options.echoLevel,
  });
  try {
    const ready = await proc.waitForLog(isReadyLine, 'the server to listen', options.timeoutMs);
    return Object.assign(proc, { url: ready.url as string });
  } catch (error) {
    await proc.kill();
    throw error;
  }
}

/** Starts `node src/worker/main.ts` and resolves once its ingestion worker runs. */
export async function startWorkerProcess(
  name: string,
  env: NodeJS.ProcessEnv,
  options: { timeoutMs?: number } = {},
): Promise<NodeProcess> {
  const proc = startNodeProcess({ name, script: WORKER_MAIN, env: { ...env, LOG_LEVEL: 'info' } });
  try {
    await proc.waitForLog((l) => l.msg === 'ingestion worker started', 'the worker to start', options.timeoutMs);
    return proc;
  } catch (error) {
    await proc.kill();
    throw error;
  }
}
