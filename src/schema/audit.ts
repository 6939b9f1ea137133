// The audit log (ADMIN): an append-only record of log-ins, member and invitation changes,
// document uploads, deletions and re-indexing, and settings changes. Read-only here: no
// mutation writes or edits entries (the services write them with the actions they record).
import type { AuditEvent as AuditEventRow } from '../db/generated/client.ts';
import { AuditAction as AuditActionValues } from '../db/generated/enums.ts';
import { builder } from './builder.ts';
import { User } from './members.ts';
import { paginate } from './pagination.ts';

export const AuditAction = builder.enumType('AuditAction', { values: Object.values(AuditActionValues) });

/** Target types that are Relay nodes: their ids are given as global IDs, usable with `node(id)`. */
const NODE_TYPES = new Set(['User', 'Invitation', 'Document']);

const AuditEvent = builder.objectRef<AuditEventRow>('AuditEvent').implement({
  description: 'One entry of the audit log.',
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.expose('action', { type: AuditAction }),
    actorId: t.id({
      nullable: true,
      description: 'Global ID of the member who acted; null for anonymous attempts (failed log-ins), operators, or a deleted member.',
      resolve: (event) => (event.actorId ? Buffer.from(`User:${event.actorId}`).toString('base64') : null),
    }),
    actor: t.field({ type: User, nullable: true, resolve: (event) => event.actorId }),
    targetType: t.exposeString('targetType', { nullable: true, description: 'User, Invitation, Document or Tenant.' }),
    targetId: t.id({
      nullable: true,
      description: 'Global ID of the target for User, Invitation and Document; the tenant’s id for Tenant.',
      resolve: (event) =>
        event.targetId && event.targetType && NODE_TYPES.has(event.targetType)
          ? Buffer.from(`${event.targetType}:${event.targetId}`).toString('base64')
          : event.targetId,
    }),
    metadata: t.field({
      type: 'JSON',
      description: 'Small facts of the action (roles, titles, sizes, the e-mail of a failed log-in); never passwords, tokens or document text.',
      resolve: (event) => event.metadata,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const AuditLogFilter = builder.inputType('AuditLogFilter', {
  fields: (t) => ({
    actions: t.field({ type: [AuditAction], required: false, description: 'Any of these actions.' }),
    actorId: t.globalID({ required: false, for: User, description: 'Entries of this member.' }),
    from: t.field({ type: 'DateTime', required: false, description: 'At or after.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Before.' }),
  }),
});

builder.queryFields((t) => ({
  auditLog: t.withAuth({ admin: true }).connection(
    {
      type: AuditEvent,
      description: 'The tenant’s audit log, newest first (ADMIN).',
      args: { filter: t.arg({ type: AuditLogFilter, required: false }) },
      resolve: (_root, { filter, ...page }, { tenant }) =>
        paginate(page, (window) =>
          tenant.audit.list(
            { actions: filter?.actions, actorId: filter?.actorId?.id, from: filter?.from, to: filter?.to },
            window,
          ),
        ),
    },
    { name: 'AuditEventConnection' },
    { name: 'AuditEventEdge' },
  ),
}));
