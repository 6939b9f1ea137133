// `npm run db:migrate`: applies pending prisma/migrations to the PostgreSQL at DATABASE_URL
// (what `prisma migrate deploy` would do, without the engine binary it cannot download here).
import pg from 'pg';
import { applyMigrations } from '../src/db/migrate.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error(
    'DATABASE_URL is not set. Set it to the PostgreSQL to migrate.\n' +
      '(The embedded database needs no command: it applies pending migrations itself when the server starts.)',
  );
  process.exit(1);
}

const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
try {
  const { applied } = await applyMigrations(pool, { log: (msg) => console.log(msg) });
  console.log(applied.length ? `${applied.length} migration(s) applied.` : 'Database is up to date.');
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await pool.end();
}
