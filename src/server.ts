// HTTP + WebSocket wiring: one port, one path (/graphql) for queries, mutations,
// GraphiQL, SSE subscriptions and graphql-ws subscriptions.
//
// Run directly (`npm start`), it starts the whole product on the configured database —
// the embedded PGlite when DATABASE_URL is unset.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createApp, type App } from './app.ts';
import { loadConfig } from './config.ts';
import { bearerToken } from './context.ts';
import { createLogger } from './logger.ts';
import { withDemoPage } from './web.ts';

export interface RunningServer {
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  close(): Promise<void>;
}

type EnvelopedRoot = {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
};

export async function startServer(app: App, port: number, host: string): Promise<RunningServer> {
  const { yoga, logger } = app;
  // The demo page (src/web.ts) answers `/` and its assets; everything else goes to Yoga.
  const httpServer = http.createServer(withDemoPage(yoga, logger));
  const wsServer = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint });

  const wsHandle = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      // The socket is refused (4403) unless connection_init carries a token of an active member.
      onConnect: async (ctx) => {
        const token = bearerToken({ connectionParams: ctx.connectionParams });
        if (!token) return false;
        const result = await app.services.auth.authenticate(token);
        return 'viewer' in result;
      },
      // Each operation gets a fresh context from the same factory as HTTP requests, so the
      // caller is re-checked (a member deactivated after connecting cannot subscribe).
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        // A syntax error (or a refused operation) answers this operation only, not the whole socket.
        let document: ExecutionArgs['document'];
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wsServer,
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, resolve);
  });
  const address = httpServer.address() as AddressInfo;
  const url = `http://${host}:${address.port}${yoga.graphqlEndpoint}`;
  logger.info({ url, demoPage: `http://${host}:${address.port}/` }, 'GraphQL API, GraphiQL and the demo page ready');

  return {
    url,
    async close() {
      await wsHandle.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve, reject) => httpServer.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const app = await createApp(config, logger);
  const server = await startServer(app, config.port, config.host);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await server.close();
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
