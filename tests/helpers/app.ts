// A real application per test file: a real database of its own (a scratch database on
// DATABASE_URL's server, else an in-memory PGlite), real services and worker, the real
// GraphQL handler — called in-process through `yoga.fetch`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createScratchDatabase } from './scratch-db.ts';

export interface TestApp extends App {
  /** Runs an operation through the Yoga handler, as an HTTP client would. */
  run<R, V>(
    document: TypedDocumentNode<R, V>,
    variables?: V,
    token?: string | null,
  ): Promise<{ data?: R | null; errors?: GraphQLFormattedError[] }>;
  /** Like run, but fails the test on any GraphQL error and returns the data. */
  ok<R, V>(document: TypedDocumentNode<R, V>, variables?: V, token?: string | null): Promise<R>;
  /** Starts a real HTTP + WebSocket server on a free port (closed with the app). */
  listen(): Promise<RunningServer>;
}

export async function startTestApp(env: Record<string, string> = {}, options: AppOptions = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ragchat-test-'));
  const scratch = process.env.DATABASE_URL ? await createScratchDatabase(process.env.DATABASE_URL) : null;
  const config = loadConfig({
    ...process.env,
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    DATA_DIR: dataDir,
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Tests of other features poll and repeat far faster than a person: they run on the plan
    // with the highest limits. Tests of plans set DEFAULT_PLAN / PLAN_LIMITS themselves.
    DEFAULT_PLAN: 'ENTERPRISE',
    ...env,
  });
  const app = await createApp(config, createLogger(config.logLevel), { inMemory: true, ...options });
  const servers: RunningServer[] = [];

  const run: TestApp['run'] = async (document, variables, token) => {
    const response = await app.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
    });
    return response.json();
  };

  return {
    ...app,
    run,
    async ok(document, variables, token) {
      const result = await run(document, variables, token);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data as never;
    },
    async listen() {
      const server = await startServer(app, 0, '127.0.0.1');
      servers.push(server);
      return server;
    },
    async close() {
      for (const server of servers) await server.close();
      await app.close();
      await scratch?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The `extensions.code` of each error, in order — what clients branch on. */
export const codes = (result: { errors?: readonly GraphQLFormattedError[] }) =>
  (result.errors ?? []).map((e) => e.extensions?.code);
