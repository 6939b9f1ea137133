// The GraphQL-over-HTTP handler (queries, mutations, and subscriptions over SSE).
// Kept apart from the HTTP server so tests can call `yoga.fetch` in-process.
import { PothosValidationError } from '@pothos/core';
import { createFetch } from '@whatwg-node/fetch';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, maskError as maskUnexpected } from 'graphql-yoga';
import { useCompiledQueries } from './compiled-execution.ts';
import type { Config } from './config.ts';
import type { Context } from './context.ts';
import { AppError, ErrorCode } from './errors.ts';
import { useQueryLimits } from './limits/armor.ts';
import { useDisableIntrospection } from './limits/introspection.ts';
import { loadAllowList, usePersistedOperationsMode } from './limits/persisted-operations.ts';
import { useRequestBodyLimit } from './limits/body-size.ts';
import { useRateLimit } from './limits/rate-limit.ts';
import type { RateLimiter } from './limits/rate-limiter.ts';
import { useRequestTimeout } from './limits/timeout.ts';
import type { Logger } from './logger.ts';
import type { Health } from './observability/health.ts';
import { useObservability } from './observability/http.ts';
import type { Metrics } from './observability/metrics.ts';
import type { PubSub } from './pubsub.ts';
import { useTenantResponseCache } from './response-cache.ts';
import { useAccessRevocation } from './revocation.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './schema/pagination.ts';

export interface YogaOptions {
  schema: GraphQLSchema;
  context: (initial: object) => Promise<Context>;
  graphiql: boolean;
  logger: Logger;
  config: Pick<
    Config,
    | 'maxUploadBytes'
    | 'introspection'
    | 'maxQueryDepth'
    | 'maxQueryCost'
    | 'maxQueryAliases'
    | 'maxQueryDirectives'
    | 'maxQueryTokens'
    | 'requestTimeoutMs'
    | 'persistedOperations'
    | 'persistedOperationsFile'
    | 'metrics'
    | 'metricsToken'
    | 'planLimits'
    | 'responseCacheTtlMs'
    | 'responseCacheMaxBytes'
  >;
  /** Announces changes of tenants' data to the response cache. */
  pubsub: PubSub;
  /** This instance's metrics registry and health checks (served at /metrics, /health, /ready). */
  metrics: Metrics;
  health: Health;
  /** Requests per minute per member, by plan. */
  rateLimiter: RateLimiter;
}

export type Yoga = ReturnType<typeof createYogaApp>;

/** Request bodies: Yoga's default, raised with MAX_UPLOAD_BYTES so that any allowed upload fits. */
const MAX_REQUEST_BODY_BYTES = 25_000_000;

export function createYogaApp({ schema, context, graphiql, logger, config, metrics, health, rateLimiter, pubsub }: YogaOptions) {
  const allowList = config.persistedOperations === 'off' ? null : loadAllowList(config.persistedOperationsFile);
  if (allowList) logger.info({ mode: config.persistedOperations, operations: allowList.size }, 'persisted operations on');
  if (graphiql && (!config.introspection || config.persistedOperations === 'only')) {
    logger.warn('GraphiQL is on but cannot work without introspection or with PERSISTED_OPERATIONS=only: set GRAPHIQL=false');
  }
  return createYoga<object, Context>({
    schema,
    context,
    graphqlEndpoint: '/graphql',
    // Yoga's own health check answers an empty 200 before any plugin runs; /health, /ready and
    // /metrics are served by useObservability, so Yoga's is moved out of their way.
    healthCheckEndpoint: '/health/yoga',
    plugins: [
      // First: its execute/subscribe hooks must see what the later plugins answer.
      useObservability({ logger, metrics, health, serveMetrics: config.metrics, metricsToken: config.metricsToken }),
      ...usePersistedOperationsMode(config.persistedOperations, allowList),
      ...useQueryLimits(
        {
          maxDepth: config.maxQueryDepth,
          maxCost: config.maxQueryCost,
          maxAliases: config.maxQueryAliases,
          maxDirectives: config.maxQueryDirectives,
          maxTokens: config.maxQueryTokens,
        },
        { default: DEFAULT_PAGE_SIZE, max: MAX_PAGE_SIZE },
        // Without introspection, "Did you mean …?" hints would still spell out the schema.
        !config.introspection,
      ),
      config.introspection ? {} : useDisableIntrospection(),
      // Chooses the executor (compiled for most queries); before the timeout, which wraps it.
      useCompiledQueries(),
      useRequestTimeout(config.requestTimeoutMs),
      useRequestBodyLimit(Math.max(MAX_REQUEST_BODY_BYTES, config.maxUploadBytes + 1024 * 1024)),
      // After validation (a refused request costs no execution) and before any resolver.
      useRateLimit(rateLimiter, config.planLimits, (plan) => metrics.countRateLimited(plan)),
      useAccessRevocation(),
      // Last: a cached answer is served only once every check above has passed.
      useTenantResponseCache({
        schema,
        pubsub,
        ttlMs: config.responseCacheTtlMs,
        maxBytes: config.responseCacheMaxBytes,
        onLookup: (result) => metrics.countResponseCacheLookup(result),
      }),
    ],
    // Replaced by useRequestBodyLimit (same limit and code, without a stream per request).
    maxRequestBodySize: false,
    // Multipart uploads: one file per request, refused while streaming once it passes the limit
    // (Yoga answers REQUEST_ENTITY_TOO_LARGE; the service checks other inputs with the same code).
    fetchAPI: createFetch({
      formDataLimits: { files: 1, fileSize: config.maxUploadBytes + 1, fieldSize: 1024 * 1024 },
    }),
    landingPage: false,
    graphiql: graphiql && {
      title: 'ragchat GraphQL',
      subscriptionsProtocol: 'WS',
      // Paste the token from signUp/logIn here; WebSocket subscriptions send it as connectionParams.
      headers: JSON.stringify({ Authorization: 'Bearer <token from logIn>' }, null, 2),
      defaultQuery: DEFAULT_QUERY,
    },
    maskedErrors: {
      maskError(error, message, isDev) {
        const original = error instanceof GraphQLError ? error.originalError : error;
        const at = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
        if (original instanceof AppError) {
          if (original.code === ErrorCode.QUOTA_EXCEEDED) metrics.countQuotaExceeded(String(original.details.limit ?? 'unknown'));
          return new GraphQLError(original.message, {
            ...at,
            extensions: { ...original.details, code: original.code },
          });
        }
        if (original instanceof PothosValidationError) {
          return new GraphQLError(original.message, { ...at, extensions: { code: ErrorCode.BAD_USER_INPUT } });
        }
        const masked = maskUnexpected(error, message, isDev);
        if (masked !== error) logger.error({ err: original ?? error }, 'unexpected error in a resolver');
        return masked;
      },
    },
    logging: {
      debug: (...args) => logger.debug(args),
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      error: (...args) => logger.error(args),
    },
  });
}

const DEFAULT_QUERY = `# Sign up (or logIn), copy the token into the Authorization header below, then run Me.
mutation SignUp {
  signUp(tenantName: "Acme", tenantSlug: "acme", name: "Ada", email: "ada@example.com", password: "correct horse battery") {
    token
    user { id name role }
  }
}

query Me {
  me { id name email role }
  tenant { name slug }
}
`;
