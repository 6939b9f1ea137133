// Real subscription clients for tests: graphql-ws over a WebSocket, and GraphQL over SSE.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';

export interface Collected<R> {
  events: R[];
  errors: unknown[];
  /** Resolves when the server completes the subscription (or it errors). */
  finished: Promise<void>;
  /** Unsubscribes early (the client may disconnect). */
  stop(): Promise<void>;
}

export function wsClient(url: string, token: string): WsClient {
  return createWsClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
}

function collect<R>(iterator: AsyncIterableIterator<{ data?: unknown; errors?: readonly unknown[] }>): Collected<R> {
  const events: R[] = [];
  const errors: unknown[] = [];
  const finished = (async () => {
    try {
      for await (const result of { [Symbol.asyncIterator]: () => iterator }) {
        if (result.errors) errors.push(...result.errors);
        if (result.data) events.push(result.data as R);
      }
    } catch (error) {
      errors.push(error);
    }
  })();
  return { events, errors, finished, stop: async () => void (await iterator.return?.()) };
}

export function subscribeWs<R, V>(client: WsClient, document: TypedDocumentNode<R, V>, variables: V): Collected<R> {
  return collect<R>(client.iterate({ query: print(document), variables: variables as Record<string, unknown> }));
}

export function subscribeSse<R, V>(url: string, token: string, document: TypedDocumentNode<R, V>, variables: V) {
  const client = createSseClient({ url, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const collected = collect<R>(
    client.iterate({ query: print(document), variables: variables as Record<string, unknown> }) as AsyncIterableIterator<{
      data?: unknown;
    }>,
  );
  return { ...collected, dispose: () => client.dispose() };
}
