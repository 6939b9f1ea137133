// Hybrid retrieval against a real database (PostgreSQL with its HNSW index when DATABASE_URL is
// set, else the embedded PGlite), with chunks written by the real ingestion pipeline.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant-session.ts';
import { toStoredVector } from '../src/providers/embedder.ts';
import {
  DEFAULT_RETRIEVAL,
  fuse,
  hybridSearch,
  type ScoredChunk,
  textSearch,
  vectorSearch,
  type SearchQuery,
} from '../src/retrieval/search.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { eventually } from './helpers/wait.ts';

let app: TestApp;
let counter = 0;

beforeAll(async () => {
  app = await startTestApp({ TENANT_MAX_DOCUMENTS: '100' }, { embedder: hashEmbedder() });
});
afterAll(async () => {
  await app?.close();
});

/** A new tenant; returns its id and a function adding a text document and waiting until READY. */
async function newTenant() {
  const n = counter++;
  const session = await app.services.auth.signUp({
    tenantName: `Retrieval ${n}`,
    tenantSlug: `retrieval-${process.pid}-${Date.now().toString(36)}-${n}`,
    name: 'Ada Admin',
    email: 'ada@example.com',
    password: 'correct horse battery staple',
  });
  const tenantId = session.tenant.id;
  const documents = app.services.forViewer({ userId: session.user.id, tenantId, role: 'ADMIN' }).documents;
  return {
    tenantId,
    documents,
    async add(title: string, content: string): Promise<string> {
      const { document } = await documents.addText({ title, content });
      await eventually(
        async () => (await app.db.prisma.document.findUnique({ where: { id: document.id } }))?.status === 'READY',
        `${title} to be READY`,
        60_000,
      );
      return document.id;
    },
  };
}

async function query(tenantId: string, text: string, embeddingModel = app.embedder.model): Promise<SearchQuery> {
  const [vector] = await app.embedder.embed([text], { task: 'query' });
  return { tenantId, embeddingModel, vector: toStoredVector(vector!), text, ftsConfig: app.config.ftsConfig };
}

async function chunkIds(where: string, params: unknown[]): Promise<Set<string>> {
  const { rows } = await app.db.pool.query<{ id: string }>(`SELECT id FROM chunks WHERE ${where}`, params);
  return new Set(rows.map((row) => row.id));
}

describe('hybrid search', () => {
  let tenant: Awaited<ReturnType<typeof newTenant>>;
  let lighthouse: string;
  beforeAll(async () => {
    tenant = await newTenant();
    lighthouse = await tenant.add('Lighthouses', 'The Fresnel lens lets a lighthouse beam reach ships thirty kilometres out at sea.');
    await tenant.add('Bread', 'Sourdough bread rises slowly because wild yeast ferments the dough overnight.');
    await tenant.add('Bees', 'Honey bees dance to tell the hive where flowers with nectar can be found.');
    await tenant.add('Glaciers', 'Glaciers carve valleys as the ice slowly grinds the bedrock beneath them.');
  });

  it('ranks the relevant chunk first, found by both retrievers', async () => {
    const q = await query(tenant.tenantId, 'How far does the beam of a lighthouse with a Fresnel lens reach?');
    const results = await hybridSearch(app.db.pool, q);
    expect(results[0]).toMatchObject({ documentId: lighthouse, documentTitle: 'Lighthouses', index: 0, pageNumber: 1, vectorRank: 1, textRank: 1 });
    expect(results[0]!.score).toBeCloseTo(2 / (DEFAULT_RETRIEVAL.rrfK + 1), 12);
    expect(results[0]!.vectorSimilarity).toBeGreaterThan(0.3);
    expect(results[0]!.text).toContain('Fresnel lens');
    // Fused scores never increase down the list.
    for (let i = 1; i < results.length; i++) expect(results[i]!.score).toBeLessThanOrEqual(results[i - 1]!.score);
  });

  it('matches a question by any of its words, not all of them', async () => {
    const q = await query(tenant.tenantId, 'Which insects dance to share directions, and what do penguins eat?');
    const [first] = await textSearch(app.db.pool, q, 10);
    expect(first).toMatchObject({ documentTitle: 'Bees', textRank: 1, vectorRank: null });
    expect(first!.score).toBeGreaterThan(0);
  });

  it('is deterministic', async () => {
    const q = await query(tenant.tenantId, 'slowly');
    const first = await hybridSearch(app.db.pool, q, { minScore: 0 });
    const second = await hybridSearch(app.db.pool, q, { minScore: 0 });
    expect(second.map((c) => c.chunkId)).toEqual(first.map((c) => c.chunkId));
    expect(first.length).toBe(4);
  });

  it('drops fused results under the threshold', async () => {
    const q = await query(tenant.tenantId, 'Fresnel lens lighthouse');
    const all = await hybridSearch(app.db.pool, q, { minScore: 0 });
    // Only the lighthouse chunk has the words, so only it is found by both retrievers.
    expect(all.map((c) => [c.vectorRank !== null, c.textRank !== null])).toEqual([
      [true, true],
      [true, false],
      [true, false],
      [true, false],
    ]);
    expect(all[3]!.score).toBeCloseTo(1 / (DEFAULT_RETRIEVAL.rrfK + 4), 12);
    // A threshold between one retriever's first rank and both retrievers' first ranks.
    const strong = await hybridSearch(app.db.pool, q, { minScore: 1.5 / (DEFAULT_RETRIEVAL.rrfK + 1) });
    expect(strong.map((c) => c.documentId)).toEqual([lighthouse]);
    const none = await hybridSearch(app.db.pool, q, { minScore: 1 });
    expect(none).toEqual([]);
  });

  it('leaves the pooled connection settings as they were', async () => {
    const q = await query(tenant.tenantId, 'bread');
    await vectorSearch(app.db.pool, q, 5);
    const { rows } = await app.db.pool.query<{ scan: string | null }>(`SELECT current_setting('hnsw.iterative_scan', true) AS scan`);
    expect(rows[0]!.scan ?? 'off').toBe('off');
  });

  it('refuses a text-search configuration that is not a plain name', async () => {
    const q = await query(tenant.tenantId, 'bread');
    await expect(textSearch(app.db.pool, { ...q, ftsConfig: "english'; DROP TABLE chunks; --" }, 5)).rejects.toThrow(RangeError);
    await expect(textSearch(app.db.pool, { ...q, ftsConfig: 'klingon' }, 5)).rejects.toThrow(/klingon/);
  });

});

describe('weighted fusion', () => {
  const hit = (chunkId: string, retriever: 'vector' | 'text', rank: number): ScoredChunk => ({
    chunkId,
    documentId: 'd',
    documentTitle: 't',
    index: 0,
    pageNumber: 1,
    text: chunkId,
    score: 0,
    vectorRank: retriever === 'vector' ? rank : null,
    textRank: retriever === 'text' ? rank : null,
    vectorSimilarity: null,
  });
  const vector = [hit('v1', 'vector', 1), hit('both', 'vector', 2)];
  const text = [hit('both', 'text', 1), hit('t2', 'text', 2)];
  const rrf = (rank: number) => 1 / (DEFAULT_RETRIEVAL.rrfK + rank);

  it('orders by weighted score and admits by the unweighted one', () => {
    const equal = fuse(vector, text, { ...DEFAULT_RETRIEVAL, n: 10 });
    expect(equal.map((c) => c.chunkId)).toEqual(['both', 'v1', 't2']);
    const light = fuse(vector, text, { ...DEFAULT_RETRIEVAL, n: 10, vectorWeight: 0.3 });
    expect(light.map((c) => c.chunkId)).toEqual(['both', 't2', 'v1']);
    expect(light[0]!.score).toBeCloseTo(0.3 * rrf(2) + rrf(1), 12);
    expect(light[2]!.score).toBeCloseTo(0.3 * rrf(1), 12);
    // The threshold sees unweighted scores: a light vector list's first hit qualifies exactly as
    // an equal one's would, while the text list's second does not.
    const strict = fuse(vector, text, { ...DEFAULT_RETRIEVAL, n: 10, vectorWeight: 0.3, minScore: rrf(1) });
    expect(strict.map((c) => c.chunkId)).toEqual(['both', 'v1']);
    const stricter = fuse(vector, text, { ...DEFAULT_RETRIEVAL, n: 10, vectorWeight: 0.3, minScore: rrf(1) + 1e-9 });
    expect(stricter.map((c) => c.chunkId)).toEqual(['both']);
  });
});

describe('full-text ranking (BM25)', () => {
  /** The tenant's lexeme counts as stored, and as recounted from its chunks. */
  async function counts(tenantId: string) {
    const stored = await app.db.pool.query<{ lexeme: string; chunks: number }>(
      'SELECT lexeme, chunks FROM fulltext_lexemes WHERE tenant_id = $1 ORDER BY lexeme',
      [tenantId],
    );
    const recounted = await app.db.pool.query<{ lexeme: string; chunks: number }>(
      `SELECT x.lexeme, count(*)::int AS chunks
         FROM chunks c CROSS JOIN LATERAL unnest(tsvector_to_array(c.tsv)) AS x(lexeme)
        WHERE c.tenant_id = $1 GROUP BY 1 ORDER BY 1`,
      [tenantId],
    );
    const totals = await app.db.pool.query<{ chunks: number; chars: number }>(
      'SELECT chunks::int, chars::int FROM fulltext_totals WHERE tenant_id = $1',
      [tenantId],
    );
    const actual = await app.db.pool.query<{ chunks: number; chars: number }>(
      'SELECT count(*)::int AS chunks, coalesce(sum(length(text)), 0)::int AS chars FROM chunks WHERE tenant_id = $1',
      [tenantId],
    );
    return { stored: stored.rows, recounted: recounted.rows, totals: totals.rows[0] ?? { chunks: 0, chars: 0 }, actual: actual.rows[0]! };
  }

  it('weighs a rare word above a common one', async () => {
    const tenant = await newTenant();
    // "river" is in every document, "otter" in one: a question with both words must rank the
    // otter document first, even though another document says "river" three times.
    const otter = await tenant.add('Otters', 'An otter swims in the river.');
    await tenant.add('Rivers', 'The river meets another river, and the wide river flows on.');
    for (const i of [1, 2, 3]) await tenant.add(`Boats ${i}`, `Boat number ${i} sails down the river.`);
    const q = await query(tenant.tenantId, 'river otter');
    const hits = await textSearch(app.db.pool, q, 10);
    expect(hits.map((hit) => hit.documentId)[0]).toBe(otter);
    expect(hits).toHaveLength(5);
    // Both words score for the otter chunk; the three-river chunk is second, above one-river ones.
    expect(hits[1]!.documentTitle).toBe('Rivers');
    expect(hits[0]!.score).toBeGreaterThan(2 * hits[1]!.score);
    // A word no chunk holds finds nothing, and changes nothing when added to a question.
    expect(await textSearch(app.db.pool, await query(tenant.tenantId, 'zeppelin'), 10)).toEqual([]);
    const withUnknown = await textSearch(app.db.pool, await query(tenant.tenantId, 'river otter zeppelin'), 10);
    expect(withUnknown.map((hit) => [hit.chunkId, hit.score])).toEqual(hits.map((hit) => [hit.chunkId, hit.score]));
  });

  it('may match words before the tenant policy, so the GIN index can search by them', async () => {
    // Without a LEAKPROOF match function (migration 20261122120000) the planner may not evaluate
    // `tsv @@ query` before the row-level security policy, so the (tenant, tsv) index is searched
    // for the tenant only and every chunk of the tenant is matched on the heap (bench:chat).
    const { rows } = await app.db.pool.query<{ leakproof: boolean }>(
      `SELECT proleakproof AS leakproof FROM pg_proc WHERE oid = 'pg_catalog.ts_match_vq(tsvector, tsquery)'::regprocedure`,
    );
    expect(rows[0]!.leakproof).toBe(true);
    // The policy still decides which rows come back.
    const a = await newTenant();
    const b = await newTenant();
    await a.add('Kites', 'A kite rises when the wind pushes against its tilted sail.');
    const seen = await withTenant(app.db.pool, b.tenantId, async (client) => {
      const result = await client.query(`SELECT id FROM chunks WHERE tsv @@ $1::tsquery`, ["'kite' | 'sail'"]);
      return result.rowCount;
    });
    expect(seen).toBe(0);
  });

  it('keeps its word counts exact through ingestion, deletion, rewrites and rollbacks', async () => {
    const tenant = await newTenant();
    const first = await tenant.add('Tides', 'The moon pulls the tides. Tides rise twice a day on most coasts.');
    await tenant.add('Storms', 'Storms push water onto the coast and the tides rise higher.');
    let now = await counts(tenant.tenantId);
    expect(now.stored.length).toBeGreaterThan(5);
    expect(now.stored).toEqual(now.recounted);
    expect(now.totals).toEqual(now.actual);

    // A rewrite of tsv (what a language change does) moves the counts to the new lexemes.
    await app.db.pool.query(`UPDATE chunks SET tsv = to_tsvector('simple', text) WHERE document_id = $1`, [first]);
    now = await counts(tenant.tenantId);
    expect(now.stored.map((row) => row.lexeme)).toContain('the'); // a stop word in english, not in simple
    expect(now.stored).toEqual(now.recounted);

    // A rolled-back insert leaves no trace.
    const client = await app.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO chunks (tenant_id, document_id, index, page_number, char_start, char_end, text, embedding_model, tsv)
         SELECT tenant_id, document_id, index + 100, page_number, char_start, char_end, text, embedding_model, tsv
           FROM chunks WHERE document_id = $1`,
        [first],
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await counts(tenant.tenantId)).toEqual(now);

    // Reindexing replaces the chunks; deleting the document removes its words.
    await tenant.documents.reindex(first);
    await eventually(
      async () => (await app.db.prisma.document.findUnique({ where: { id: first } }))?.status === 'READY',
      'the reindexed document to be READY',
    );
    now = await counts(tenant.tenantId);
    expect(now.stored).toEqual(now.recounted);
    await tenant.documents.delete(first);
    now = await counts(tenant.tenantId);
    expect(now.stored.map((row) => row.lexeme)).not.toContain('moon');
    expect(now.stored).toEqual(now.recounted);
    expect(now.totals).toEqual(now.actual);
  });
});

describe('tenant and model isolation', () => {
  it('never returns chunks of another tenant, even identical ones', async () => {
    const a = await newTenant();
    const b = await newTenant();
    await a.add('Vault', 'The vault code of the Acme office is kept in the red safe behind the painting.');
    await b.add('Vault', 'The vault code of the Acme office is kept in the blue safe behind the painting.');
    const aChunks = await chunkIds('tenant_id = $1', [a.tenantId]);
    const bChunks = await chunkIds('tenant_id = $1', [b.tenantId]);
    expect(aChunks.size).toBe(1);
    expect(bChunks.size).toBe(1);
    for (const [tenantId, own] of [
      [a.tenantId, aChunks],
      [b.tenantId, bChunks],
    ] as const) {
      const q = await query(tenantId, 'Where is the vault code of the Acme office kept, red or blue safe?');
      const results = [
        ...(await hybridSearch(app.db.pool, q, { minScore: 0, n: 50, k: 50 })),
        ...(await vectorSearch(app.db.pool, q, 50)),
        ...(await textSearch(app.db.pool, q, 50)),
      ];
      expect(results.length).toBe(3);
      for (const result of results) expect(own.has(result.chunkId)).toBe(true);
    }
  });

  it('never returns or compares chunks of another embedding model', async () => {
    const tenant = await newTenant();
    const documentId = await tenant.add('Comets', 'Comets grow a tail of gas and dust as they pass close to the sun.');
    // The same rows again under another model: same text, same vector, so only the model differs.
    await app.db.pool.query(
      `INSERT INTO chunks (tenant_id, document_id, index, page_number, char_start, char_end, text, embedding, embedding_model, tsv)
       SELECT tenant_id, document_id, index + 1000, page_number, char_start, char_end, text, embedding, 'other/model', tsv
         FROM chunks WHERE document_id = $1`,
      [documentId],
    );
    const own = await chunkIds('document_id = $1 AND embedding_model = $2', [documentId, app.embedder.model]);
    const other = await chunkIds('document_id = $1 AND embedding_model = $2', [documentId, 'other/model']);
    expect(own.size).toBe(1);
    expect(other.size).toBe(1);

    const q = await query(tenant.tenantId, 'Why do comets grow a tail near the sun?');
    const results = await hybridSearch(app.db.pool, q, { minScore: 0 });
    expect(results.map((c) => c.chunkId)).toEqual([...own]);
    const asOther = await hybridSearch(app.db.pool, { ...q, embeddingModel: 'other/model' }, { minScore: 0 });
    expect(asOther.map((c) => c.chunkId)).toEqual([...other]);
    expect(await hybridSearch(app.db.pool, { ...q, embeddingModel: 'unknown/model' })).toEqual([]);
  });
});

describe('a small tenant among many rows', () => {
  const words = ['revenue', 'quarter', 'region', 'forecast', 'margin', 'growth', 'sales', 'budget', 'report', 'profit', 'costs', 'audit'];
  const QUESTION = 'quarterly revenue report with margin growth and sales forecast per region';
  let big: Awaited<ReturnType<typeof newTenant>>;
  let small: Awaited<ReturnType<typeof newTenant>>;

  beforeAll(async () => {
    big = await newTenant();
    small = await newTenant();
    // ~3500 chunks of finance sentences: all of them nearer to the question than any of the small
    // tenant's chunks, so an HNSW scan without iterative search finds none of the small tenant's.
    let seed = 1;
    const pick = () => words[(seed = (seed * 16807) % 2147483647) % words.length]!;
    const paragraph = (i: number) =>
      Array.from({ length: 6 }, () => `The ${pick()} ${pick()} of unit ${i} shows ${pick()} and ${pick()} ${pick()} this year.`).join(' ');
    const content = Array.from({ length: 3000 }, (_, i) => paragraph(i)).join('\n\n');
    await big.add('Finance archive', content);
    for (let i = 0; i < 10; i++) {
      await small.add(`Garden ${i}`, `Tomato plant number ${i} needs water, sunlight and a stake to climb on.`);
    }
  }, 240_000);

  it('gets its own rows from a filtered vector search', async () => {
    const { rows } = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM chunks WHERE tenant_id = $1', [big.tenantId]);
    expect(rows[0]!.n).toBeGreaterThanOrEqual(3000);
    const q = await query(small.tenantId, QUESTION);
    expect((await vectorSearch(app.db.pool, q, 20)).length).toBe(10);
    expect((await vectorSearch(app.db.pool, q, 4)).length).toBe(4);
    const results = await hybridSearch(app.db.pool, q, { minScore: 0 });
    expect(results.length).toBe(DEFAULT_RETRIEVAL.n);
    for (const result of results) expect(result.documentTitle).toMatch(/^Garden \d$/);
  });

  it.runIf(process.env.DATABASE_URL)('gets them on PostgreSQL where the filtered HNSW scan falls short', async () => {
    // Sorting disabled: the planner must take the HNSW index (which yields rows in order)
    // instead of an exact scan of the small tenant through its btree index. The index holds sign
    // bits; the hash embedder's sparse vectors make most of them zero, so many chunks share their
    // bits, and the graph search often cannot reach the small tenant's even when iterating: the
    // search must notice the shortfall and scan the tenant.
    const pool = new pg.Pool({ connectionString: app.db.connectionString, max: 1, options: '-c enable_sort=off' });
    try {
      const q = await query(small.tenantId, QUESTION);
      const filtered = `SELECT id FROM chunks WHERE tenant_id = $2::uuid AND embedding_model = $3
                         ORDER BY binary_quantize(embedding)::bit(768) <~> binary_quantize($1::vector) LIMIT 10`;
      const params = [`[${q.vector.join(',')}]`, q.tenantId, q.embeddingModel];
      const plan = await pool.query(`EXPLAIN ${filtered}`, params);
      expect(plan.rows.map((r: Record<string, string>) => Object.values(r)[0]).join('\n')).toContain('chunks_embedding_bq_hnsw_idx');
      // The control: without iterative scanning the index returns (almost) none of the 10 rows.
      const plain = await pool.query(filtered, params);
      expect(plain.rowCount).toBeLessThan(10);
      // The product's search returns all of them, nearest first.
      const found = await vectorSearch(pool, q, 20);
      expect(found.length).toBe(10);
      const similarities = found.map((hit) => hit.vectorSimilarity!);
      expect(similarities).toEqual([...similarities].sort((a, b) => b - a));
      expect((await hybridSearch(pool, q, { minScore: 0 })).length).toBe(DEFAULT_RETRIEVAL.n);
    } finally {
      await pool.end();
    }
  });
});
