// Prisma CLI configuration. Only `prisma generate` is run through the CLI here
// (its schema engine binary cannot be downloaded offline); migrations are applied and
// authored by scripts/migrate.ts and scripts/migration-new.ts.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/unused' },
});
