// The caller's tenant.
import { builder } from './builder.ts';
import type { Tenant as TenantRow } from '../db/generated/client.ts';

export const Tenant = builder.objectRef<TenantRow>('Tenant').implement({
  authScopes: { member: true, $granted: 'session' },
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  tenant: t.withAuth({ member: true }).field({
    type: Tenant,
    description: 'The signed-in user’s tenant.',
    resolve: (_root, _args, { tenant }) => tenant.tenant.current(),
  }),
}));

builder.mutationFields((t) => ({
  renameTenant: t.withAuth({ admin: true }).field({
    type: Tenant,
    args: { name: t.arg.string() },
    resolve: (_root, args, { tenant }) => tenant.tenant.rename(args),
  }),
}));
