// Members of the caller's tenant: the User type, `me`, the member directory and the
// ADMIN's role and status changes.
import type { Context } from '../context.ts';
import type { User as UserRow } from '../db/generated/client.ts';
import { Role as RoleValues, UserStatus as UserStatusValues } from '../db/generated/enums.ts';
import { builder } from './builder.ts';
import { paginate } from './pagination.ts';

export const Role = builder.enumType('Role', {
  description: 'Role inside a tenant. ADMIN ⊃ EDITOR ⊃ MEMBER.',
  values: Object.values(RoleValues),
});
export const UserStatus = builder.enumType('UserStatus', { values: Object.values(UserStatusValues) });

export const User = builder.loadableNode('User', {
  description: 'A person in the caller’s tenant.',
  id: { resolve: (user) => user.id },
  load: async (ids: string[], context: Context): Promise<UserRow[]> => context.tenant?.members.byIds(ids) ?? [],
  sort: (user) => user.id,
  // Any member may see who their colleagues are; contact and activity details are narrower.
  // `session` is granted by signUp/logIn/acceptInvitation for the user they return.
  authScopes: { member: true, $granted: 'session' },
  fields: (t) => ({
    name: t.exposeString('name'),
    email: t.exposeString('email', {
      description: 'Visible to the user themself and to ADMINs.',
      authScopes: (user) => ({ admin: true, self: user.id, $granted: 'session' }),
    }),
    role: t.expose('role', { type: Role }),
    status: t.expose('status', { type: UserStatus }),
    lastActiveAt: t.expose('lastActiveAt', {
      type: 'DateTime',
      nullable: true,
      authScopes: (user) => ({ admin: true, self: user.id, $granted: 'session' }),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  me: t.withAuth({ member: true }).field({
    type: User,
    description: 'The signed-in user.',
    resolve: (_root, _args, { tenant }) => tenant.members.me(),
  }),
  members: t.withAuth({ admin: true }).connection({
    type: User,
    description: 'Members of the tenant, newest first (ADMIN).',
    args: {
      role: t.arg({ type: Role, required: false }),
      status: t.arg({ type: UserStatus, required: false }),
      search: t.arg.string({ required: false, description: 'Matches name or e-mail, case-insensitively.' }),
    },
    resolve: (_root, { role, status, search, ...page }, { tenant }) =>
      paginate(page, (window) => tenant.members.list({ role, status, search }, window)),
  }, { name: 'UserConnection' }, { name: 'UserEdge' }),
}));

builder.mutationFields((t) => ({
  updateMyProfile: t.withAuth({ member: true }).field({
    type: User,
    args: { name: t.arg.string() },
    resolve: (_root, args, { tenant }) => tenant.members.updateProfile(args),
  }),
  changeMemberRole: t.withAuth({ admin: true }).field({
    type: User,
    description: 'Fails with FAILED_PRECONDITION if it would leave the tenant without an active ADMIN.',
    args: { userId: t.arg.globalID({ for: User }), role: t.arg({ type: Role }) },
    resolve: (_root, { userId, role }, { tenant }) => tenant.members.changeRole(userId.id, role),
  }),
  deactivateMember: t.withAuth({ admin: true }).field({
    type: User,
    description: 'The member loses access at once, including with tokens already issued.',
    args: { userId: t.arg.globalID({ for: User }) },
    resolve: (_root, { userId }, { tenant }) => tenant.members.deactivate(userId.id),
  }),
  reactivateMember: t.withAuth({ admin: true }).field({
    type: User,
    args: { userId: t.arg.globalID({ for: User }) },
    resolve: (_root, { userId }, { tenant }) => tenant.members.reactivate(userId.id),
  }),
}));

