// `npm run worker`: an ingestion worker process on its own, for scale-out next to API
// instances started with RUN_WORKER=false. Needs DATABASE_URL (the embedded database
// lives inside the API process). On SIGTERM/SIGINT it stops taking jobs, lets running
// ones finish (graphile-worker releases them after its grace period) and exits.
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';

async function main(): Promise<void> {
  const config = { ...loadConfig(), runWorker: true, graphiql: false };
  const logger = createLogger(config.logLevel);
  if (!config.databaseUrl) {
    logger.error('npm run worker needs DATABASE_URL; with the embedded database the worker runs inside `npm start`');
    process.exit(1);
  }
  const app = await createApp(config, logger);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
