// Invitations: an ADMIN invites an e-mail address with a role; the invitee redeems the
// one-time token with `acceptInvitation` (public) to become an active member.
import type { Context } from '../context.ts';
import type { Invitation as InvitationRow } from '../db/generated/client.ts';
import { builder } from './builder.ts';
import { Role, User } from './members.ts';
import { paginate } from './pagination.ts';
import { AuthPayload } from './auth.ts';

export const Invitation = builder.loadableNode('Invitation', {
  id: { resolve: (invitation) => invitation.id },
  load: async (ids: string[], context: Context): Promise<InvitationRow[]> =>
    context.tenant?.members.invitationsByIds(ids) ?? [],
  sort: (invitation) => invitation.id,
  authScopes: { admin: true },
  fields: (t) => ({
    email: t.exposeString('email'),
    role: t.expose('role', { type: Role }),
    invitedBy: t.field({ type: User, resolve: (invitation) => invitation.invitedById }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    acceptedAt: t.expose('acceptedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const InvitationPayload = builder
  .objectRef<{ invitation: { id: string }; token: string }>('InvitationPayload')
  .implement({
    fields: (t) => ({
      invitation: t.field({ type: Invitation, resolve: (payload) => payload.invitation.id }),
      token: t.exposeString('token', {
        description: 'One-time secret for the invitee (shown only here): pass it to acceptInvitation.',
      }),
    }),
  });

builder.queryFields((t) => ({
  invitations: t.withAuth({ admin: true }).connection({
    type: Invitation,
    description: 'Invitations, newest first (ADMIN).',
    args: { pendingOnly: t.arg.boolean({ defaultValue: true }) },
    resolve: (_root, { pendingOnly, ...page }, { tenant }) =>
      paginate(page, (window) => tenant.members.listInvitations(pendingOnly ?? true, window)),
  }, { name: 'InvitationConnection' }, { name: 'InvitationEdge' }),
}));

builder.mutationFields((t) => ({
  inviteMember: t.withAuth({ admin: true }).field({
    type: InvitationPayload,
    args: { email: t.arg.string(), role: t.arg({ type: Role }) },
    resolve: (_root, args, { tenant }) => tenant.members.invite(args),
  }),
  revokeInvitation: t.withAuth({ admin: true }).field({
    type: Invitation,
    args: { invitationId: t.arg.globalID({ for: Invitation }) },
    resolve: (_root, { invitationId }, { tenant }) => tenant.members.revokeInvitation(invitationId.id),
  }),
  acceptInvitation: t.field({
    type: AuthPayload,
    description: 'Redeem an invitation token: creates the member and signs them in.',
    skipTypeScopes: true,
    args: { token: t.arg.string(), name: t.arg.string(), password: t.arg.string() },
    resolve: (_root, args, { auth }) => auth.acceptInvitation(args),
  }),
}));
