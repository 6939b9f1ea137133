// Composition root: opens the database, builds pub/sub, providers, services, the GraphQL
// handler and (unless RUN_WORKER=false) the ingestion worker. The same assembly serves
// `npm start`, `npm run worker`, the tests and the benchmarks.
import { runMigrations } from 'graphile-worker';
import { createGenerationRunner, type GenerationRunner } from './chat/generation.ts';
import type { Config } from './config.ts';
import { createContextFactory } from './context.ts';
import { openDatabase, type Database } from './db/index.ts';
import { databaseDeps } from './ingest/pipeline.ts';
import type { Logger } from './logger.ts';
import { createHealth, type Health } from './observability/health.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { createWorkerMonitor } from './observability/worker-monitor.ts';
import { createRateLimiter, postgresCounterStore, type RateLimiter } from './limits/rate-limiter.ts';
import { redisCounterStore } from './limits/redis-counter-store.ts';
import type { ChatModel } from './providers/chat-model.ts';
import type { Embedder } from './providers/embedder.ts';
import { createModels, type Models } from './providers/registry.ts';
import { createEmbeddedPubSub, createEventPubSub, type PubSub } from './pubsub.ts';
import { DEFAULT_RETRIEVAL } from './retrieval/search.ts';
import { schema } from './schema/index.ts';
import { createServices, type Services } from './services/index.ts';
import { createTokenSigner, resolveJwtSecret } from './services/tokens.ts';
import { postgresStorage } from './storage/index.ts';
import { graphileLogger, startWorker, type RunningWorker } from './worker/index.ts';
import { createYogaApp, type Yoga } from './yoga.ts';

export interface App {
  config: Config;
  logger: Logger;
  db: Database;
  pubsub: PubSub;
  /** The default embedder and chat model (tenants may choose others from `models`). */
  embedder: Embedder;
  chatModel: ChatModel;
  models: Models;
  /** Requests per minute per member (plans). */
  rateLimiter: RateLimiter;
  generations: GenerationRunner;
  services: Services;
  yoga: Yoga;
  /** This instance's Prometheus registry (served at /metrics) and recording helpers. */
  metrics: Metrics;
  /** The checks behind /health and /ready. */
  health: Health;
  /** Builds a request context (used by the WebSocket server for each subscription). */
  contextFactory: ReturnType<typeof createContextFactory>;
  worker: RunningWorker | null;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Keep the embedded database in memory instead of under DATA_DIR (tests). */
  inMemory?: boolean;
  /** Replaces the configured embedder (benchmarks, tests). */
  embedder?: Embedder;
  /** Replaces the configured chat model (benchmarks, tests). */
  chatModel?: ChatModel;
}

export async function createApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    embeddedDataDir: options.inMemory ? null : config.dataDir,
    logger,
  });
  // The job queue's own schema: uploads enqueue jobs even on instances that run no worker.
  await runMigrations({ pgPool: db.pool, logger: graphileLogger(logger) });
  // This instance's Prometheus registry; components record into it (see src/observability/).
  const metrics = createMetrics({ pool: db.pool, logger });
  const pubsub = config.databaseUrl ? await createEventPubSub(config.databaseUrl, logger) : await createEmbeddedPubSub(db.pool);
  // Models by name: the configured defaults (or the instances given) and the others a tenant may pick.
  const models = createModels({
    geminiApiKey: config.geminiApiKey,
    geminiBaseUrl: config.geminiBaseUrl,
    geminiEmbeddingModel: config.geminiEmbeddingModel,
    geminiChatModel: config.geminiChatModel,
    embedder: options.embedder,
    chatModel: options.chatModel,
  });
  const embedder = models.embedders.get(models.embedders.defaultModel);
  const chatModel = models.chatModels.get(models.chatModels.defaultModel);
  const generations = createGenerationRunner({
    prisma: db.prisma,
    tenantPrisma: db.tenantPrisma,
    pool: db.pool,
    pubsub,
    models,
    logger,
    onAnswerFinished: (answer) => metrics.recordModelTokens(answer),
  });
  const tokens = createTokenSigner(resolveJwtSecret(config.jwtSecret, config.dataDir), config.jwtTtlSeconds);
  const storage = postgresStorage;
  const services = createServices({ db, pubsub, tokens, storage, generations, models, retrieval: DEFAULT_RETRIEVAL, config, logger });
  const contextFactory = createContextFactory(services, pubsub, logger);
  const workerMonitor = config.runWorker ? createWorkerMonitor(metrics) : null;
  const health = createHealth({ pool: db.pool, worker: workerMonitor && (() => workerMonitor.status()) });
  // Request counters shared by the instances: Redis when configured, else PostgreSQL.
  const counterStore = config.redisUrl ? await redisCounterStore(config.redisUrl, logger) : postgresCounterStore(db.pool);
  const rateLimiter = createRateLimiter(counterStore, { syncIntervalMs: config.rateLimitSyncMs, logger });
  const yoga = createYogaApp({ schema, context: contextFactory, graphiql: config.graphiql, logger, config, metrics, health, rateLimiter, pubsub });
  const worker = workerMonitor
    ? await startWorker(db, { ...databaseDeps(db), pubsub, storage, embedders: models.embedders, logger, ftsConfig: config.ftsConfig }, config, {
        observe: (events) => workerMonitor.observe(events),
      })
    : null;

  return {
    config,
    logger,
    db,
    pubsub,
    embedder,
    chatModel,
    models,
    rateLimiter,
    generations,
    services,
    yoga,
    metrics,
    health,
    contextFactory,
    worker,
    async close() {
      await worker?.stop();
      await rateLimiter.close();
      await generations.close();
      await pubsub.close();
      await db.close();
    },
  };
}
