// The stable `extensions.code` values of requests refused by the abuse limits, the request
// timeout, the introspection switch and the persisted-operations allow-list. Clients branch on
// these; the human message may change.
import { GraphQLError } from 'graphql';

export const LimitCode = {
  /** Depth, cost, aliases, directives or tokens over a limit; `extensions.limit` says which. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** A query or mutation ran longer than REQUEST_TIMEOUT_MS; `extensions.timeoutMs`. */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** `__schema` / `__type` asked while INTROSPECTION=false. */
  INTROSPECTION_DISABLED: 'INTROSPECTION_DISABLED',
  /** PERSISTED_OPERATIONS=only and the document is not on the allow-list. */
  PERSISTED_QUERY_ONLY: 'PERSISTED_QUERY_ONLY',
  /** A persisted-operation hash that the allow-list does not hold (graphql-yoga's own code). */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  /** PERSISTED_OPERATIONS=only and the request carries neither a hash nor a query (graphql-yoga's own code). */
  PERSISTED_QUERY_ID_REQUIRED: 'PERSISTED_QUERY_ID_REQUIRED',
} as const;
export type LimitCode = (typeof LimitCode)[keyof typeof LimitCode];

/** Which limit a QUERY_TOO_COMPLEX error hit (`extensions.limit`). */
export type LimitKind = 'depth' | 'cost' | 'aliases' | 'directives' | 'tokens';

/**
 * A request error (HTTP 400 for `application/graphql-response+json`, 200 for legacy
 * `application/json`, as the GraphQL-over-HTTP spec wants for validation failures).
 */
export function requestError(message: string, code: LimitCode, details: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, ...details, http: { status: 400, spec: true } },
  });
}

const MESSAGES: Record<LimitKind, (max: number, found: number | undefined) => string> = {
  depth: (max, found) => `The operation is nested ${found ?? 'too'} levels deep; the limit is ${max}.`,
  cost: (max, found) =>
    `The operation's estimated cost is ${found ?? 'too high'}; the limit is ${max}. ` +
    'Ask for smaller pages (first/last) or split the operation.',
  aliases: (max, found) => `The operation uses ${found ?? 'too many'} aliases; the limit is ${max}.`,
  directives: (max, found) => `The operation uses ${found ?? 'too many'} directives; the limit is ${max}.`,
  tokens: (max) => `The document is longer than ${max} tokens.`,
};

export function tooComplex(limit: LimitKind, max: number, found?: number): GraphQLError {
  return requestError(MESSAGES[limit](max, found), LimitCode.QUERY_TOO_COMPLEX, {
    limit,
    max,
    ...(found === undefined ? {} : { found }),
  });
}
