// A member of tenant A can neither read nor change anything of tenant B, and B's ids
// answer exactly like ids that do not exist.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangeMemberRoleDocument,
  DeactivateMemberDocument,
  InvitationsDocument,
  InviteMemberDocument,
  MeDocument,
  MembersDocument,
  NodeDocument,
  ReactivateMemberDocument,
  RevokeInvitationDocument,
  UserEmailDocument,
} from './__generated__/graphql.ts';
import { TENANT_MODELS } from '../src/db/tenant-scope.ts';
import { createTokenSigner } from '../src/services/tokens.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { addMember, missingId, rawId, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';

let app: TestApp;
let a: TestTenant;
let b: TestTenant;
let bMember: Person;
let bInvitationId: string;

beforeAll(async () => {
  app = await startTestApp();
  a = await signUpTenant(app, 'Tenant A');
  b = await signUpTenant(app, 'Tenant B');
  bMember = await addMember(app, b, 'MEMBER');
  const { inviteMember } = await app.ok(InviteMemberDocument, { email: 'pending@b.test', role: 'EDITOR' }, b.admin.token);
  bInvitationId = inviteMember.invitation.id;
});
afterAll(() => app?.close());

/** The same operation on B's id and on an id that does not exist must answer identically. */
async function expectLikeMissing(
  runWith: (id: string) => Promise<{ data?: unknown; errors?: readonly { message: string; extensions?: unknown }[] }>,
  foreignId: string,
  type: string,
) {
  const foreign = await runWith(foreignId);
  const missing = await runWith(missingId(type));
  const shape = (r: Awaited<ReturnType<typeof runWith>>) => ({
    data: r.data,
    errors: r.errors?.map((e) => ({ message: e.message, extensions: e.extensions })),
  });
  expect(shape(foreign)).toEqual(shape(missing));
  return foreign;
}

describe('reads across tenants', () => {
  it('node(id) of another tenant’s user is null, like a missing id', async () => {
    const result = await expectLikeMissing((id) => app.run(NodeDocument, { id }, a.admin.token), bMember.id, 'User');
    expect(result.data).toEqual({ node: null });
    const email = await expectLikeMissing((id) => app.run(UserEmailDocument, { id }, a.admin.token), b.admin.id, 'User');
    expect(email.data).toEqual({ node: null });
  });

  it('node(id) of another tenant’s invitation is null', async () => {
    const result = await expectLikeMissing((id) => app.run(NodeDocument, { id }, a.admin.token), bInvitationId, 'Invitation');
    expect(result.data).toEqual({ node: null });
  });

  it('lists show only the caller’s tenant', async () => {
    const members = await app.ok(MembersDocument, { first: 100 }, a.admin.token);
    expect(members.members.edges.map((e) => e.node.id)).toEqual([a.admin.id]);
    const searchB = await app.ok(MembersDocument, { first: 100, search: b.slug }, a.admin.token);
    expect(searchB.members.edges).toEqual([]);
    const invitations = await app.ok(InvitationsDocument, {}, a.admin.token);
    expect(invitations.invitations.edges).toEqual([]);
    // B sees its own, so the empty lists above are not an accident of the query.
    const bMembers = await app.ok(MembersDocument, { first: 100 }, b.admin.token);
    expect(bMembers.members.edges.map((e) => e.node.id).sort()).toEqual([b.admin.id, bMember.id].sort());
  });

  it('a token naming another tenant than its user’s is refused', async () => {
    const signer = createTokenSigner('test-secret-test-secret-test-secret-0123456789', 3600);
    const { token } = await signer.sign({ userId: rawId(a.admin.id), tenantId: b.id });
    const result = await app.run(MeDocument, {}, token);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('writes across tenants', () => {
  it.each([
    ['changeMemberRole', (id: string) => app.run(ChangeMemberRoleDocument, { userId: id, role: 'ADMIN' }, a.admin.token)],
    ['deactivateMember', (id: string) => app.run(DeactivateMemberDocument, { userId: id }, a.admin.token)],
    ['reactivateMember', (id: string) => app.run(ReactivateMemberDocument, { userId: id }, a.admin.token)],
  ])('%s on another tenant’s user answers NOT_FOUND and changes nothing', async (_name, mutate) => {
    const result = await expectLikeMissing(mutate, bMember.id, 'User');
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
    const still = await app.ok(MeDocument, {}, bMember.token);
    expect(still.me).toMatchObject({ role: 'MEMBER', status: 'ACTIVE' });
  });

  it('revokeInvitation on another tenant’s invitation answers NOT_FOUND and changes nothing', async () => {
    const result = await expectLikeMissing(
      (id) => app.run(RevokeInvitationDocument, { invitationId: id }, a.admin.token),
      bInvitationId,
      'Invitation',
    );
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
    const pending = await app.ok(InvitationsDocument, {}, b.admin.token);
    expect(pending.invitations.edges.map((e) => e.node.id)).toContain(bInvitationId);
  });

  it('a malformed id is NOT_FOUND too, not a server error', async () => {
    const bogus = Buffer.from('User:not-a-uuid').toString('base64');
    const result = await app.run(DeactivateMemberDocument, { userId: bogus }, a.admin.token);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
  });
});

describe('the central tenant scope', () => {
  it('covers every model with a tenant_id column in schema.prisma', () => {
    const schema = fs.readFileSync(new URL('../prisma/schema.prisma', import.meta.url), 'utf8');
    const withTenant = [...schema.matchAll(/^model (\w+) \{([^}]*)\}/gm)]
      .filter(([, , body]) => /^\s+tenantId\s/m.test(body ?? ''))
      .map(([, name]) => name);
    expect(withTenant.length).toBeGreaterThan(0);
    expect([...TENANT_MODELS].sort()).toEqual(withTenant.sort());
  });

  it('filters a query that names no tenant at all', async () => {
    const scopedToA = app.services.forViewer({ userId: rawId(a.admin.id), tenantId: a.id, role: 'ADMIN' });
    const everyone = await scopedToA.members.byIds([rawId(a.admin.id), rawId(b.admin.id), rawId(bMember.id)]);
    expect(everyone.map((u) => u.id)).toEqual([rawId(a.admin.id)]);
  });
});
