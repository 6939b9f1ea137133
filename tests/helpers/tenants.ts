// Builders for the people tests need: a fresh tenant with its ADMIN, and members of a
// given role joined through the real invitation flow.
import {
  AcceptInvitationDocument,
  InviteMemberDocument,
  SignUpDocument,
  type Role,
} from '../__generated__/graphql.ts';
import type { TestApp } from './app.ts';

export const PASSWORD = 'correct horse battery staple';

export interface Person {
  id: string;
  token: string;
  email: string;
  role: Role;
}

export interface TestTenant {
  id: string;
  slug: string;
  admin: Person;
}

let counter = 0;
export const uniqueSlug = (prefix = 't') =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export async function signUpTenant(app: TestApp, name = 'Acme'): Promise<TestTenant> {
  const slug = uniqueSlug();
  const email = `admin@${slug}.test`;
  const { signUp } = await app.ok(SignUpDocument, {
    tenantName: name,
    tenantSlug: slug,
    name: 'Ada Admin',
    email,
    password: PASSWORD,
  });
  return { id: signUp.tenant.id, slug, admin: { id: signUp.user.id, token: signUp.token, email, role: 'ADMIN' } };
}

export async function addMember(app: TestApp, tenant: TestTenant, role: Role): Promise<Person> {
  const email = `${role.toLowerCase()}-${(counter++).toString(36)}@${tenant.slug}.test`;
  const { inviteMember } = await app.ok(InviteMemberDocument, { email, role }, tenant.admin.token);
  const { acceptInvitation } = await app.ok(AcceptInvitationDocument, {
    token: inviteMember.token,
    name: `${role} person`,
    password: PASSWORD,
  });
  return { id: acceptInvitation.user.id, token: acceptInvitation.token, email, role };
}

/** The database id inside a Relay global ID (base64 of "Type:id"). */
export function rawId(globalId: string): string {
  const [, id] = Buffer.from(globalId, 'base64').toString().split(':');
  if (!id) throw new Error(`not a global id: ${globalId}`);
  return id;
}

/** A well-formed global ID of `type` that names no row. */
export const missingId = (type: string) => Buffer.from(`${type}:${crypto.randomUUID()}`).toString('base64');
