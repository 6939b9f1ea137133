// The Gemini chat path end to end: the real @google/genai SDK against a local fake Gemini,
// with the tenant's settings (system prompt, number of sources) in the request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTextDocumentDocument,
  AskDocument,
  CreateChatSessionDocument,
  TenantSettingsDocument,
  UpdateTenantSettingsDocument,
} from './__generated__/graphql.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { waitForIngestion } from './helpers/documents.ts';
import { startFakeGemini, type FakeGemini } from './helpers/fake-gemini.ts';
import { subscribeWs, wsClient } from './helpers/streams.ts';
import { addMember, signUpTenant, type TestTenant } from './helpers/tenants.ts';

let gemini: FakeGemini;
let app: TestApp;
let url: string;
let tenant: TestTenant;

beforeAll(async () => {
  gemini = await startFakeGemini();
  app = await startTestApp({ GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.baseUrl });
  url = (await app.listen()).url;
  tenant = await signUpTenant(app);
  for (const [title, content] of [
    ['Tides', 'Tides are caused by the gravitational pull of the moon and the sun on the oceans.'],
    ['Moon', 'The moon orbits the earth every 27.3 days and its gravity raises the tides.'],
    ['Sun', 'The sun also pulls on the oceans; spring tides happen when sun and moon align.'],
  ]) {
    const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: title!, content: content! }, tenant.admin.token);
    await waitForIngestion(app, tenant.admin.token, addTextDocument.document.id);
  }
});
afterAll(async () => {
  await app?.close();
  await gemini?.close();
});

describe('tenant settings', () => {
  it('are validated and only for ADMINs', async () => {
    const member = await addMember(app, tenant, 'EDITOR');
    expect(codes(await app.run(UpdateTenantSettingsDocument, { retrievalN: 2 }, member.token))).toEqual(['FORBIDDEN']);
    const bad = await app.run(UpdateTenantSettingsDocument, { retrievalK: 3, retrievalN: 4 }, tenant.admin.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'retrievalN' });
    const outOfRange = await app.run(UpdateTenantSettingsDocument, { retrievalK: 0 }, tenant.admin.token);
    expect(outOfRange.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'retrievalK' });
    const { tenant: current } = await app.ok(TenantSettingsDocument, {}, tenant.admin.token);
    expect(current.settings).toMatchObject({ retrievalK: 20, retrievalN: 5, systemPrompt: null });
  });
});

describe('answers from Gemini', () => {
  it('streams Gemini’s deltas with the tenant’s prompt and at most N sources', async () => {
    await app.ok(
      UpdateTenantSettingsDocument,
      { systemPrompt: 'Answer like a ship captain.', retrievalN: 2, retrievalK: 10 },
      tenant.admin.token,
    );
    gemini.setAnswer(['Tides come ', 'from the moon ', 'and the sun [1]', '[2].']);
    const { createChatSession } = await app.ok(CreateChatSessionDocument, {}, tenant.admin.token);
    const client = wsClient(url, tenant.admin.token);
    try {
      const sub = subscribeWs(client, AskDocument, { sessionId: createChatSession.id, content: 'What causes the tides?' });
      await sub.finished;
      expect(sub.errors).toEqual([]);
      const events = sub.events.map((e) => e.ask);
      expect(events.filter((e) => e.delta).map((e) => e.delta)).toEqual(['Tides come ', 'from the moon ', 'and the sun [1]', '[2].']);
      const final = events.at(-1)!.message!;
      expect(final).toMatchObject({ status: 'COMPLETE', content: 'Tides come from the moon and the sun [1][2].' });
      expect(final.model).toBe('gemini-flash-latest');
      expect(final.inputTokens).toBeGreaterThan(0);
      expect(final.citations.map((c) => c.rank)).toEqual([1, 2]);

      const request = gemini.requests.filter((r) => r.route === 'streamGenerateContent').at(-1)!;
      const body = JSON.stringify(request.body);
      expect(body).toContain('Answer like a ship captain.');
      const user = (request.body as { contents: { parts: { text: string }[] }[] }).contents.at(-1)!.parts[0]!.text;
      expect(user).toContain('What causes the tides?');
      expect(user).toMatch(/\[1\]/);
      expect(user).toMatch(/\[2\]/);
      expect(user).not.toMatch(/\[3\]/); // N = 2
    } finally {
      await client.dispose();
    }
  });

  it('records a FAILED answer when Gemini keeps refusing', async () => {
    gemini.script('streamGenerateContent', [{ status: 400, message: 'bad request' }]);
    const { createChatSession } = await app.ok(CreateChatSessionDocument, {}, tenant.admin.token);
    const client = wsClient(url, tenant.admin.token);
    try {
      const sub = subscribeWs(client, AskDocument, { sessionId: createChatSession.id, content: 'What causes the tides?' });
      await sub.finished;
      const final = sub.events.at(-1)!.ask.message!;
      expect(final).toMatchObject({ status: 'FAILED', content: '' });
    } finally {
      await client.dispose();
    }
  });
});
