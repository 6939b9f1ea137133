// Data rights (ADMIN): exporting a member's data, erasing a member, erasing a tenant — with
// real rows in every table, another tenant alongside, and open subscriptions that must end.
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTextDocumentDocument,
  ChangeMemberRoleDocument,
  CreateChatSessionDocument,
  DeleteMemberDocument,
  DeleteTenantDocument,
  DocumentStatusDocument,
  ExportMemberDataDocument,
  LogInDocument,
  MeDocument,
  SignUpDocument,
  type DocumentStatusSubscription,
} from './__generated__/graphql.ts';
import { MEMBER_EXPORT_FORMAT } from '../src/services/data-rights.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { populateTenant, rowsOf, type Populated } from './helpers/populate.ts';
import { subscribeWs, wsClient, type Collected } from './helpers/streams.ts';
import { addMember, missingId, PASSWORD, rawId, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

let app: TestApp;
let url: string;
let a: TestTenant;
let b: TestTenant;
let aData: Populated;
let bData: Populated;
const clients: Client[] = [];

beforeAll(async () => {
  app = await startTestApp();
  url = (await app.listen()).url;
  a = await signUpTenant(app, 'Tenant A');
  b = await signUpTenant(app, 'Tenant B');
  aData = await populateTenant(app, a);
  bData = await populateTenant(app, b);
}, 180_000);
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await app?.close();
});

const count = async (sql: string, params: unknown[]) => Number((await app.db.pool.query(sql, params)).rows[0].n);

/** The same operation on another tenant's id and on an id that names nothing must answer alike. */
async function expectLikeMissing(run: (id: string) => Promise<{ data?: unknown; errors?: readonly { message: string; extensions?: unknown }[] }>, foreignId: string) {
  const shape = (r: Awaited<ReturnType<typeof run>>) => ({ data: r.data, errors: r.errors?.map((e) => ({ message: e.message, extensions: e.extensions })) });
  const foreign = shape(await run(foreignId));
  expect(foreign).toEqual(shape(await run(missingId('User'))));
  expect(foreign.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
}

/** A live documentStatus subscription of `person`, proven open by one event it received. */
async function openSubscription(tenant: TestTenant, person: Person): Promise<Collected<DocumentStatusSubscription>> {
  const client = wsClient(url, person.token);
  clients.push(client);
  const subscription = subscribeWs(client, DocumentStatusDocument, {});
  await eventually(async () => {
    await app.ok(AddTextDocumentDocument, { title: 'Ping', content: `ping ${Math.random()}` }, tenant.admin.token);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return subscription.events.length > 0;
  }, 'the subscription to receive an event');
  return subscription;
}

async function expectEndedUnauthenticated(subscription: Collected<DocumentStatusSubscription>) {
  await subscription.finished;
  expect(subscription.errors.map((e) => (e as { extensions?: { code?: string } }).extensions?.code)).toEqual(['UNAUTHENTICATED']);
}

describe('exportMemberData', () => {
  it('gives an ADMIN the member’s profile, sessions, messages with citations and uploads, as one JSON file', async () => {
    // The admin's own chat must not leak into the member's export.
    await app.ok(CreateChatSessionDocument, { title: 'Admin’s own chat' }, a.admin.token);
    const { exportMemberData } = await app.ok(ExportMemberDataDocument, { userId: aData.member.id }, a.admin.token);
    expect(exportMemberData.format).toBe(MEMBER_EXPORT_FORMAT);
    expect(exportMemberData.fileName).toBe(`${a.slug}-member-${rawId(aData.member.id)}-${exportMemberData.generatedAt.slice(0, 10)}.json`);
    const data = exportMemberData.data as {
      member: { id: string; email: string; role: string };
      chatSessions: { id: string; title: string; messages: { id: string; role: string; status: string; content: string; citations: { rank: number; documentId: string; documentTitle: string; snippet: string }[] }[] }[];
      documentsUploaded: { id: string; title: string }[];
    };
    expect(data.member).toMatchObject({ id: rawId(aData.member.id), email: aData.member.email, role: 'EDITOR' });
    expect(data.chatSessions.map((s) => s.id)).toEqual([rawId(aData.sessionId)]);
    const [question, answer] = data.chatSessions[0]!.messages;
    expect(question).toMatchObject({ role: 'USER', content: 'When was the lighthouse built?' });
    expect(answer).toMatchObject({ id: rawId(aData.answerId), role: 'ASSISTANT', status: 'COMPLETE' });
    expect(answer!.content).toContain('1871');
    expect(answer!.citations.length).toBeGreaterThan(0);
    expect(answer!.citations[0]).toMatchObject({ rank: 1, documentId: rawId(aData.documentId), documentTitle: 'Lighthouse notes' });
    expect(data.documentsUploaded.map((d) => d.id)).toContain(rawId(aData.documentId));
    const text = JSON.stringify(data);
    for (const foreign of [b.id, rawId(bData.member.id), rawId(bData.documentId), 'Admin’s own chat']) expect(text).not.toContain(foreign);
  });

  it('answers NOT_FOUND for another tenant’s member exactly as for a missing id', async () => {
    await expectLikeMissing((id) => app.run(ExportMemberDataDocument, { userId: id }, a.admin.token), bData.member.id);
  });

  it('is FORBIDDEN to MEMBER and EDITOR, UNAUTHENTICATED without a token', async () => {
    const member = await addMember(app, a, 'MEMBER');
    expect(codes(await app.run(ExportMemberDataDocument, { userId: aData.member.id }, member.token))).toEqual(['FORBIDDEN']);
    expect(codes(await app.run(ExportMemberDataDocument, { userId: member.id }, aData.member.token))).toEqual(['FORBIDDEN']);
    expect(codes(await app.run(ExportMemberDataDocument, { userId: member.id }, null))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('deleteMember', () => {
  it('is FORBIDDEN to MEMBER and EDITOR, and changes nothing', async () => {
    const member = await addMember(app, a, 'MEMBER');
    const victim = await addMember(app, a, 'MEMBER');
    expect(codes(await app.run(DeleteMemberDocument, { userId: victim.id }, member.token))).toEqual(['FORBIDDEN']);
    expect(codes(await app.run(DeleteMemberDocument, { userId: victim.id }, aData.member.token))).toEqual(['FORBIDDEN']);
    expect((await app.ok(MeDocument, {}, victim.token)).me.id).toBe(victim.id);
  });

  it('answers NOT_FOUND for another tenant’s member exactly as for a missing id, and B’s member stays', async () => {
    await expectLikeMissing((id) => app.run(DeleteMemberDocument, { userId: id }, a.admin.token), bData.member.id);
    expect((await app.ok(MeDocument, {}, bData.member.token)).me.id).toBe(bData.member.id);
  });

  it('erases the member’s history, keeps their documents without an uploader, and ends their access at once', async () => {
    const subscription = await openSubscription(a, aData.member);
    const user = rawId(aData.member.id);
    const before = {
      sessions: await count('SELECT count(*) AS n FROM chat_sessions WHERE user_id = $1', [user]),
      citations: await count('SELECT count(*) AS n FROM citations WHERE message_id = $1', [rawId(aData.answerId)]),
    };
    expect(before.sessions).toBeGreaterThan(0);
    expect(before.citations).toBeGreaterThan(0);

    const { deleteMember } = await app.ok(DeleteMemberDocument, { userId: aData.member.id }, a.admin.token);
    expect(deleteMember).toBe(aData.member.id);
    expect(await count('SELECT count(*) AS n FROM users WHERE id = $1', [user])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM chat_sessions WHERE user_id = $1', [user])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM chat_messages WHERE session_id = $1', [rawId(aData.sessionId)])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM citations WHERE message_id = $1', [rawId(aData.answerId)])).toBe(0);
    const document = await app.db.pool.query('SELECT uploaded_by_id, status FROM documents WHERE id = $1', [rawId(aData.documentId)]);
    expect(document.rows).toEqual([{ uploaded_by_id: null, status: 'READY' }]);
    expect(await count('SELECT count(*) AS n FROM chunks WHERE document_id = $1', [rawId(aData.documentId)])).toBeGreaterThan(0);

    expect(codes(await app.run(MeDocument, {}, aData.member.token))).toEqual(['UNAUTHENTICATED']);
    await expectEndedUnauthenticated(subscription);
    // Tenant B is untouched.
    expect((await app.ok(MeDocument, {}, bData.member.token)).me.id).toBe(bData.member.id);
  });

  it('refuses to remove the last active ADMIN with FAILED_PRECONDITION (reason LAST_ADMIN)', async () => {
    const solo = await signUpTenant(app, 'Solo');
    const result = await app.run(DeleteMemberDocument, { userId: solo.admin.id }, solo.admin.token);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'FAILED_PRECONDITION', reason: 'LAST_ADMIN' });
    expect((await app.ok(MeDocument, {}, solo.admin.token)).me.role).toBe('ADMIN');
  });

  it('lets exactly one of two ADMINs deleting each other at the same moment succeed', async () => {
    const duo = await signUpTenant(app, 'Duo');
    const second = await addMember(app, duo, 'EDITOR');
    await app.ok(ChangeMemberRoleDocument, { userId: second.id, role: 'ADMIN' }, duo.admin.token);
    // Both callers already past authentication (as two requests in flight are): only the tenant
    // lock decides.
    const asAdmin = (person: Person) => app.services.forViewer({ userId: rawId(person.id), tenantId: duo.id, role: 'ADMIN' }).dataRights;
    const outcomes = await Promise.allSettled([
      asAdmin(duo.admin).deleteMember(rawId(second.id)),
      asAdmin(second).deleteMember(rawId(duo.admin.id)),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'FAILED_PRECONDITION', details: { reason: 'LAST_ADMIN' } });
    expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1 AND role = 'ADMIN' AND status = 'ACTIVE'`, [duo.id])).toBe(1);
  });
});

describe('deleteTenant', () => {
  let t: TestTenant;
  let tData: Populated;
  beforeAll(async () => {
    t = await signUpTenant(app, 'Doomed');
    tData = await populateTenant(app, t);
  }, 120_000);

  it('is FORBIDDEN to MEMBER and EDITOR, and a wrong slug is BAD_USER_INPUT; nothing changes', async () => {
    const before = await rowsOf(app.db.pool, t.id);
    const member = await addMember(app, t, 'MEMBER');
    expect(codes(await app.run(DeleteTenantDocument, { confirmSlug: t.slug }, member.token))).toEqual(['FORBIDDEN']);
    expect(codes(await app.run(DeleteTenantDocument, { confirmSlug: t.slug }, tData.member.token))).toEqual(['FORBIDDEN']);
    const wrong = await app.run(DeleteTenantDocument, { confirmSlug: b.slug }, t.admin.token);
    expect(wrong.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'confirmSlug', reason: 'SLUG_MISMATCH' });
    // The new member's invitation and its acceptance are audited; the refusals change nothing.
    expect(await rowsOf(app.db.pool, t.id)).toEqual({
      ...before,
      users: before.users! + 1,
      invitations: before.invitations! + 1,
      audit_events: before.audit_events! + 2,
    });
  });

  it('erases every row, pending job and log-in throttle of the tenant, and ends its tokens and subscriptions', async () => {
    // A retry waiting in the queue (as after a transient failure), for each tenant.
    const scheduleRetry = (documentId: string) =>
      app.db.pool.query(
        `SELECT graphile_worker.add_job('ingest_document', json_build_object('documentId', $1::text), job_key := 'ingest:' || $1, run_at := now() + interval '1 hour')`,
        [documentId],
      );
    await scheduleRetry(rawId(tData.documentId));
    await scheduleRetry(rawId(bData.documentId));
    const jobs = (documentId: string) => count('SELECT count(*) AS n FROM graphile_worker.jobs WHERE key = $1', [`ingest:${rawId(documentId)}`]);
    expect(await jobs(tData.documentId)).toBe(1);
    // Failed log-ins leave throttle rows naming the tenant's slug (and B's).
    for (const tenant of [t, b]) {
      expect(codes(await app.run(LogInDocument, { tenantSlug: tenant.slug, email: tenant.admin.email, password: 'wrong password!' }))).toEqual(['UNAUTHENTICATED']);
    }
    const bBefore = await rowsOf(app.db.pool, b.id); // after its failed log-in (audited)
    const throttles = (slug: string) => count(`SELECT count(*) AS n FROM login_throttles WHERE key LIKE $1 || E'\\n%'`, [slug]);
    expect(await throttles(t.slug)).toBe(1);
    const subscription = await openSubscription(t, tData.member);
    const before = await rowsOf(app.db.pool, t.id);
    expect(Object.values(before).every((n) => n > 0)).toBe(true);

    const { deleteTenant } = await app.ok(DeleteTenantDocument, { confirmSlug: t.slug.toUpperCase() }, t.admin.token);
    expect(deleteTenant).toBe(t.id);

    const after = await rowsOf(app.db.pool, t.id);
    expect(after).toEqual(Object.fromEntries(Object.keys(before).map((table) => [table, 0])));
    expect(await count('SELECT count(*) AS n FROM document_files WHERE document_id = $1', [rawId(tData.documentId)])).toBe(0);
    expect(await jobs(tData.documentId)).toBe(0);
    expect(await throttles(t.slug)).toBe(0);
    for (const token of [t.admin.token, tData.member.token]) expect(codes(await app.run(MeDocument, {}, token))).toEqual(['UNAUTHENTICATED']);
    await expectEndedUnauthenticated(subscription);
    const logIn = await app.run(LogInDocument, { tenantSlug: t.slug, email: t.admin.email, password: PASSWORD });
    expect(codes(logIn)).toEqual(['UNAUTHENTICATED']);

    // Tenant B keeps everything: its rows, its queued job, its throttle row.
    expect(await rowsOf(app.db.pool, b.id)).toEqual(bBefore);
    expect(await jobs(bData.documentId)).toBe(1);
    expect(await throttles(b.slug)).toBe(1);
    // The slug is free again.
    const again = await app.ok(SignUpDocument, { tenantName: 'Reborn', tenantSlug: t.slug, name: 'New Admin', email: t.admin.email, password: PASSWORD });
    expect(again.signUp.tenant.id).not.toBe(t.id);
  });
});
