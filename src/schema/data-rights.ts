// Data rights (ADMIN): a member's data as a downloadable document, erasing a member, erasing
// the tenant.
//
// The export is one JSON value, not a tree of GraphQL types: a front-end saves it as a file
// (`fileName`) without writing a selection of every field, a member's whole history fits in one
// response instead of nested pages that the depth and cost limits would cut, and `format`
// versions the file's layout apart from the schema.
import type { MemberExport } from '../services/data-rights.ts';
import { builder } from './builder.ts';
import { User } from './members.ts';

const MemberDataExport = builder.objectRef<MemberExport>('MemberDataExport').implement({
  description: 'Everything stored about one member, as one JSON document.',
  fields: (t) => ({
    fileName: t.exposeString('fileName', { description: 'A name to save the document under, e.g. acme-member-<id>-2026-11-22.json.' }),
    format: t.exposeString('format', { description: 'The layout of `data`; a new layout gets a new name.' }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime' }),
    data: t.expose('data', {
      type: 'JSON',
      description: 'Profile, chat sessions with their messages and citations, and the documents the member uploaded.',
    }),
  }),
});

builder.queryFields((t) => ({
  exportMemberData: t.withAuth({ admin: true }).field({
    type: MemberDataExport,
    description: 'A member’s data for a data-access request (ADMIN). NOT_FOUND for an id outside the tenant.',
    args: { userId: t.arg.globalID({ for: User }) },
    resolve: (_root, { userId }, { tenant }) => tenant.dataRights.exportMember(userId.id),
  }),
}));

builder.mutationFields((t) => ({
  deleteMember: t.withAuth({ admin: true }).field({
    type: 'ID',
    description:
      'Erases a member with their chat history (ADMIN); documents they uploaded stay, without an uploader. Their tokens and ' +
      'subscriptions stop at once. FAILED_PRECONDITION (reason LAST_ADMIN) if it would leave no active ADMIN. Returns the id.',
    args: { userId: t.arg.globalID({ for: User }) },
    resolve: async (_root, { userId }, { tenant }) => {
      await tenant.dataRights.deleteMember(userId.id);
      return Buffer.from(`User:${userId.id}`).toString('base64');
    },
  }),
  deleteTenant: t.withAuth({ admin: true }).field({
    type: 'ID',
    description:
      'Erases the caller’s tenant (ADMIN): all its data, documents included, and its pending jobs; every token and ' +
      'subscription of it stops. `confirmSlug` must repeat the tenant’s slug (else BAD_USER_INPUT). Returns the tenant id.',
    args: { confirmSlug: t.arg.string() },
    resolve: (_root, { confirmSlug }, { tenant }) => tenant.dataRights.deleteTenant(confirmSlug),
  }),
}));
