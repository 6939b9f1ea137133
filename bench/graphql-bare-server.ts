// The baseline of bench/graphql.ts: graphql-yoga's hello world on node:http, with Yoga's
// defaults — what the same library costs per request before any product code runs.
// Prints one JSON line {"msg":"ready","url":…} once it listens (PORT, default 0 = any free port).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { hello: String }',
    resolvers: { Query: { hello: () => 'world' } },
  }),
});
const server = http.createServer(yoga);
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ level: 30, msg: 'ready', url: `http://${address}:${port}${yoga.graphqlEndpoint}` }));
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
