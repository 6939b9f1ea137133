// Upload → job → chunks, through the real API, worker and database.
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  AddTextDocumentDocument,
  DeleteDocumentDocument,
  DocumentDocument,
  DocumentsDocument,
  DocumentStatusDocument,
  NodeDocument,
  ReindexDocumentDocument,
  type DocumentStatusSubscription,
} from './__generated__/graphql.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { upload, waitForIngestion } from './helpers/documents.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { countStatements } from './helpers/statements.ts';
import { addMember, rawId, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

let app: TestApp;
let tenant: TestTenant;
let editor: Person;
let member: Person;
const clients: Client[] = [];

const MAX_UPLOAD = 64 * 1024;
beforeAll(async () => {
  app = await startTestApp({ MAX_UPLOAD_BYTES: String(MAX_UPLOAD), TENANT_MAX_DOCUMENTS: '20' }, { embedder: hashEmbedder() });
  tenant = await signUpTenant(app);
  editor = await addMember(app, tenant, 'EDITOR');
  member = await addMember(app, tenant, 'MEMBER');
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await app?.close();
});

const essay = (topic: string, sentences = 40) =>
  Array.from(
    { length: sentences },
    (_, i) => `Sentence ${i + 1} explains one more detail about ${topic}, carefully and at some length.`,
  ).join(' ');

async function count(sql: string, params: unknown[]) {
  const { rows } = await app.db.pool.query<{ n: string }>(sql, params);
  return Number(rows[0]?.n);
}

describe('adding and reading documents', () => {
  it('ingests pasted text into chunks with pages and offsets', async () => {
    const content = essay('lighthouses');
    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Lighthouses', content }, editor.token);
    expect(addTextDocument).toMatchObject({ deduplicated: false, document: { status: 'QUEUED', contentType: 'text/plain' } });
    const document = await waitForIngestion(app, member.token, addTextDocument.document.id);
    expect(document).toMatchObject({ status: 'READY', pageCount: 1, errorCode: null, embeddingModel: 'test/hash-256' });
    expect(document.uploadedBy?.id).toBe(editor.id);
    const chunks = document.chunks.edges.map((e) => e.node);
    expect(chunks.length).toBe(document.chunkCount);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    for (const chunk of chunks) {
      expect(chunk.pageNumber).toBe(1);
      expect(chunk.text.length).toBeLessThanOrEqual(800);
      expect(content.slice(chunk.charStart, chunk.charEnd)).toBe(chunk.text);
    }
    // Consecutive chunks overlap.
    expect(chunks[1]!.charStart).toBeLessThan(chunks[0]!.charEnd);
  });

  it('pages through chunks with cursors', async () => {
    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Paging', content: essay('tides') }, editor.token);
    const done = await waitForIngestion(app, editor.token, addTextDocument.document.id);
    const first = await app.ok(DocumentDocument, { id: done.id, chunksFirst: 2 }, editor.token);
    expect(first.document.chunks.edges.map((e) => e.node.index)).toEqual([0, 1]);
    expect(first.document.chunks.pageInfo.hasNextPage).toBe(true);
    const next = await app.ok(
      DocumentDocument,
      { id: done.id, chunksFirst: 2, chunksAfter: first.document.chunks.pageInfo.endCursor },
      editor.token,
    );
    expect(next.document.chunks.edges.map((e) => e.node.index)).toEqual([2, 3]);
  });

  it('recognises uploads by content, not by name', async () => {
    const markdown = new TextEncoder().encode('# Heading\n\nSome *markdown* text with a [link](http://x.y).\n\n- item one\n- item two\n');
    const md = await upload(app, editor.token, markdown, 'notes.pdf');
    expect(md.errors).toBeUndefined();
    expect(md.data?.uploadDocument.document.contentType).toBe('text/markdown');
    expect(md.data?.uploadDocument.document.title).toBe('notes.pdf');

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0xff, 0xfe]);
    const before = await count('SELECT count(*) AS n FROM documents WHERE tenant_id = $1', [tenant.id]);
    const rejected = await upload(app, editor.token, png, 'photo.txt');
    expect(rejected.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNSUPPORTED_TYPE', field: 'file' });
    expect(await count('SELECT count(*) AS n FROM documents WHERE tenant_id = $1', [tenant.id])).toBe(before);
  });

  it('returns the existing document for the same bytes and starts no job', async () => {
    const bytes = new TextEncoder().encode(essay('duplicates', 5));
    const first = await upload(app, editor.token, bytes, 'a.txt');
    const id = first.data!.uploadDocument.document.id;
    await waitForIngestion(app, editor.token, id);
    // The document turns READY inside its job; graphile-worker removes the job just after.
    const jobs = () => count('SELECT count(*) AS n FROM graphile_worker.jobs WHERE key = $1', [`ingest:${rawId(id)}`]);
    await eventually(async () => (await jobs()) === 0, 'the finished job removed');
    const second = await upload(app, editor.token, bytes, 'b.txt', 'Another title');
    expect(second.data?.uploadDocument).toMatchObject({ deduplicated: true, document: { id, status: 'READY', title: 'a.txt' } });
    expect(await jobs()).toBe(0);
  });

  it('refuses files over the size limit with REQUEST_ENTITY_TOO_LARGE', async () => {
    const big = new TextEncoder().encode('x '.repeat(MAX_UPLOAD));
    const result = await upload(app, editor.token, big, 'big.txt');
    expect(result.errors?.[0]?.extensions?.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });
});

describe('the documents page', () => {
  it('pages newest first with cursors, filters by status and title, and reads uploaders in one statement', async () => {
    const own = await signUpTenant(app, 'Pages');
    const writer = await addMember(app, own, 'EDITOR');
    const titles = ['Alpha notes', '50% discount terms', 'a_b report', 'axb report', 'Beta notes'];
    const ids: string[] = [];
    for (const [i, title] of titles.entries()) {
      const by = i % 2 ? writer : own.admin;
      const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title, content: essay(title, 3) }, by.token);
      ids.push(addTextDocument.document.id);
    }
    for (const id of ids) await waitForIngestion(app, own.admin.token, id);

    // Forwards in pages of two: every document once, newest first, each with its uploader.
    const seen: { id: string; uploader: string | undefined }[] = [];
    let after: string | null | undefined = null;
    for (;;) {
      const page: Awaited<ReturnType<typeof list>> = await list({ first: 2, after });
      seen.push(...page.documents.edges.map((e) => ({ id: e.node.id, uploader: e.node.uploadedBy?.id })));
      if (!page.documents.pageInfo.hasNextPage) break;
      after = page.documents.pageInfo.endCursor;
    }
    expect(seen.map((d) => d.id)).toEqual([...ids].reverse());
    expect(seen.map((d) => d.uploader)).toEqual(
      titles.map((_, i) => (i % 2 ? writer.id : own.admin.id)).reverse(),
    );

    // Title search is a substring match in which % and _ are plain characters.
    const titlesFor = async (search: string) =>
      (await list({ first: 20, search })).documents.edges.map((e) => e.node.title).sort();
    expect(await titlesFor('NOTES')).toEqual(['Alpha notes', 'Beta notes']);
    expect(await titlesFor('%')).toEqual(['50% discount terms']);
    expect(await titlesFor('a_b')).toEqual(['a_b report']);
    expect((await list({ first: 20, status: 'READY' })).documents.edges).toHaveLength(5);
    expect((await list({ first: 20, status: 'FAILED' })).documents.edges).toEqual([]);

    expect(codes(await app.run(DocumentsDocument, { first: 2, search: 'a\0b' }, own.admin.token))).toEqual(['BAD_USER_INPUT']);
    expect(await titlesFor("'; DROP TABLE documents; --")).toEqual([]);

    // A cursor that is not one of ours is the caller's mistake, not a server error.
    const forged = Buffer.from(`${new Date().toISOString()}|not-a-uuid`).toString('base64url');
    expect(codes(await app.run(DocumentsDocument, { first: 2, after: forged }, own.admin.token))).toEqual(['BAD_USER_INPUT']);

    // Documents and uploaders come from one statement, however many uploaders the page has.
    const counter = countStatements(app.db.pool);
    const statements = await counter.count(() => list({ first: 20 }));
    expect(statements).toBe(1);

    function list(variables: { first: number; after?: string | null; search?: string; status?: 'READY' | 'FAILED' }) {
      return app.ok(DocumentsDocument, variables, own.admin.token);
    }
  });
});

describe('roles and tenants', () => {
  it('lets a MEMBER read but not upload, delete or reindex', async () => {
    const denied = await app.run(AddTextDocumentDocument, { title: 'No', content: 'Members cannot add.' }, member.token);
    expect(codes(denied)).toEqual(['FORBIDDEN']);
    const file = await upload(app, member.token, new TextEncoder().encode('hello there'), 'x.txt');
    expect(file.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await app.ok(DocumentsDocument, { first: 50 }, member.token);
    expect(list.documents.edges.length).toBeGreaterThan(0);
    const someId = list.documents.edges[0]!.node.id;
    expect(codes(await app.run(DeleteDocumentDocument, { id: someId }, member.token))).toEqual(['FORBIDDEN']);
    expect(codes(await app.run(ReindexDocumentDocument, { id: someId }, member.token))).toEqual(['FORBIDDEN']);
  });

  it('hides documents from other tenants like missing ones', async () => {
    const other = await signUpTenant(app, 'Other');
    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Secret', content: essay('secrets', 3) }, editor.token);
    const id = addTextDocument.document.id;
    expect((await app.ok(NodeDocument, { id }, other.admin.token)).node).toBeNull();
    for (const result of [
      await app.run(DocumentDocument, { id }, other.admin.token),
      await app.run(DeleteDocumentDocument, { id }, other.admin.token),
      await app.run(ReindexDocumentDocument, { id }, other.admin.token),
    ]) {
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
    }
    expect((await app.ok(DocumentsDocument, { first: 50 }, other.admin.token)).documents.edges).toEqual([]);
    // Still there for its own tenant.
    expect((await app.ok(DocumentDocument, { id }, editor.token)).document.title).toBe('Secret');
  });
});

describe('lifecycle', () => {
  it('streams QUEUED → PROCESSING → READY over graphql-ws', async () => {
    const url = (await app.listen()).url.replace(/^http/, 'ws');
    const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${member.token}` } });
    clients.push(client);
    const events: DocumentStatusSubscription['documentStatus'][] = [];
    const iterator = client.iterate({ query: print(DocumentStatusDocument) });
    void (async () => {
      for await (const result of iterator) if (result.data) events.push((result.data as DocumentStatusSubscription).documentStatus);
    })();
    // The subscription is live once it sees a status event of a warm-up document.
    let warm = 0;
    await eventually(async () => {
      await app.ok(AddTextDocumentDocument, { title: `Warm-up ${warm}`, content: `warm up ${warm++} ${Date.now()}` }, editor.token);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return events.length > 0;
    }, 'the status subscription to go live');

    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Watched', content: essay('watching') }, editor.token);
    const id = addTextDocument.document.id;
    await eventually(() => events.some((e) => e.document?.id === id && e.status === 'READY'), 'READY event');
    await iterator.return?.();
    const statuses = events.filter((e) => e.document?.id === id).map((e) => e.status);
    expect(statuses[0]).toBe('QUEUED');
    expect(statuses).toContain('PROCESSING');
    expect(statuses.at(-1)).toBe('READY');
    expect(statuses.indexOf('PROCESSING')).toBeLessThan(statuses.indexOf('READY'));
    const final = events.find((e) => e.document?.id === id && e.status === 'READY');
    expect(final?.document?.chunkCount).toBeGreaterThan(0);
  });

  it('deletes a document with its chunks and bytes', async () => {
    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Doomed', content: essay('doom', 10) }, editor.token);
    const id = addTextDocument.document.id;
    await waitForIngestion(app, editor.token, id);
    const raw = rawId(id);
    expect(await count('SELECT count(*) AS n FROM chunks WHERE document_id = $1', [raw])).toBeGreaterThan(0);
    expect((await app.ok(DeleteDocumentDocument, { id }, editor.token)).deleteDocument).toBe(id);
    expect(await count('SELECT count(*) AS n FROM chunks WHERE document_id = $1', [raw])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM document_files WHERE document_id = $1', [raw])).toBe(0);
    expect((await app.run(DocumentDocument, { id }, editor.token)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('reindexes without duplicating chunks', async () => {
    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Again', content: essay('repetition', 12) }, editor.token);
    const id = addTextDocument.document.id;
    const first = await waitForIngestion(app, editor.token, id);
    await app.ok(ReindexDocumentDocument, { id }, editor.token);
    await eventually(async () => (await app.ok(DocumentDocument, { id }, editor.token)).document.processedAt !== first.processedAt, 'second ingestion');
    const again = await waitForIngestion(app, editor.token, id);
    expect(again.chunkCount).toBe(first.chunkCount);
    expect(await count('SELECT count(*) AS n FROM chunks WHERE document_id = $1', [rawId(id)])).toBe(first.chunkCount);
  });

  it('writes nothing when the upload transaction fails part-way', async () => {
    // A real database failure in the middle of the transaction: storing the bytes fails.
    await app.db.pool.query(`
      CREATE OR REPLACE FUNCTION test_refuse_marked_bytes() RETURNS trigger AS $$
      BEGIN
        IF position('REFUSE-THESE-BYTES' in convert_from(NEW.bytes, 'UTF8')) > 0 THEN
          RAISE EXCEPTION 'storage refused the bytes';
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql;
      DROP TRIGGER IF EXISTS test_refuse_marked_bytes ON document_files;
      CREATE TRIGGER test_refuse_marked_bytes BEFORE INSERT ON document_files
        FOR EACH ROW EXECUTE FUNCTION test_refuse_marked_bytes();`);
    try {
      const before = await count('SELECT count(*) AS n FROM documents WHERE tenant_id = $1', [tenant.id]);
      const jobsBefore = await count(`SELECT count(*) AS n FROM graphile_worker.jobs`, []);
      const result = await app.run(AddTextDocumentDocument, { title: 'Broken', content: 'REFUSE-THESE-BYTES please' }, editor.token);
      expect(result.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await count('SELECT count(*) AS n FROM documents WHERE tenant_id = $1', [tenant.id])).toBe(before);
      expect(await count(`SELECT count(*) AS n FROM graphile_worker.jobs`, [])).toBeLessThanOrEqual(jobsBefore);
    } finally {
      await app.db.pool.query('DROP TRIGGER IF EXISTS test_refuse_marked_bytes ON document_files');
    }
  });

  it('enforces the per-tenant document limit with QUOTA_EXCEEDED', async () => {
    const small = await signUpTenant(app, 'Small');
    for (let i = 0; i < 20; i++) {
      await app.ok(AddTextDocumentDocument, { title: `Doc ${i}`, content: `document number ${i} ${small.slug}` }, small.admin.token);
    }
    const over = await app.run(AddTextDocumentDocument, { title: 'One too many', content: `overflow ${small.slug}` }, small.admin.token);
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 'maxDocuments', max: 20, used: 20 });
  });
});
