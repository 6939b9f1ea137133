// The response cache (src/response-cache.ts): repeated reads are answered from memory, and no
// answer outlives a committed change to its tenant's data — made by a mutation, by the worker,
// or by SQL outside the application. Runs on the embedded PGlite and on PostgreSQL (where the
// announcements travel over LISTEN/NOTIFY, and the event connection can be cut).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTextDocumentDocument,
  DocumentsDocument,
  MeDocument,
  TenantQuotaDocument,
  UpdateMyProfileDocument,
} from './__generated__/graphql.ts';
import { EVENTS_APPLICATION_NAME } from '../src/pubsub.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { waitForIngestion } from './helpers/documents.ts';
import { responseCacheLookups } from './helpers/metrics.ts';
import { addMember, rawId, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

/** The app's response-cache lookups so far, from its Prometheus registry. */
async function lookups(app: TestApp): Promise<{ hit: number; miss: number }> {
  return responseCacheLookups(await app.metrics.render());
}

/** Runs `read` and says whether the cache answered it. */
async function wasHit<T>(app: TestApp, read: () => Promise<T>): Promise<{ hit: boolean; value: T }> {
  const before = await lookups(app);
  const value = await read();
  const after = await lookups(app);
  expect(after.hit + after.miss).toBe(before.hit + before.miss + 1); // exactly one lookup
  return { hit: after.hit === before.hit + 1, value };
}

describe('response cache', () => {
  let app: TestApp;
  let acme: TestTenant;
  let globex: TestTenant;
  let member: Person;
  let acmeDocumentId: string;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await signUpTenant(app, 'Acme');
    globex = await signUpTenant(app, 'Globex');
    member = await addMember(app, acme, 'MEMBER');
    // Ingestion changes a document's status several times: let it finish before counting hits.
    for (const tenant of [acme, globex]) {
      const { addTextDocument } = await app.ok(
        AddTextDocumentDocument,
        { title: `${tenant.slug} handbook`, content: 'Vacation requests go to the team lead two weeks ahead.' },
        tenant.admin.token,
      );
      await waitForIngestion(app, tenant.admin.token, addTextDocument.document.id);
      if (tenant === acme) acmeDocumentId = addTextDocument.document.id;
    }
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  const documentsOf = (token: string) => app.ok(DocumentsDocument, { first: 20 }, token);

  it('answers a repeated read from memory, the same answer, and keeps each member’s own', async () => {
    const first = await wasHit(app, () => documentsOf(acme.admin.token));
    const second = await wasHit(app, () => documentsOf(acme.admin.token));
    expect(first.hit).toBe(false);
    expect(second.hit).toBe(true);
    expect(second.value).toEqual(first.value);

    // Another member of the same tenant, the same query: not the ADMIN's answer.
    expect((await wasHit(app, () => documentsOf(member.token))).hit).toBe(false);
    const adminMe = await app.ok(MeDocument, {}, acme.admin.token);
    const memberMe = await wasHit(app, () => app.ok(MeDocument, {}, member.token));
    expect(memberMe.hit).toBe(false);
    expect(memberMe.value.me).toMatchObject({ id: member.id, role: 'MEMBER' });
    expect(adminMe.me).toMatchObject({ id: acme.admin.id, role: 'ADMIN' });
  });

  it('shows a mutation’s effect to the very next read on the same instance', async () => {
    await documentsOf(acme.admin.token);
    expect((await wasHit(app, () => documentsOf(acme.admin.token))).hit).toBe(true);
    const { addTextDocument } = await app.ok(
      AddTextDocumentDocument,
      { title: 'Expense policy', content: 'Receipts are kept for ten years.' },
      acme.admin.token,
    );
    const after = await wasHit(app, () => documentsOf(acme.admin.token));
    expect(after.hit).toBe(false);
    expect(after.value.documents.edges.map((e) => e.node.id)).toContain(addTextDocument.document.id);
    await waitForIngestion(app, acme.admin.token, addTextDocument.document.id);

    await app.ok(MeDocument, {}, acme.admin.token);
    await app.ok(UpdateMyProfileDocument, { name: 'Ada Lovelace' }, acme.admin.token);
    expect((await app.ok(MeDocument, {}, acme.admin.token)).me.name).toBe('Ada Lovelace');
  });

  it('drops a tenant’s answers when SQL outside the application changes its data, and only that tenant’s', async () => {
    await documentsOf(acme.admin.token);
    await documentsOf(globex.admin.token);
    expect((await wasHit(app, () => documentsOf(acme.admin.token))).hit).toBe(true);
    expect((await wasHit(app, () => documentsOf(globex.admin.token))).hit).toBe(true);

    // As an operator (or the worker) would: the service role, no GraphQL involved.
    await app.db.pool.query('UPDATE documents SET title = $1 WHERE id = $2', ['Renamed by SQL', rawId(acmeDocumentId)]);
    // On PostgreSQL the announcement reaches this process over its LISTEN connection, a few
    // milliseconds after the commit; on PGlite before the UPDATE returns.
    await eventually(
      async () => (await documentsOf(acme.admin.token)).documents.edges.some((e) => e.node.title === 'Renamed by SQL'),
      'the renamed document in the cached page',
      5_000,
    );
    expect((await wasHit(app, () => documentsOf(globex.admin.token))).hit).toBe(true);
  });

  it('never answers from memory an operation that reads counters (the tenant’s quota), nor looks it up', async () => {
    const before = await lookups(app);
    await app.ok(TenantQuotaDocument, {}, acme.admin.token);
    const again = await app.ok(TenantQuotaDocument, {}, acme.admin.token);
    // A cacheable root field beside one that is not (chat): the operation is not cached.
    const mixed = parse('query Mixed { me { id } chatSessions(first: 1) { edges { node { id } } } }') as TypedDocumentNode<unknown, object>;
    await app.ok(mixed, {}, acme.admin.token);
    await app.ok(mixed, {}, acme.admin.token);
    expect(await lookups(app)).toEqual(before);
    expect(again.tenant.quota.documents).toBe(2);
  });

  it.runIf(process.env.DATABASE_URL)('forgets everything when its event connection was cut, since announcements may have been missed', async () => {
    await documentsOf(acme.admin.token);
    expect((await wasHit(app, () => documentsOf(acme.admin.token))).hit).toBe(true);
    const { rows } = await app.db.pool.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1`,
      [EVENTS_APPLICATION_NAME],
    );
    expect(rows.map((r) => r.terminated)).toContain(true);
    // The pub/sub reconnects after a short back-off; from then on the old answers are gone.
    await eventually(async () => !(await wasHit(app, () => documentsOf(acme.admin.token))).hit, 'a miss after the reconnect', 10_000);
    expect((await wasHit(app, () => documentsOf(acme.admin.token))).hit).toBe(true);
  });
});
