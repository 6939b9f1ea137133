// Composition root: opens the database, builds services, pub/sub and the GraphQL handler.
// The same assembly serves `npm start`, the tests and the benchmarks.
import type { Config } from './config.ts';
import { createContextFactory } from './context.ts';
import { openDatabase, type Database } from './db/index.ts';
import type { Logger } from './logger.ts';
import { createEventPubSub, type PubSub } from './pubsub.ts';
import { schema } from './schema/index.ts';
import { createServices, type Services } from './services/index.ts';
import { createTokenSigner, resolveJwtSecret } from './services/tokens.ts';
import { createYogaApp, type Yoga } from './yoga.ts';

export interface App {
  config: Config;
  logger: Logger;
  db: Database;
  pubsub: PubSub;
  services: Services;
  yoga: Yoga;
  /** Builds a request context (used by the WebSocket server for each subscription). */
  contextFactory: ReturnType<typeof createContextFactory>;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Keep the embedded database in memory instead of under DATA_DIR (tests). */
  inMemory?: boolean;
}

export async function createApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    embeddedDataDir: options.inMemory ? null : config.dataDir,
    logger,
  });
  const pubsub = await createEventPubSub(config.databaseUrl, logger);
  const tokens = createTokenSigner(resolveJwtSecret(config.jwtSecret, config.dataDir), config.jwtTtlSeconds);
  const services = createServices({ db, pubsub, tokens, config });
  const contextFactory = createContextFactory(services, pubsub, logger);
  const yoga = createYogaApp({ schema, context: contextFactory, graphiql: config.graphiql, logger });

  return {
    config,
    logger,
    db,
    pubsub,
    services,
    yoga,
    contextFactory,
    async close() {
      await pubsub.close();
      await db.close();
    },
  };
}
