// The schema builder: plugins, auth scopes and scalars. No types are defined here.
//
// Authorization lives in the scopes below and is applied with `authScopes` / `t.withAuth`
// in the domain files. Root types deny by default: every Query, Mutation and Subscription
// field requires a signed-in tenant member unless it opts out with `skipTypeScopes`.
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type { Context, TenantContext } from '../context.ts';
import { ErrorCode } from '../errors.ts';
import { roleIncludes } from '../services/viewer.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: {
    /** Any active member of a tenant (MEMBER, EDITOR or ADMIN). */
    member: boolean;
    /** EDITOR or ADMIN: manages documents. */
    editor: boolean;
    /** ADMIN: members, settings and usage. */
    admin: boolean;
    /** The caller is the user with this id. */
    self: string;
  };
  AuthContexts: {
    member: TenantContext;
    editor: TenantContext;
    admin: TenantContext;
    self: TenantContext;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    File: { Input: File; Output: never };
    JSON: { Input: never; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    // Subscriptions are authorized once, when they start (and the socket at connection_init).
    authorizeOnSubscribe: true,
    authScopes: (context) => {
      const viewer = context.viewer;
      return {
        member: viewer !== null,
        editor: viewer !== null && roleIncludes(viewer.role, 'EDITOR'),
        admin: viewer !== null && roleIncludes(viewer.role, 'ADMIN'),
        self: (userId) => viewer?.userId === userId,
      };
    },
    unauthorizedError: (_parent, context, _info, result) =>
      context.viewer
        ? new GraphQLError(`Not allowed: ${result.message}`, { extensions: { code: ErrorCode.FORBIDDEN } })
        : new GraphQLError(context.authProblem ?? 'Sign in required: send an access token (Authorization: Bearer …)', {
            extensions: { code: ErrorCode.UNAUTHENTICATED },
          }),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: { nullable: true },
    nodesQueryOptions: { nullable: { list: false, items: true } },
  },
});

builder.scalarType('DateTime', {
  description: 'An instant in time, as an ISO-8601 string in UTC.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) {
      throw new GraphQLError('DateTime must be an ISO-8601 string', { extensions: { code: ErrorCode.BAD_USER_INPUT } });
    }
    return date;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value (output only), e.g. a data export to save as a file.',
  serialize: (value) => value,
  parseValue: () => {
    throw new GraphQLError('JSON is an output-only scalar', { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  },
});

const memberOnly = { authScopes: { member: true } } as const;
builder.queryType({ ...memberOnly });
builder.mutationType({ ...memberOnly });
builder.subscriptionType({ ...memberOnly });
