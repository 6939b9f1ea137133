// The nearest-neighbour index of PostgreSQL holds sign bits (binary quantisation) and the search
// re-ranks its candidates by exact cosine distance. Dense vectors, as real embeddings are, in a
// database of their own: the other retrieval tests' hash vectors are sparse, mostly zero bits,
// and share one graph with whatever else a database holds.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toStoredVector } from '../src/providers/embedder.ts';
import { vectorSearch, type ScoredChunk, type SearchQuery } from '../src/retrieval/search.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { countStatements } from './helpers/statements.ts';
import { eventually } from './helpers/wait.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({}, { embedder: hashEmbedder() });
});
afterAll(async () => {
  await app?.close();
});

/** A tenant with one READY document, whose chunks the test then writes itself. */
async function tenantWithDocument(): Promise<{ tenantId: string; documentId: string }> {
  const session = await app.services.auth.signUp({
    tenantName: 'Dense',
    tenantSlug: `dense-${process.pid}-${Date.now().toString(36)}`,
    name: 'Ada Admin',
    email: 'ada@example.com',
    password: 'correct horse battery staple',
  });
  const tenantId = session.tenant.id;
  const documents = app.services.forViewer({ userId: session.user.id, tenantId, role: 'ADMIN' }).documents;
  const { document } = await documents.addText({ title: 'Dense', content: 'A placeholder document whose chunks are added below.' });
  await eventually(
    async () => (await app.db.prisma.document.findUnique({ where: { id: document.id } }))?.status === 'READY',
    'the document to be READY',
    60_000,
  );
  return { tenantId, documentId: document.id };
}
describe.runIf(process.env.DATABASE_URL)('dense vectors through the quantised index', () => {
  const MODEL = 'test/dense';
  const ROWS = 800;
  /** Deterministic dense unit vectors (mulberry32), the shape real embeddings have: about half the signs positive. */
  function denseVectors(count: number, seed: number): number[][] {
    let a = seed >>> 0;
    const random = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    };
    return Array.from({ length: count }, () => toStoredVector(Array.from({ length: 768 }, random)));
  }
  const cosine = (x: number[], y: number[]) => x.reduce((sum, value, i) => sum + value * y[i]!, 0);

  it('re-ranks the index candidates by exact cosine distance, in one statement', async () => {
    const tenant = await tenantWithDocument();
    const { documentId } = tenant;
    const vectors = denseVectors(ROWS, 42);
    await app.db.pool.query(
      `INSERT INTO chunks (tenant_id, document_id, index, page_number, char_start, char_end, text, embedding, embedding_model)
       SELECT $1::uuid, $2::uuid, 1000 + i, 1, 0, 1, 'dense ' || i, v::vector, $3
         FROM unnest($4::text[]) WITH ORDINALITY AS x(v, i)`,
      [tenant.tenantId, documentId, MODEL, vectors.map((v) => `[${v.join(',')}]`)],
    );
    await app.db.pool.query('ANALYZE chunks');
    // Near row 0: row 0 first, then the rest by exact similarity.
    const question = toStoredVector(vectors[0]!.map((x, i) => x + 0.6 * vectors[1]![i]!));
    const exact = vectors
      .map((v, i) => ({ text: `dense ${i + 1}`, similarity: cosine(v, question) }))
      .sort((x, y) => y.similarity - x.similarity)
      .slice(0, 10);
    // Sorting disabled, as in the test above: the planner must take the index.
    const pool = new pg.Pool({ connectionString: app.db.connectionString, max: 1, options: '-c enable_sort=off' });
    try {
      const q: SearchQuery = { tenantId: tenant.tenantId, embeddingModel: MODEL, vector: question, text: '', ftsConfig: 'english' };
      await vectorSearch(pool, q, 1); // learns that the index exists
      let found: ScoredChunk[] = [];
      // One statement: the index found enough candidates, no exact scan followed.
      expect(await countStatements(pool).count(async () => (found = await vectorSearch(pool, q, 10)))).toBe(1);
      expect(found.map((hit) => hit.text).slice(0, 2)).toEqual(['dense 1', 'dense 2']);
      const overlap = found.filter((hit) => exact.some((e) => e.text === hit.text)).length;
      expect(overlap).toBeGreaterThanOrEqual(8);
      for (const hit of found) {
        const own = exact.find((e) => e.text === hit.text);
        if (own) expect(hit.vectorSimilarity).toBeCloseTo(own.similarity, 5);
      }
      const similarities = found.map((hit) => hit.vectorSimilarity!);
      expect(similarities).toEqual([...similarities].sort((x, y) => y - x));
    } finally {
      await pool.end();
    }
  });
});
