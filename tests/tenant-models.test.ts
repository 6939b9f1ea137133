// A tenant's chat model, embedding model and full-text language: validated against what this
// deployment can run and what the database knows, and applied end to end — re-embedding every
// document, rewriting the full-text vectors, answering with the chosen model. Real database,
// real worker, the local USE-lite model and a fake Gemini behind the real SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTextDocumentDocument,
  ChatSessionMessagesDocument,
  CreateChatSessionDocument,
  SearchDocument,
  SendMessageDocument,
  TenantModelsDocument,
  UpdateTenantModelsDocument,
} from './__generated__/graphql.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { waitForIngestion } from './helpers/documents.ts';
import { startFakeGemini, type FakeGemini } from './helpers/fake-gemini.ts';
import { addMember, rawId, signUpTenant, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

let gemini: FakeGemini;
let app: TestApp;

beforeAll(async () => {
  gemini = await startFakeGemini();
  app = await startTestApp({ GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.baseUrl });
});
afterAll(async () => {
  await app?.close();
  await gemini?.close();
});

async function addText(tenant: TestTenant, title: string, content: string) {
  const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title, content }, tenant.admin.token);
  return waitForIngestion(app, tenant.admin.token, addTextDocument.document.id);
}

async function chunkModels(tenantId: string): Promise<string[]> {
  const { rows } = await app.db.pool.query<{ m: string }>(
    'SELECT DISTINCT embedding_model AS m FROM chunks WHERE tenant_id = $1 ORDER BY 1',
    [tenantId],
  );
  return rows.map((row) => row.m);
}

describe('validation', () => {
  it('refuses unknown models and text-search configurations with BAD_USER_INPUT naming the field', async () => {
    const tenant = await signUpTenant(app);
    const badEmbedding = await app.run(UpdateTenantModelsDocument, { embeddingModel: 'text-embedding-004' }, tenant.admin.token);
    expect(badEmbedding.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'embeddingModel', reason: 'UNKNOWN_MODEL' });
    const badChat = await app.run(UpdateTenantModelsDocument, { chatModel: 'gpt-4o' }, tenant.admin.token);
    expect(badChat.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'chatModel' });
    const badLanguage = await app.run(UpdateTenantModelsDocument, { fullTextLanguage: 'klingon' }, tenant.admin.token);
    expect(badLanguage.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'fullTextLanguage' });
    const injection = await app.run(UpdateTenantModelsDocument, { fullTextLanguage: "english'; DROP TABLE chunks; --" }, tenant.admin.token);
    expect(injection.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'fullTextLanguage' });

    // Nothing changed, and the deployment's defaults are what the tenant uses.
    const { tenant: current } = await app.ok(TenantModelsDocument, {}, tenant.admin.token);
    expect(current.settings).toMatchObject({
      chatModel: 'gemini-flash-latest',
      embeddingModel: 'gemini-embedding-001',
      fullTextLanguage: 'english',
    });
    expect(current.settings.availableEmbeddingModels).toEqual(['gemini-embedding-001', 'local/use-lite']);
    expect(current.settings.availableChatModels).toContain('local/extractive');
    expect(current.settings.availableChatModels).toContain('gemini-2.5-pro');
  });

  it('is for ADMINs only', async () => {
    const tenant = await signUpTenant(app);
    const editor = await addMember(app, tenant, 'EDITOR');
    expect(codes(await app.run(UpdateTenantModelsDocument, { embeddingModel: 'local/use-lite' }, editor.token))).toEqual(['FORBIDDEN']);
    expect(codes(await app.run(TenantModelsDocument, {}, editor.token))).toEqual(['FORBIDDEN']);
  });

  it('refuses Gemini models on a deployment without GEMINI_API_KEY', async () => {
    const offline = await startTestApp();
    try {
      const tenant = await signUpTenant(offline);
      for (const args of [{ embeddingModel: 'gemini-embedding-001' }, { chatModel: 'gemini-2.5-pro' }]) {
        const result = await offline.run(UpdateTenantModelsDocument, args, tenant.admin.token);
        expect(result.errors?.[0]?.extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: Object.keys(args)[0],
          reason: 'GEMINI_NOT_CONFIGURED',
        });
      }
      const { tenant: current } = await offline.ok(TenantModelsDocument, {}, tenant.admin.token);
      expect(current.settings.availableEmbeddingModels).toEqual(['local/use-lite']);
      expect(current.settings.availableChatModels).toEqual(['local/extractive']);

      // A model chosen while a key was configured, then the key removed: a clear refusal.
      await offline.db.pool.query(`UPDATE tenants SET embedding_model = 'gemini-embedding-001' WHERE id = $1`, [tenant.id]);
      offline.services.auth.forgetCallers(tenant.id);
      const search = await offline.run(SearchDocument, { query: 'anything', first: 1 }, tenant.admin.token);
      expect(search.errors?.[0]?.extensions).toMatchObject({ code: 'FAILED_PRECONDITION', reason: 'GEMINI_NOT_CONFIGURED' });
    } finally {
      await offline.close();
    }
  });
});

describe('changing the embedding model', () => {
  it('re-embeds every document with the new model, and search keeps working', async () => {
    const tenant = await signUpTenant(app);
    const lighthouse = await addText(tenant, 'Lighthouses', 'A Fresnel lens lets the beam of a lighthouse reach ships far out at sea.');
    const bread = await addText(tenant, 'Bread', 'Sourdough bread rises slowly because wild yeast ferments the dough overnight.');
    expect([lighthouse.embeddingModel, bread.embeddingModel]).toEqual(['gemini-embedding-001', 'gemini-embedding-001']);
    expect(await chunkModels(tenant.id)).toEqual(['gemini-embedding-001']);

    const { updateTenantSettings } = await app.ok(UpdateTenantModelsDocument, { embeddingModel: 'local/use-lite' }, tenant.admin.token);
    expect(updateTenantSettings.settings.embeddingModel).toBe('local/use-lite');

    for (const id of [lighthouse.id, bread.id]) {
      await eventually(
        async () => (await waitForIngestion(app, tenant.admin.token, id)).embeddingModel === 'local/use-lite',
        `document ${id} to be re-embedded`,
        60_000,
      );
    }
    expect(await chunkModels(tenant.id)).toEqual(['local/use-lite']);
    const { rows } = await app.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM chunks WHERE tenant_id = $1 AND embedding IS NOT NULL`,
      [tenant.id],
    );
    expect(rows[0]!.n).toBe((lighthouse.chunkCount ?? 0) + (bread.chunkCount ?? 0));

    // The question is embedded with the tenant's model too: the vector search finds the lens.
    const { search } = await app.ok(SearchDocument, { query: 'How far does a lighthouse beam reach?', first: 2 }, tenant.admin.token);
    expect(search[0]).toMatchObject({ document: { id: lighthouse.id }, vectorRank: 1 });
  });
});

describe('changing the chat model', () => {
  async function ask(tenant: TestTenant, question: string) {
    const { createChatSession } = await app.ok(CreateChatSessionDocument, {}, tenant.admin.token);
    await app.ok(SendMessageDocument, { sessionId: createChatSession.id, content: question }, tenant.admin.token);
    let answer: { status: string; model?: string | null; content: string } | undefined;
    await eventually(async () => {
      const { chatSession } = await app.ok(ChatSessionMessagesDocument, { id: createChatSession.id, first: 10 }, tenant.admin.token);
      answer = chatSession.messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT');
      return answer !== undefined && answer.status !== 'STREAMING';
    }, 'the answer to finish');
    return answer!;
  }

  it('answers with the model the tenant chose', async () => {
    const tenant = await signUpTenant(app);
    await addText(tenant, 'Tides', 'Tides are caused by the gravitational pull of the moon on the oceans.');

    await app.ok(UpdateTenantModelsDocument, { chatModel: 'gemini-2.5-pro' }, tenant.admin.token);
    gemini.setAnswer(['The moon pulls the oceans [1].']);
    const fromPro = await ask(tenant, 'What causes tides?');
    expect(fromPro).toMatchObject({ status: 'COMPLETE', model: 'gemini-2.5-pro', content: 'The moon pulls the oceans [1].' });
    expect(gemini.requests.filter((r) => r.route === 'streamGenerateContent').at(-1)!.model).toBe('gemini-2.5-pro');

    await app.ok(UpdateTenantModelsDocument, { chatModel: 'local/extractive' }, tenant.admin.token);
    const local = await ask(tenant, 'What causes tides?');
    expect(local).toMatchObject({ status: 'COMPLETE', model: 'local/extractive' });
    expect(local.content).toContain('moon');
  });
});

describe('changing the full-text language', () => {
  it('rewrites the tsv of every chunk with the new configuration, and search uses it', async () => {
    const tenant = await signUpTenant(app);
    const doc = await addText(tenant, 'Flussufer', 'Die alten Häuser stehen dicht am Fluss, und viele Brücken verbinden die Städte.');
    const matches = async (config: string, word: string) => {
      const { rows } = await app.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM chunks WHERE tenant_id = $1 AND tsv @@ to_tsquery($2::regconfig, $3)`,
        [tenant.id, config, word],
      );
      return rows[0]!.n;
    };
    // English stemming keeps "häuser" as it is: the German stem "haus" is not in the vectors yet.
    expect(await matches('german', 'Haus')).toBe(0);

    const { updateTenantSettings } = await app.ok(UpdateTenantModelsDocument, { fullTextLanguage: 'german' }, tenant.admin.token);
    expect(updateTenantSettings.settings.fullTextLanguage).toBe('german');
    await eventually(async () => (await matches('german', 'Haus')) === doc.chunkCount, 'the tsv to be rewritten in German', 30_000);
    const { rows } = await app.db.pool.query<{ stale: number }>(
      `SELECT count(*)::int AS stale FROM chunks WHERE tenant_id = $1 AND tsv IS DISTINCT FROM to_tsvector('german', text)`,
      [tenant.id],
    );
    expect(rows[0]!.stale).toBe(0);

    // The search query is parsed with the tenant's language too: "Haus" finds "Häuser".
    const { search } = await app.ok(SearchDocument, { query: 'Haus', first: 3 }, tenant.admin.token);
    expect(search.find((hit) => hit.document?.id === doc.id)?.textRank).toBe(1);

    // A document added afterwards is written in German from the start.
    const later = await addText(tenant, 'Brücken', 'Die Brücken über den Fluss wurden aus Stein gebaut.');
    const { rows: laterRows } = await app.db.pool.query<{ ok: boolean }>(
      `SELECT bool_and(tsv = to_tsvector('german', text)) AS ok FROM chunks WHERE document_id = $1`,
      [rawId(later.id)],
    );
    expect(laterRows[0]!.ok).toBe(true);
  });
});
