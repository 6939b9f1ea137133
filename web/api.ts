// The page's whole GraphQL client, on top of the typed operations that codegen writes to
// ./__generated__ from ./operations/*.graphql:
//   - request():   queries and mutations, a JSON POST to /graphql;
//   - upload():    a mutation with one file, per the GraphQL multipart request spec;
//   - subscribe(): subscriptions over graphql-ws on the same /graphql path, the token sent
//                  once in connection_init's connectionParams (browsers cannot set headers
//                  on a WebSocket).
// Errors come back as ApiError carrying the server's `extensions.code` (UNAUTHENTICATED,
// FORBIDDEN, BAD_USER_INPUT, …), which is what a client branches on.
// 'graphql-ws/client' rather than 'graphql-ws': the package root also exports the server, which imports graphql-js.
import { createClient, type Client } from 'graphql-ws/client';
import type { TypedDocumentString } from './__generated__/graphql.ts';

const ENDPOINT = '/graphql';

interface GraphQLErrorLike {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

interface GraphQLResponse<R> {
  data?: R | null;
  errors?: readonly GraphQLErrorLike[];
}

export class ApiError extends Error {
  readonly code: string;
  constructor(message: string, code = 'UNKNOWN') {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

function toApiError(errors: readonly GraphQLErrorLike[]): ApiError {
  const first = errors[0];
  return new ApiError(first?.message ?? 'Request failed', first?.extensions?.code);
}

async function readResult<R>(response: Response): Promise<R> {
  let body: GraphQLResponse<R>;
  try {
    body = (await response.json()) as GraphQLResponse<R>;
  } catch {
    throw new ApiError(`The server answered ${response.status} ${response.statusText}`, 'HTTP_ERROR');
  }
  if (body.errors?.length) throw toApiError(body.errors);
  if (!body.data) throw new ApiError('The server returned no data', 'NO_DATA');
  return body.data;
}

const authorization = (token: string | null): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};

/** A query or mutation. `token` is null for the public mutations (signUp, logIn). */
export async function request<R, V>(document: TypedDocumentString<R, V>, variables: V, token: string | null): Promise<R> {
  const response = await fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...authorization(token) },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  return readResult<R>(response);
}

/**
 * A mutation with one file (GraphQL multipart request spec): `operations` holds the query with
 * the file variable set to null, `map` says which variable part "0" fills, and part "0" is the file.
 */
export async function upload<R, V extends { file: File }>(
  document: TypedDocumentString<R, V>,
  variables: V,
  token: string,
): Promise<R> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: document.toString(), variables: { ...variables, file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', variables.file, variables.file.name);
  // No content-type header: the browser sets multipart/form-data with its boundary.
  const response = await fetch(ENDPOINT, { method: 'POST', headers: authorization(token), body: form });
  return readResult<R>(response);
}

export interface Subscriber<R> {
  next(data: R): void;
  error?(error: ApiError): void;
  complete?(): void;
}

export interface LiveConnection {
  /** Starts a subscription; call the returned function to stop it. */
  subscribe<R, V>(document: TypedDocumentString<R, V>, variables: V, subscriber: Subscriber<R>): () => void;
  close(): Promise<void>;
}

export type LiveState = 'connecting' | 'connected' | 'closed';

/**
 * One WebSocket per signed-in user, opened on the first subscription and shared by all of them.
 * `onState` reports the socket's state (graphql-ws reconnects by itself after a drop).
 */
export function connectLive(token: string, onState: (state: LiveState) => void = () => {}): LiveConnection {
  const url = new URL(ENDPOINT, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const client: Client = createClient({
    url: url.href,
    connectionParams: { authorization: `Bearer ${token}` },
    on: {
      connecting: () => onState('connecting'),
      connected: () => onState('connected'),
      closed: () => onState('closed'),
    },
  });
  return {
    subscribe<R, V>(document: TypedDocumentString<R, V>, variables: V, subscriber: Subscriber<R>) {
      return client.subscribe<R>(
        { query: document.toString(), variables: variables as Record<string, unknown> },
        {
          next: (result) => {
            if (result.errors?.length) subscriber.error?.(toApiError(result.errors as readonly GraphQLErrorLike[]));
            else if (result.data) subscriber.next(result.data);
          },
          error: (error: unknown) => subscriber.error?.(describeSocketError(error)),
          complete: () => subscriber.complete?.(),
        },
      );
    },
    close: async () => {
      await client.dispose();
    },
  };
}

/** graphql-ws reports a list of GraphQL errors, a CloseEvent, or an Error. */
function describeSocketError(error: unknown): ApiError {
  if (Array.isArray(error)) return toApiError(error as GraphQLErrorLike[]);
  if (error instanceof CloseEvent) {
    return error.code === 4403
      ? new ApiError('The live connection was refused: sign in again', 'UNAUTHENTICATED')
      : new ApiError(`The live connection closed (${error.code}${error.reason ? `: ${error.reason}` : ''})`, 'SOCKET_CLOSED');
  }
  return new ApiError(error instanceof Error ? error.message : String(error), 'SOCKET_ERROR');
}
