// The caller's tenant and its settings.
import { builder } from './builder.ts';
import type { Tenant as TenantRow } from '../db/generated/client.ts';
import { DEFAULT_RETRIEVAL } from '../retrieval/search.ts';

export const Tenant = builder.objectRef<TenantRow>('Tenant').implement({
  authScopes: { member: true, $granted: 'session' },
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const TenantSettings = builder.objectRef<TenantRow>('TenantSettings').implement({
  description: 'How the tenant’s questions are answered (ADMIN).',
  fields: (t) => ({
    systemPrompt: t.exposeString('systemPrompt', { nullable: true, description: 'Extra instructions after the grounding rules.' }),
    retrievalK: t.exposeInt('retrievalK', { description: 'Candidates taken from each retriever (vector, full-text).' }),
    retrievalN: t.exposeInt('retrievalN', { description: 'Sources put into the prompt.' }),
    retrievalMinScore: t.float({
      description: 'Fused-score floor below which sources are dropped.',
      resolve: (tenant) => tenant.retrievalMinScore ?? DEFAULT_RETRIEVAL.minScore,
    }),
    chatModel: t.string({
      description: 'The model that writes answers (the deployment’s default unless chosen).',
      resolve: (tenant, _args, { tenant: services }) => services!.tenant.effective(tenant).chatModel,
    }),
    embeddingModel: t.string({
      description: 'The model that embeds documents and questions. Changing it re-embeds every document in the background.',
      resolve: (tenant, _args, { tenant: services }) => services!.tenant.effective(tenant).embeddingModel,
    }),
    fullTextLanguage: t.string({
      description: 'PostgreSQL text-search configuration of full-text search (e.g. english, german, simple).',
      resolve: (tenant, _args, { tenant: services }) => services!.tenant.effective(tenant).ftsConfig,
    }),
    availableChatModels: t.stringList({ resolve: (_tenant, _args, { tenant: services }) => services!.tenant.availableChatModels() }),
    availableEmbeddingModels: t.stringList({
      resolve: (_tenant, _args, { tenant: services }) => services!.tenant.availableEmbeddingModels(),
    }),
  }),
});

builder.objectField(Tenant, 'settings', (t) =>
  t.withAuth({ admin: true }).field({ type: TenantSettings, resolve: (tenant) => tenant }),
);

builder.queryFields((t) => ({
  tenant: t.withAuth({ member: true }).field({
    type: Tenant,
    description: 'The signed-in user’s tenant.',
    resolve: (_root, _args, { tenant }) => tenant.tenant.current(),
  }),
}));

builder.mutationFields((t) => ({
  updateTenantSettings: t.withAuth({ admin: true }).field({
    type: Tenant,
    description:
      'Changes chat settings (ADMIN). Omitted arguments keep their value; null resets to the default. ' +
      'An unknown model, a Gemini model without GEMINI_API_KEY or an unknown text-search configuration ' +
      'is BAD_USER_INPUT naming the field.',
    args: {
      systemPrompt: t.arg.string({ required: false }),
      retrievalK: t.arg.int({ required: false }),
      retrievalN: t.arg.int({ required: false }),
      retrievalMinScore: t.arg.float({ required: false }),
      chatModel: t.arg.string({ required: false }),
      embeddingModel: t.arg.string({ required: false, description: 'Re-embeds every document of the tenant (jobs).' }),
      fullTextLanguage: t.arg.string({ required: false, description: 'Rewrites the full-text vectors of every chunk (a job).' }),
    },
    resolve: (_root, args, { tenant }) =>
      tenant.tenant.updateSettings({
        systemPrompt: args.systemPrompt,
        retrievalK: args.retrievalK ?? undefined,
        retrievalN: args.retrievalN ?? undefined,
        retrievalMinScore: args.retrievalMinScore,
        chatModel: args.chatModel,
        embeddingModel: args.embeddingModel,
        fullTextLanguage: args.fullTextLanguage,
      }),
  }),
  renameTenant: t.withAuth({ admin: true }).field({
    type: Tenant,
    args: { name: t.arg.string() },
    resolve: (_root, args, { tenant }) => tenant.tenant.rename(args),
  }),
}));
