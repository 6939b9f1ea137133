// Signing up (a new tenant with its first ADMIN) and logging in. Both are public.
import type { Session } from '../services/auth.ts';
import { builder } from './builder.ts';
import { User } from './members.ts';
import { Tenant } from './tenant.ts';

export const AuthPayload = builder.objectRef<Session>('AuthPayload').implement({
  description: 'A signed access token: send it as `Authorization: Bearer <token>` (or in graphql-ws connectionParams).',
  fields: (t) => ({
    token: t.exposeString('token'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    // The new session's own user and tenant are readable before the token is in use.
    user: t.field({ type: User, grantScopes: ['session'], resolve: (session) => session.user }),
    tenant: t.field({ type: Tenant, grantScopes: ['session'], resolve: (session) => session.tenant }),
  }),
});

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayload,
    description: 'Creates a tenant and its first ADMIN, and signs them in.',
    skipTypeScopes: true,
    args: {
      tenantName: t.arg.string(),
      tenantSlug: t.arg.string({ description: 'Typed at log-in: 3–40 lowercase letters, digits, hyphens.' }),
      name: t.arg.string(),
      email: t.arg.string(),
      password: t.arg.string({ description: 'At least 10 characters.' }),
    },
    resolve: (_root, args, { auth }) => auth.signUp(args),
  }),
  logIn: t.field({
    type: AuthPayload,
    description: 'Repeated failures for one tenant and e-mail are refused for a while with RATE_LIMITED.',
    skipTypeScopes: true,
    args: { tenantSlug: t.arg.string(), email: t.arg.string(), password: t.arg.string() },
    resolve: (_root, args, { auth }) => auth.logIn(args),
  }),
}));
