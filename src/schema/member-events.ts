// Live membership changes for a tenant's ADMINs. Events are published by the members and
// auth services and may come from another process (see pubsub.ts).
import type { MemberEventPayload } from '../pubsub.ts';
import { builder } from './builder.ts';
import { Invitation } from './invitations.ts';
import { User } from './members.ts';

const MemberEventKind = builder.enumType('MemberEventKind', {
  values: ['INVITED', 'JOINED', 'ROLE_CHANGED', 'DEACTIVATED', 'REACTIVATED', 'DELETED'] as const,
});

// A subscription keeps one context (and so one dataloader cache) for its whole life, so
// each event reads its rows fresh instead of going through the request-scoped loaders.
const MemberEvent = builder.objectRef<MemberEventPayload>('MemberEvent').implement({
  fields: (t) => ({
    kind: t.expose('kind', { type: MemberEventKind }),
    member: t.field({
      type: User,
      nullable: true,
      resolve: async (event, _args, { tenant }) =>
        event.userId ? ((await tenant?.members.byIds([event.userId]))?.[0] ?? null) : null,
    }),
    invitation: t.field({
      type: Invitation,
      nullable: true,
      resolve: async (event, _args, { tenant }) =>
        event.invitationId ? ((await tenant?.members.invitationsByIds([event.invitationId]))?.[0] ?? null) : null,
    }),
    at: t.field({ type: 'DateTime', resolve: (event) => new Date(event.at) }),
  }),
});

builder.subscriptionFields((t) => ({
  memberEvents: t.withAuth({ admin: true }).field({
    type: MemberEvent,
    description: 'Invitations, joins, role changes and (de)activations in the tenant, as they happen (ADMIN).',
    subscribe: (_root, _args, { pubsub, viewer }) => pubsub.subscribe('memberEvents', viewer.tenantId),
    resolve: (event) => event,
  }),
}));
