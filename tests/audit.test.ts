// The audit log: entries for log-ins, failed log-ins, member, invitation, document and settings
// changes, written with the actions; read by ADMINs only, filtered and paged; never another
// tenant's; never a secret; and the database itself refuses to edit or delete entries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTextDocumentDocument,
  AuditLogDocument,
  ChangeMemberRoleDocument,
  DeactivateMemberDocument,
  DeleteDocumentDocument,
  InviteMemberDocument,
  LogInDocument,
  ReactivateMemberDocument,
  ReindexDocumentDocument,
  RevokeInvitationDocument,
  UpdateTenantSettingsDocument,
  type AuditAction,
  type AuditLogQuery,
} from './__generated__/graphql.ts';
import { schema } from '../src/schema/index.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { upload } from './helpers/documents.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { addMember, PASSWORD, rawId, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';

type Entry = AuditLogQuery['auditLog']['edges'][number]['node'];

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
let editor: Person;
let member: Person;
let uploadedId: string;
let invitationToken: string;
const secrets: string[] = [PASSWORD];

beforeAll(async () => {
  app = await startTestApp({}, { embedder: hashEmbedder() });
  a = await signUpTenant(app, 'Audited');
  b = await signUpTenant(app, 'Other');
  editor = await addMember(app, a, 'EDITOR');
  member = await addMember(app, a, 'MEMBER');
  secrets.push(a.admin.token, editor.token, member.token);

  // A log-in, two failed ones (wrong password, unknown e-mail), a role change, an upload.
  const { logIn } = await app.ok(LogInDocument, { tenantSlug: a.slug, email: member.email, password: PASSWORD });
  secrets.push(logIn.token);
  await app.run(LogInDocument, { tenantSlug: a.slug, email: editor.email, password: 'not the password at all' });
  await app.run(LogInDocument, { tenantSlug: a.slug, email: 'nobody@nowhere.test', password: 'not the password at all' });
  await app.ok(ChangeMemberRoleDocument, { userId: member.id, role: 'EDITOR' }, a.admin.token);
  const uploaded = await upload(app, editor.token, new TextEncoder().encode('Lighthouses guide ships at night.'), 'lighthouses.txt', 'Lighthouses');
  uploadedId = uploaded.data!.uploadDocument.document.id;

  // Invitation revoked, member deactivated and reactivated, settings, reindex, deletion.
  const { inviteMember } = await app.ok(InviteMemberDocument, { email: 'later@audited.test', role: 'MEMBER' }, a.admin.token);
  invitationToken = inviteMember.token;
  secrets.push(invitationToken);
  await app.ok(RevokeInvitationDocument, { invitationId: inviteMember.invitation.id }, a.admin.token);
  await app.ok(DeactivateMemberDocument, { userId: member.id }, a.admin.token);
  await app.ok(ReactivateMemberDocument, { userId: member.id }, a.admin.token);
  await app.ok(UpdateTenantSettingsDocument, { retrievalK: 30, systemPrompt: 'Be brief.' }, a.admin.token);
  const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Secret plans', content: 'TOP-SECRET-DOCUMENT-TEXT about bridges' }, editor.token);
  await app.ok(ReindexDocumentDocument, { id: addTextDocument.document.id }, editor.token);
  await app.ok(DeleteDocumentDocument, { id: addTextDocument.document.id }, editor.token);

  // Tenant B's own activity, which A must never see.
  await addMember(app, b, 'EDITOR');
  await app.ok(LogInDocument, { tenantSlug: b.slug, email: b.admin.email, password: PASSWORD });
});
afterAll(() => app?.close());

async function allEntries(tenant: TestTenant, filter: Record<string, unknown> = {}): Promise<Entry[]> {
  const entries: Entry[] = [];
  let after: string | null = null;
  for (;;) {
    const { auditLog }: AuditLogQuery = await app.ok(AuditLogDocument, { filter, first: 100, after }, tenant.admin.token);
    entries.push(...auditLog.edges.map((e) => e.node));
    if (!auditLog.pageInfo.hasNextPage) return entries;
    after = auditLog.pageInfo.endCursor ?? null;
  }
}

const only = (entries: Entry[], action: AuditAction) => entries.filter((e) => e.action === action);

describe('entries', () => {
  it('record log-ins, failed log-ins, a role change and an upload, with actor, target and metadata', async () => {
    const entries = await allEntries(a);
    const logins = only(entries, 'LOGIN_SUCCEEDED');
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({ actorId: member.id, actor: { id: member.id }, targetType: 'User', targetId: member.id });

    const failed = only(entries, 'LOGIN_FAILED');
    expect(failed.map((e) => e.metadata)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ email: editor.email, reason: 'WRONG_PASSWORD', failures: 1 }),
        expect.objectContaining({ email: 'nobody@nowhere.test', reason: 'UNKNOWN_EMAIL', failures: 1 }),
      ]),
    );
    const wrongPassword = failed.find((e) => (e.metadata as { reason: string }).reason === 'WRONG_PASSWORD')!;
    expect(wrongPassword).toMatchObject({ actorId: null, targetType: 'User', targetId: editor.id });

    const roleChanges = only(entries, 'ROLE_CHANGED');
    expect(roleChanges).toHaveLength(1);
    expect(roleChanges[0]).toMatchObject({ actorId: a.admin.id, targetId: member.id, metadata: { from: 'MEMBER', to: 'EDITOR' } });

    const uploads = only(entries, 'DOCUMENT_UPLOADED');
    expect(uploads.find((e) => e.targetId === uploadedId)).toMatchObject({
      actorId: editor.id,
      targetType: 'Document',
      metadata: { title: 'Lighthouses', contentType: 'text/plain', byteSize: 33 },
    });
  });

  it('record invitations, deactivation, reactivation, settings, reindexing and deletion', async () => {
    const entries = await allEntries(a);
    const count = (action: AuditAction) => only(entries, action).length;
    // Two invitations accepted by addMember, plus the one revoked.
    expect(count('INVITATION_CREATED')).toBe(3);
    expect(count('INVITATION_ACCEPTED')).toBe(2);
    expect(only(entries, 'INVITATION_REVOKED')[0]).toMatchObject({ actorId: a.admin.id, metadata: { email: 'later@audited.test', role: 'MEMBER' } });
    expect(only(entries, 'MEMBER_DEACTIVATED')[0]).toMatchObject({ targetId: member.id });
    expect(only(entries, 'MEMBER_REACTIVATED')[0]).toMatchObject({ targetId: member.id });
    expect(only(entries, 'SETTINGS_CHANGED')[0]!.metadata).toEqual({
      changes: { retrievalK: { from: 20, to: 30 }, systemPrompt: { fromLength: 0, toLength: 9 } },
    });
    expect(count('DOCUMENT_REINDEXED')).toBe(1);
    expect(only(entries, 'DOCUMENT_DELETED')[0]).toMatchObject({ actorId: editor.id, metadata: { title: 'Secret plans' } });
    // Newest first.
    const times = entries.map((e) => Date.parse(e.createdAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });

  it('never hold passwords, tokens or document text', async () => {
    const { rows } = await app.db.pool.query<{ text: string }>('SELECT row_to_json(e)::text AS text FROM audit_events e');
    expect(rows.length).toBeGreaterThanOrEqual(15);
    for (const { text } of rows) {
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toContain('TOP-SECRET-DOCUMENT-TEXT');
      expect(text).not.toMatch(/\$argon2/);
    }
  });
});

describe('reading', () => {
  it('filters by actions, actor and time, and pages with cursors', async () => {
    const failed = await allEntries(a, { actions: ['LOGIN_FAILED', 'ROLE_CHANGED'] });
    expect(new Set(failed.map((e) => e.action))).toEqual(new Set(['LOGIN_FAILED', 'ROLE_CHANGED']));
    expect(failed).toHaveLength(3);

    const byEditor = await allEntries(a, { actorId: editor.id });
    expect(byEditor.length).toBeGreaterThanOrEqual(5);
    expect(byEditor.every((e) => e.actorId === editor.id)).toBe(true);

    const all = await allEntries(a);
    const middle = all[Math.floor(all.length / 2)]!;
    const newer = await allEntries(a, { from: middle.createdAt });
    expect(newer.every((e) => Date.parse(e.createdAt) >= Date.parse(middle.createdAt))).toBe(true);
    const older = await allEntries(a, { to: middle.createdAt });
    expect(newer.length + older.length).toBe(all.length);
    expect(await allEntries(a, { from: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);

    const first = await app.ok(AuditLogDocument, { first: 2 }, a.admin.token);
    expect(first.auditLog.edges).toHaveLength(2);
    expect(first.auditLog.pageInfo.hasNextPage).toBe(true);
    const next = await app.ok(AuditLogDocument, { first: 2, after: first.auditLog.pageInfo.endCursor }, a.admin.token);
    expect(next.auditLog.edges.map((e) => e.node.id)).toEqual(all.slice(2, 4).map((e) => e.id));
  });

  it('is for ADMINs only', async () => {
    const editorNow = await app.run(AuditLogDocument, { first: 5 }, editor.token);
    expect(codes(editorNow)).toEqual(['FORBIDDEN']);
    expect(codes(await app.run(AuditLogDocument, { first: 5 }, null))).toEqual(['UNAUTHENTICATED']);
  });

  it('never shows another tenant’s entries', async () => {
    const mine = await allEntries(a);
    const theirs = await allEntries(b);
    expect(theirs.length).toBeGreaterThanOrEqual(3); // invitation created and accepted, log-in
    const myIds = new Set(mine.map((e) => e.id));
    expect(theirs.some((e) => myIds.has(e.id))).toBe(false);
    expect(await allEntries(a, { actorId: b.admin.id })).toEqual([]);
    expect(mine.some((e) => e.actorId === b.admin.id || e.targetId === b.admin.id)).toBe(false);
  });
});

describe('append-only', () => {
  it('has no mutation that writes or edits entries', () => {
    const mutations = Object.keys(schema.getMutationType()!.getFields());
    expect(mutations.filter((name) => /audit/i.test(name))).toEqual([]);
  });

  it('is enforced by the database: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const { rows } = await app.db.pool.query<{ id: string }>('SELECT id FROM audit_events WHERE tenant_id = $1 LIMIT 1', [a.id]);
    const id = rows[0]!.id;
    // Each attempt in an explicit transaction on one connection: on the embedded database, the
    // second failing statement outside one ended with 'Connection terminated unexpectedly' from
    // pglite-socket (not seen on PostgreSQL, nor in a lone PGlite without the app's other connections).
    const client = await app.db.pool.connect();
    try {
      for (const [sql, params] of [
        [`UPDATE audit_events SET action = 'LOGIN_SUCCEEDED' WHERE id = $1`, [id]],
        ['DELETE FROM audit_events WHERE id = $1', [id]],
        ['TRUNCATE audit_events', []],
      ] as const) {
        await client.query('BEGIN');
        await expect(client.query(sql, [...params])).rejects.toThrow(/append-only: (UPDATE|DELETE|TRUNCATE) refused/);
        await client.query('ROLLBACK');
      }
    } finally {
      client.release();
    }
    const still = await app.db.pool.query('SELECT 1 FROM audit_events WHERE id = $1', [id]);
    expect(still.rowCount).toBe(1);
  });

  it('lets foreign-key cascades through: a deleted member becomes a null actor, a deleted tenant takes its entries', async () => {
    const c = await signUpTenant(app, 'Short-lived');
    const leaving = await addMember(app, c, 'MEMBER');
    await app.ok(LogInDocument, { tenantSlug: c.slug, email: leaving.email, password: PASSWORD });
    const actorRows = () =>
      app.db.pool.query<{ actor_id: string | null }>(`SELECT actor_id FROM audit_events WHERE tenant_id = $1 AND action = 'LOGIN_SUCCEEDED'`, [c.id]);
    expect((await actorRows()).rows).toEqual([{ actor_id: rawId(leaving.id) }]);

    await app.db.pool.query('DELETE FROM users WHERE id = $1', [rawId(leaving.id)]);
    expect((await actorRows()).rows).toEqual([{ actor_id: null }]);

    await app.db.pool.query('DELETE FROM tenants WHERE id = $1', [c.id]);
    const left = await app.db.pool.query('SELECT 1 FROM audit_events WHERE tenant_id = $1', [c.id]);
    expect(left.rowCount).toBe(0);
  });
});
