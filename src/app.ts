// Composition root: opens the database, builds pub/sub, providers, services, the GraphQL
// handler and (unless RUN_WORKER=false) the ingestion worker. The same assembly serves
// `npm start`, `npm run worker`, the tests and the benchmarks.
import { runMigrations } from 'graphile-worker';
import type { Config } from './config.ts';
import { createContextFactory } from './context.ts';
import { openDatabase, type Database } from './db/index.ts';
import type { Logger } from './logger.ts';
import type { Embedder } from './providers/embedder.ts';
import { createEmbedder } from './providers/index.ts';
import { createEventPubSub, type PubSub } from './pubsub.ts';
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
  embedder: Embedder;
  services: Services;
  yoga: Yoga;
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
}

export async function createApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    embeddedDataDir: options.inMemory ? null : config.dataDir,
    logger,
  });
  // The job queue's own schema: uploads enqueue jobs even on instances that run no worker.
  await runMigrations({ pgPool: db.pool, logger: graphileLogger(logger) });
  const pubsub = await createEventPubSub(config.databaseUrl, logger);
  const embedder =
    options.embedder ??
    createEmbedder({
      geminiApiKey: config.geminiApiKey,
      geminiBaseUrl: config.geminiBaseUrl,
      geminiEmbeddingModel: config.geminiEmbeddingModel,
    });
  const tokens = createTokenSigner(resolveJwtSecret(config.jwtSecret, config.dataDir), config.jwtTtlSeconds);
  const storage = postgresStorage;
  const services = createServices({ db, pubsub, tokens, storage, config });
  const contextFactory = createContextFactory(services, pubsub, logger);
  const yoga = createYogaApp({ schema, context: contextFactory, graphiql: config.graphiql, logger, config });
  const worker = config.runWorker
    ? await startWorker(db, { prisma: db.prisma, pubsub, storage, embedder, logger, ftsConfig: config.ftsConfig }, config)
    : null;

  return {
    config,
    logger,
    db,
    pubsub,
    embedder,
    services,
    yoga,
    contextFactory,
    worker,
    async close() {
      await worker?.stop();
      await pubsub.close();
      await db.close();
    },
  };
}
