// Runtime configuration, read once from the environment and validated.
// Every setting has an embedded default so `npm start` works with no environment at all.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PLANS, PlanLimitsOverride, resolvePlanLimits, type Plan, type PlanLimits } from './limits/plans.ts';

/** The allow-list `npm run codegen` writes from tests/operations and web/operations. */
const DEFAULT_PERSISTED_OPERATIONS_FILE = fileURLToPath(new URL('../persisted-operations.json', import.meta.url));

const boolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  /** Unset → embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /** Embedded database files and the generated development secret live here. */
  DATA_DIR: z.string().default('.data'),
  /** HS256 secret; unset → a development secret generated once and kept in DATA_DIR. */
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_TTL_SECONDS: z.coerce.number().int().positive().default(12 * 3600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GRAPHIQL: boolean.default(true),
  /** Failed log-ins tolerated per (tenant, e-mail) before the account is locked for a while. */
  LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(5),
  INVITATION_TTL_HOURS: z.coerce.number().int().positive().default(7 * 24),

  /** Largest accepted upload, in bytes (25 MB). */
  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(25 * 1024 * 1024),
  /** Unset → each plan's own limit; set → this many documents for every tenant, whatever its plan. */
  TENANT_MAX_DOCUMENTS: z.coerce.number().int().positive().optional(),
  /** Unset → each plan's own limit; set → this many bytes of documents for every tenant. */
  TENANT_MAX_BYTES: z.coerce.number().int().positive().optional(),
  /** Plan of tenants created by signUp (an operator changes it later: npm run tenant:plan). */
  DEFAULT_PLAN: z.enum(PLANS).default('FREE'),
  /** JSON overriding plan limits, e.g. {"FREE":{"questionsPerDay":20}}; null = unlimited. */
  PLAN_LIMITS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return {};
      try {
        return PlanLimitsOverride.parse(JSON.parse(text));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not valid plan limits JSON: ${error instanceof Error ? error.message : String(error)}` });
        return z.NEVER;
      }
    }),
  /** How often each instance adds its request counts to the shared ones (and reads the others'). */
  RATE_LIMIT_SYNC_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Set → request counters are shared through Redis instead of PostgreSQL. */
  REDIS_URL: z.string().url().optional(),
  /** Run the ingestion worker inside this process (off for API-only instances of a scale-out). */
  RUN_WORKER: boolean.default(true),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  /** Attempts of an ingestion job before its document is marked FAILED (transient errors only). */
  JOB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(25).default(5),
  WORKER_HEARTBEAT_SECONDS: z.coerce.number().positive().default(5),
  /** A worker silent this long is presumed dead and its jobs are handed to another worker. */
  WORKER_STALE_AFTER_SECONDS: z.coerce.number().positive().default(30),
  /** Postgres text-search configuration of chunk full-text vectors. */
  FTS_CONFIG: z.string().regex(/^[a-z_]+$/).default('english'),

  /** Set → Gemini embeddings (and chat); unset → the embedded local models. */
  GEMINI_API_KEY: z.string().min(1).optional(),
  /** Override the Gemini endpoint (tests use a local fake server). */
  GEMINI_BASE_URL: z.string().url().optional(),
  GEMINI_EMBEDDING_MODEL: z.string().default('gemini-embedding-001'),
  GEMINI_CHAT_MODEL: z.string().default('gemini-flash-latest'),

  // Abuse limits (src/limits/). A refused operation gets extensions.code QUERY_TOO_COMPLEX.
  /** Answer introspection queries (__schema, __type); false in production hides the schema. */
  INTROSPECTION: boolean.default(true),
  /** Deepest selection nesting (fragments flattened; introspection exempt). */
  MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(10),
  /** graphql-armor cost (object 2, scalar 1, ×1.5 per level, × page size), page sizes from variables. */
  MAX_QUERY_COST: z.coerce.number().int().min(1).default(25_000),
  MAX_QUERY_ALIASES: z.coerce.number().int().min(0).default(10),
  MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(0).default(20),
  /** Lexical tokens in one document (bounds parsing work). */
  MAX_QUERY_TOKENS: z.coerce.number().int().min(1).default(1000),
  /** Queries and mutations (not subscriptions) answer REQUEST_TIMEOUT after this long; 0 = never. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /** off: any operation; allow: also accept allow-list hashes; only: allow-listed operations only. */
  PERSISTED_OPERATIONS: z.enum(['off', 'allow', 'only']).default('off'),
  /** The allow-list (hash → document JSON); unset → persisted-operations.json at the repository root. */
  PERSISTED_OPERATIONS_FILE: z.string().min(1).optional(),
  /**
   * Signed-in members' answers to document, member and tenant reads are kept this long at most
   * (changes drop them at once, see src/response-cache.ts); 0 turns the cache off.
   */
  RESPONSE_CACHE_TTL_MS: z.coerce.number().int().min(0).default(60_000),
  /** Memory for cached answers per API process, in MB (their JSON size; least recently used go first). */
  RESPONSE_CACHE_MAX_MB: z.coerce.number().positive().default(32),
  /** Serve Prometheus metrics at /metrics. */
  METRICS: boolean.default(true),
  /** Set → /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
  graphiql: boolean;
  loginMaxFailures: number;
  invitationTtlHours: number;
  maxUploadBytes: number;
  defaultPlan: Plan;
  /** Effective limits of every plan (built-in values, TENANT_MAX_*, PLAN_LIMITS). */
  planLimits: Record<Plan, PlanLimits>;
  rateLimitSyncMs: number;
  redisUrl: string | undefined;
  runWorker: boolean;
  workerConcurrency: number;
  jobMaxAttempts: number;
  workerHeartbeatSeconds: number;
  workerStaleAfterSeconds: number;
  ftsConfig: string;
  geminiApiKey: string | undefined;
  geminiBaseUrl: string | undefined;
  geminiEmbeddingModel: string;
  geminiChatModel: string;
  introspection: boolean;
  maxQueryDepth: number;
  maxQueryCost: number;
  maxQueryAliases: number;
  maxQueryDirectives: number;
  maxQueryTokens: number;
  requestTimeoutMs: number;
  responseCacheTtlMs: number;
  responseCacheMaxBytes: number;
  persistedOperations: 'off' | 'allow' | 'only';
  persistedOperationsFile: string;
  metrics: boolean;
  metricsToken: string | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    jwtSecret: e.JWT_SECRET,
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    logLevel: e.LOG_LEVEL,
    graphiql: e.GRAPHIQL,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    invitationTtlHours: e.INVITATION_TTL_HOURS,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    defaultPlan: e.DEFAULT_PLAN,
    planLimits: resolvePlanLimits(e.PLAN_LIMITS, { maxDocuments: e.TENANT_MAX_DOCUMENTS, maxBytes: e.TENANT_MAX_BYTES }),
    rateLimitSyncMs: e.RATE_LIMIT_SYNC_MS,
    redisUrl: e.REDIS_URL,
    runWorker: e.RUN_WORKER,
    workerConcurrency: e.WORKER_CONCURRENCY,
    jobMaxAttempts: e.JOB_MAX_ATTEMPTS,
    workerHeartbeatSeconds: e.WORKER_HEARTBEAT_SECONDS,
    workerStaleAfterSeconds: e.WORKER_STALE_AFTER_SECONDS,
    ftsConfig: e.FTS_CONFIG,
    geminiApiKey: e.GEMINI_API_KEY,
    geminiBaseUrl: e.GEMINI_BASE_URL,
    geminiEmbeddingModel: e.GEMINI_EMBEDDING_MODEL,
    geminiChatModel: e.GEMINI_CHAT_MODEL,
    introspection: e.INTROSPECTION,
    maxQueryDepth: e.MAX_QUERY_DEPTH,
    maxQueryCost: e.MAX_QUERY_COST,
    maxQueryAliases: e.MAX_QUERY_ALIASES,
    maxQueryDirectives: e.MAX_QUERY_DIRECTIVES,
    maxQueryTokens: e.MAX_QUERY_TOKENS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    responseCacheTtlMs: e.RESPONSE_CACHE_TTL_MS,
    responseCacheMaxBytes: Math.round(e.RESPONSE_CACHE_MAX_MB * 1024 * 1024),
    persistedOperations: e.PERSISTED_OPERATIONS,
    persistedOperationsFile: e.PERSISTED_OPERATIONS_FILE
      ? path.resolve(e.PERSISTED_OPERATIONS_FILE)
      : DEFAULT_PERSISTED_OPERATIONS_FILE,
    metrics: e.METRICS,
    metricsToken: e.METRICS_TOKEN,
  };
}
