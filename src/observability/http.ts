// The Yoga plugin of operations: request ids, the request log line, metrics, and the
// /health, /ready and /metrics endpoints (answered in Yoga's `onRequest`, so the HTTP server
// stays a plain `http.createServer(yoga)`).
//
// Request id: the client's `x-request-id` when it is a sane token (≤ 128 of [A-Za-z0-9._:@/+=-]),
// else a new UUID. It is written back onto the request (so the GraphQL context and its child
// logger carry the same id) and echoed in the response's `x-request-id` header.
//
// One log line per GraphQL HTTP request, after the response: request id, operation name and
// type, tenant and user, status, duration and error codes. Never variables, headers, tokens,
// documents or results.
import { getOperationAST, type ExecutionResult } from 'graphql';
import { timingSafeEqual } from 'node:crypto';
import type { FetchAPI, Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.ts';
import type { Health } from './health.ts';
import type { Metrics, OperationType } from './metrics.ts';

export const REQUEST_ID_HEADER = 'x-request-id';
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export interface ObservabilityOptions {
  logger: Logger;
  metrics: Metrics;
  health: Health;
  /** Serve /metrics (METRICS). */
  serveMetrics: boolean;
  /** Require `Authorization: Bearer <token>` on /metrics (METRICS_TOKEN). */
  metricsToken?: string | undefined;
}

interface RequestRecord {
  id: string;
  startedAt: number;
  graphql: boolean;
  operationName?: string | undefined;
  operationType: OperationType;
  tenantId?: string | undefined;
  userId?: string | undefined;
  errorCodes: string[];
}

interface ViewerLike {
  viewer?: { tenantId?: string; userId?: string } | null;
  request?: Request;
}

type MaybeErrors = { errors?: ReadonlyArray<unknown> | undefined };

/** The `extensions.code` of every error of one result or a batch ('UNKNOWN' when absent). */
export function errorCodes(result: MaybeErrors | readonly MaybeErrors[] | null | undefined): string[] {
  const results: readonly MaybeErrors[] = Array.isArray(result) ? result : result ? [result as MaybeErrors] : [];
  return results.flatMap((one) =>
    (one.errors ?? []).map((error) => {
      const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
      return typeof code === 'string' ? code : 'UNKNOWN';
    }),
  );
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

const json = (fetchAPI: FetchAPI, body: unknown, status: number, requestId: string) =>
  new fetchAPI.Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', [REQUEST_ID_HEADER]: requestId },
  });

export function useObservability(options: ObservabilityOptions): Plugin<ViewerLike> {
  const { logger, metrics, health } = options;
  // The request line is built from the safe fields below only, so it skips the logger's
  // redaction pass (a few per cent of a small query's CPU); every other line keeps it.
  const requestLog = logger.child({}, { redact: { paths: [], censor: '' } });
  const records = new WeakMap<Request, RequestRecord>();
  const recordOf = (context: ViewerLike | undefined) => (context?.request ? records.get(context.request) : undefined);

  const expectedAuthorization = options.metricsToken ? Buffer.from(`Bearer ${options.metricsToken}`) : null;
  const metricsAllowed = (request: Request) => {
    if (!expectedAuthorization) return true;
    const given = Buffer.from(request.headers.get('authorization') ?? '');
    return given.length === expectedAuthorization.length && timingSafeEqual(given, expectedAuthorization);
  };

  let graphqlEndpoint = '/graphql';

  return {
    onYogaInit({ yoga }) {
      graphqlEndpoint = yoga.graphqlEndpoint;
    },

    onRequest({ request, url, endResponse, fetchAPI }) {
      const given = request.headers.get(REQUEST_ID_HEADER);
      const id = given && SANE_REQUEST_ID.test(given) ? given : crypto.randomUUID();
      if (id !== given) {
        try {
          request.headers.set(REQUEST_ID_HEADER, id);
        } catch {
          // immutable headers: the context then makes its own id; the response still has this one
        }
      }
      // Everything sent to the GraphQL endpoint but GraphiQL's page is a GraphQL request, even
      // one refused before its parameters are read (malformed body, wrong method).
      const graphiqlPage = request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
      const graphql = url.pathname === graphqlEndpoint && !graphiqlPage;
      records.set(request, { id, startedAt: performance.now(), graphql, operationType: 'unknown', errorCodes: [] });

      const read = request.method === 'GET' || request.method === 'HEAD';
      if (!read) return undefined;
      if (url.pathname === '/health') {
        endResponse(json(fetchAPI, health.live(), 200, id));
        return undefined;
      }
      if (url.pathname === '/ready') {
        return health.ready().then(({ ready, body }) => endResponse(json(fetchAPI, body, ready ? 200 : 503, id)));
      }
      if (url.pathname === '/metrics' && options.serveMetrics) {
        if (!metricsAllowed(request)) {
          endResponse(
            new fetchAPI.Response('/metrics needs the bearer token of METRICS_TOKEN\n', {
              status: 401,
              headers: { 'www-authenticate': 'Bearer', [REQUEST_ID_HEADER]: id },
            }),
          );
          return undefined;
        }
        return metrics.render().then((text) =>
          endResponse(
            new fetchAPI.Response(text, {
              status: 200,
              headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store', [REQUEST_ID_HEADER]: id },
            }),
          ),
        );
      }
      return undefined;
    },

    onParams({ request, params }) {
      const record = records.get(request);
      if (!record) return;
      record.graphql = true;
      record.operationName = params.operationName ?? undefined;
    },

    onValidate({ params, context }) {
      const record = recordOf(context);
      if (record) {
        const operation = getOperationAST(params.documentAST, record.operationName);
        record.operationType = operation?.operation ?? 'unknown';
        record.operationName ??= operation?.name?.value;
      }
      return ({ valid, result }) => {
        // graphql-ws validation errors: HTTP ones are counted with the response.
        if (!valid && !context?.request) metrics.countErrors(errorCodes({ errors: result }).map((code) => (code === 'UNKNOWN' ? 'GRAPHQL_VALIDATION_FAILED' : code)));
      };
    },

    onExecute({ args }) {
      const context = args.contextValue;
      const record = recordOf(context);
      if (record) {
        record.tenantId = context.viewer?.tenantId;
        record.userId = context.viewer?.userId;
      }
      return {
        onExecuteDone({ result }) {
          if (!record && !isAsyncIterable(result)) metrics.countErrors(errorCodes(result as ExecutionResult));
        },
      };
    },

    onSubscribe({ args }) {
      const context = args.contextValue;
      const record = recordOf(context);
      if (record) {
        record.tenantId = context.viewer?.tenantId;
        record.userId = context.viewer?.userId;
      }
      const transport = context.request ? 'sse' : 'ws';
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) {
            if (!record) metrics.countErrors(errorCodes(result as ExecutionResult));
            return undefined;
          }
          const closed = metrics.subscriptionOpened(transport);
          return {
            onNext: ({ result: event }) => metrics.countErrors(errorCodes(event)),
            onEnd: closed,
          };
        },
      };
    },

    onResultProcess({ request, result }) {
      const record = records.get(request);
      if (record && !isAsyncIterable(result)) record.errorCodes.push(...errorCodes(result as MaybeErrors | MaybeErrors[]));
    },

    onResponse({ request, response }) {
      const record = records.get(request);
      if (!record) return;
      records.delete(request);
      try {
        response.headers.set(REQUEST_ID_HEADER, record.id);
      } catch {
        // a response with immutable headers (e.g. one fetched from elsewhere) keeps its own
      }
      if (!record.graphql) return;
      const seconds = (performance.now() - record.startedAt) / 1000;
      // A subscription's response is the start of a stream: its lifetime is the gauge's business.
      if (record.operationType !== 'subscription') metrics.observeRequest(record.operationName, record.operationType, seconds);
      metrics.countErrors(record.errorCodes);
      const failed = response.status >= 500 || record.errorCodes.includes('INTERNAL_SERVER_ERROR');
      requestLog[failed ? 'warn' : 'info'](
        {
          requestId: record.id,
          method: request.method,
          status: response.status,
          durationMs: Math.round(seconds * 1000),
          operationName: record.operationName ?? null,
          operationType: record.operationType,
          tenantId: record.tenantId ?? null,
          userId: record.userId ?? null,
          ...(record.errorCodes.length ? { errors: record.errorCodes } : {}),
        },
        'graphql request',
      );
    },
  };
}
