import { defineConfig } from 'vitest/config';

// Tests run against DATABASE_URL when it is set (CI: real PostgreSQL with pgvector),
// else each test file boots its own in-memory embedded PGlite.
export default defineConfig({
  resolve: {
    // graphql 16 ships both index.mjs ("module") and index.js ("main"). Node loads index.js for
    // every package; Vite would pick index.mjs for our files only, and graphql refuses two copies.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // PGlite files each hold a WASM Postgres in memory; two at a time suit these 2-core machines.
    maxWorkers: 2,
  },
});
