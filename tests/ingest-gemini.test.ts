// Ingestion with Gemini embeddings: the real @google/genai SDK against a local fake Gemini.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddTextDocumentDocument } from './__generated__/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { waitForIngestion } from './helpers/documents.ts';
import { startFakeGemini, type FakeGemini } from './helpers/fake-gemini.ts';
import { signUpTenant, type TestTenant } from './helpers/tenants.ts';

let gemini: FakeGemini;
let app: TestApp;
let tenant: TestTenant;

beforeAll(async () => {
  gemini = await startFakeGemini();
  app = await startTestApp({ GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.baseUrl });
  tenant = await signUpTenant(app);
});
afterAll(async () => {
  await app?.close();
  await gemini?.close();
});

const embedRequests = () => gemini.requests.filter((r) => r.route === 'batchEmbedContents');

describe('Gemini embeddings', () => {
  it('retries a 503 and finishes READY with gemini-embedding-001 vectors', async () => {
    gemini.script('batchEmbedContents', [{ status: 503 }]);
    const before = embedRequests().length;
    const { addTextDocument } = await app.ok(
      AddTextDocumentDocument,
      { title: 'Transient', content: 'The embedder fails once. Then it answers. Retrying makes ingestion succeed.' },
      tenant.admin.token,
    );
    const document = await waitForIngestion(app, tenant.admin.token, addTextDocument.document.id);
    expect(document).toMatchObject({ status: 'READY', embeddingModel: 'gemini-embedding-001', chunkCount: 1 });
    const requests = embedRequests().slice(before);
    expect(requests).toHaveLength(2);
    expect(requests[0]?.headers['x-goog-api-key']).toBe('test-key');
    const body = requests[1]?.body as { requests: { outputDimensionality?: number; taskType?: string }[] };
    expect(body.requests[0]).toMatchObject({ outputDimensionality: 768, taskType: 'RETRIEVAL_DOCUMENT' });
    const { rows } = await app.db.pool.query(
      `SELECT vector_dims(embedding) AS dims, round((embedding <#> embedding)::numeric, 4) AS neg_norm2
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.tenant_id = $1`,
      [tenant.id],
    );
    expect(rows).toEqual([{ dims: 768, neg_norm2: '-1.0000' }]);
  });

  it('fails a document at once, without retries, when Gemini refuses the request (400)', async () => {
    gemini.script('batchEmbedContents', [{ status: 400, message: 'API key not valid' }]);
    const before = embedRequests().length;
    const { addTextDocument } = await app.ok(
      AddTextDocumentDocument,
      { title: 'Refused', content: 'This request is refused by the provider.' },
      tenant.admin.token,
    );
    const document = await waitForIngestion(app, tenant.admin.token, addTextDocument.document.id);
    expect(document).toMatchObject({ status: 'FAILED', errorCode: 'EMBEDDING_REJECTED' });
    expect(embedRequests().length - before).toBe(1);
  });
});
