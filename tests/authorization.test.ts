// Every guarded field × every role: anonymous callers get UNAUTHENTICATED, roles below
// the requirement get FORBIDDEN, the rest get data.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { GraphQLFormattedError } from 'graphql';
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
  RenameTenantDocument,
  RevokeInvitationDocument,
  UpdateMyProfileDocument,
  UserEmailDocument,
  AuditLogDocument,
  TenantModelsDocument,
  TenantQuotaDocument,
  UsageDocument,
} from './__generated__/graphql.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { addMember, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';

type Caller = 'anonymous' | 'MEMBER' | 'EDITOR' | 'ADMIN';
const CALLERS: Caller[] = ['anonymous', 'MEMBER', 'EDITOR', 'ADMIN'];
const RANK = { anonymous: 0, MEMBER: 1, EDITOR: 2, ADMIN: 3 } as const;

let app: TestApp;
let tenant: TestTenant;
let people: Record<Exclude<Caller, 'anonymous'>, Person>;
let target: Person;

beforeAll(async () => {
  app = await startTestApp();
  tenant = await signUpTenant(app);
  people = {
    ADMIN: tenant.admin,
    EDITOR: await addMember(app, tenant, 'EDITOR'),
    MEMBER: await addMember(app, tenant, 'MEMBER'),
  };
  target = await addMember(app, tenant, 'MEMBER');
});
afterAll(() => app?.close());

const tokenOf = (caller: Caller) => (caller === 'anonymous' ? null : people[caller].token);

interface Case {
  field: string;
  requires: Exclude<Caller, 'anonymous'>;
  run: (token: string | null) => Promise<{ errors?: readonly GraphQLFormattedError[] }>;
}

const op =
  <R, V>(document: TypedDocumentNode<R, V>, variables: () => V) =>
  (token: string | null) =>
    app.run(document, variables(), token);

let inviteCount = 0;
const cases: Case[] = [
  { field: 'Query.me', requires: 'MEMBER', run: op(MeDocument, () => ({})) },
  { field: 'Query.node', requires: 'MEMBER', run: op(NodeDocument, () => ({ id: target.id })) },
  { field: 'Mutation.updateMyProfile', requires: 'MEMBER', run: op(UpdateMyProfileDocument, () => ({ name: 'Renamed' })) },
  { field: 'Query.members', requires: 'ADMIN', run: op(MembersDocument, () => ({ first: 5 })) },
  { field: 'Query.invitations', requires: 'ADMIN', run: op(InvitationsDocument, () => ({})) },
  { field: 'Mutation.renameTenant', requires: 'ADMIN', run: op(RenameTenantDocument, () => ({ name: 'Acme 2' })) },
  {
    field: 'Mutation.inviteMember',
    requires: 'ADMIN',
    run: op(InviteMemberDocument, () => ({ email: `new-${inviteCount++}@example.com`, role: 'MEMBER' as const })),
  },
  {
    field: 'Mutation.changeMemberRole',
    requires: 'ADMIN',
    run: op(ChangeMemberRoleDocument, () => ({ userId: target.id, role: 'MEMBER' as const })),
  },
  { field: 'Mutation.deactivateMember', requires: 'ADMIN', run: op(DeactivateMemberDocument, () => ({ userId: target.id })) },
  { field: 'Mutation.reactivateMember', requires: 'ADMIN', run: op(ReactivateMemberDocument, () => ({ userId: target.id })) },
  { field: 'Query.usage', requires: 'ADMIN', run: op(UsageDocument, () => ({ from: '2026-01-01', to: '2026-01-31' })) },
  { field: 'Query.auditLog', requires: 'ADMIN', run: op(AuditLogDocument, () => ({ first: 5 })) },
  { field: 'Tenant.quota', requires: 'ADMIN', run: op(TenantQuotaDocument, () => ({})) },
  { field: 'Tenant.settings', requires: 'ADMIN', run: op(TenantModelsDocument, () => ({})) },
];

describe.each(cases)('$field (requires $requires)', ({ requires, run }) => {
  it.each(CALLERS)('as %s', async (caller) => {
    const result = await run(tokenOf(caller));
    const expected =
      caller === 'anonymous' ? 'UNAUTHENTICATED' : RANK[caller] < RANK[requires] ? 'FORBIDDEN' : undefined;
    if (expected) {
      expect(result.errors?.length).toBeGreaterThan(0);
      expect(new Set(codes(result))).toEqual(new Set([expected]));
    } else {
      expect(result.errors).toBeUndefined();
    }
  });
});

describe('Mutation.revokeInvitation (requires ADMIN)', () => {
  it.each(CALLERS)('as %s', async (caller) => {
    const { inviteMember } = await app.ok(InviteMemberDocument, { email: `r-${caller}@example.com`, role: 'EDITOR' }, tenant.admin.token);
    const result = await app.run(RevokeInvitationDocument, { invitationId: inviteMember.invitation.id }, tokenOf(caller));
    if (caller === 'ADMIN') expect(result.data?.revokeInvitation.revokedAt).toBeTruthy();
    else expect(codes(result)).toEqual([caller === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN']);
  });
});

describe('User.email and User.lastActiveAt (the user themself or ADMIN)', () => {
  it.each(['MEMBER', 'EDITOR', 'ADMIN'] as const)('as %s', async (caller) => {
    const other = await app.run(UserEmailDocument, { id: target.id }, people[caller].token);
    if (caller === 'ADMIN') {
      expect(other.errors).toBeUndefined();
      expect(other.data?.node).toEqual({ id: target.id, email: target.email });
    } else {
      expect(codes(other)).toEqual(['FORBIDDEN']);
    }
    const own = await app.ok(UserEmailDocument, { id: people[caller].id }, people[caller].token);
    expect(own.node).toEqual({ id: people[caller].id, email: people[caller].email });
  });
});

describe('role changes apply to the very next request', () => {
  it('a promoted member gains ADMIN fields, a deactivated one loses everything at once', async () => {
    const person = await addMember(app, tenant, 'MEMBER');
    expect(codes(await app.run(MembersDocument, { first: 1 }, person.token))).toEqual(['FORBIDDEN']);
    await app.ok(ChangeMemberRoleDocument, { userId: person.id, role: 'ADMIN' }, tenant.admin.token);
    expect((await app.run(MembersDocument, { first: 1 }, person.token)).errors).toBeUndefined();

    await app.ok(DeactivateMemberDocument, { userId: person.id }, tenant.admin.token);
    const after = await app.run(MeDocument, {}, person.token);
    expect(codes(after)[0]).toBe('UNAUTHENTICATED');
    expect(after.errors?.[0]?.message).toMatch(/deactivated/);
  });

  it('keeps at least one active ADMIN', async () => {
    const solo = await signUpTenant(app);
    const demote = await app.run(ChangeMemberRoleDocument, { userId: solo.admin.id, role: 'EDITOR' }, solo.admin.token);
    expect(codes(demote)).toEqual(['FAILED_PRECONDITION']);
    const self = await app.run(DeactivateMemberDocument, { userId: solo.admin.id }, solo.admin.token);
    expect(codes(self)).toEqual(['FAILED_PRECONDITION']);
    expect((await app.ok(MeDocument, {}, solo.admin.token)).me.role).toBe('ADMIN');
  });
});
