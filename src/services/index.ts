// Wires the domain services together. `auth` serves anonymous callers; `forViewer`
// builds the tenant-scoped services for one authenticated caller.
import type { GenerationRunner } from '../chat/generation.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import { forTenant } from '../db/tenant-scope.ts';
import type { Logger } from '../logger.ts';
import type { Models } from '../providers/registry.ts';
import type { PubSub } from '../pubsub.ts';
import type { RetrievalParams } from '../retrieval/search.ts';
import type { DocumentStorage } from '../storage/index.ts';
import { createAuditService } from './audit.ts';
import { createAuthService } from './auth.ts';
import { createChatService } from './chat.ts';
import { createDataRightsService } from './data-rights.ts';
import { createSearchService } from './search.ts';
import { createDocumentsService } from './documents.ts';
import { createMembersService } from './members.ts';
import { createTenantService } from './tenants.ts';
import type { TokenSigner } from './tokens.ts';
import { createUsageService } from './usage.ts';
import type { Viewer } from './viewer.ts';
import type { Tenant, User } from '../db/generated/client.ts';

export interface ServiceDeps {
  db: Database;
  pubsub: PubSub;
  tokens: TokenSigner;
  storage: DocumentStorage;
  generations: GenerationRunner;
  /** Chat models and embedders by name (each tenant uses its own). */
  models: Models;
  retrieval: RetrievalParams;
  logger?: Logger;
  config: Pick<
    Config,
    | 'loginMaxFailures'
    | 'invitationTtlHours'
    | 'maxUploadBytes'
    | 'planLimits'
    | 'defaultPlan'
    | 'jobMaxAttempts'
    | 'ftsConfig'
  >;
}

export function createServices(deps: ServiceDeps) {
  const { db, pubsub, tokens, storage, generations, config, models } = deps;
  const auth = createAuthService(db.prisma, tokens, pubsub, { ...config, logger: deps.logger });
  // One tenant-scoped client per tenant, reused by its requests (a Prisma extension client is
  // cheap to create but its first queries are not).
  const scopedClients = new Map<string, ReturnType<typeof forTenant>>();
  const scopedFor = (tenantId: string) => {
    let scoped = scopedClients.get(tenantId);
    if (!scoped) {
      if (scopedClients.size >= 1_000) scopedClients.delete(scopedClients.keys().next().value!);
      scoped = forTenant(db.tenantPrisma, tenantId);
      scopedClients.set(tenantId, scoped);
    }
    return scoped;
  };
  const tenantDeps = { models, defaultFtsConfig: config.ftsConfig, jobMaxAttempts: config.jobMaxAttempts };
  return {
    auth,
    /** `self`: the caller's user row as read while authenticating this request. */
    forViewer(viewer: Viewer, self?: User, ownTenant?: Tenant) {
      const scoped = scopedFor(viewer.tenantId);
      const tenant = createTenantService(scoped, viewer, tenantDeps, ownTenant, () => auth.forgetCallers(viewer.tenantId));
      return {
        members: createMembersService(scoped, viewer, pubsub, config, self, () => auth.forgetCallers(viewer.tenantId)),
        tenant,
        documents: createDocumentsService(scoped, db.pool, viewer, pubsub, storage, config),
        chat: createChatService(scoped, db.pool, viewer, pubsub, generations, {
          models,
          defaultFtsConfig: config.ftsConfig,
          planLimits: config.planLimits,
          tenant: tenant.current,
        }),
        search: createSearchService(db.pool, viewer, tenant.current, { models, defaultFtsConfig: config.ftsConfig, retrieval: deps.retrieval }),
        usage: createUsageService(scoped, config.planLimits),
        audit: createAuditService(scoped),
        dataRights: createDataRightsService({
          db: scoped,
          service: db.prisma,
          viewer,
          pubsub,
          generations,
          callersChanged: () => auth.forgetCallers(viewer.tenantId),
        }),
      };
    },
  };
}

export type Services = ReturnType<typeof createServices>;
export type TenantServices = ReturnType<Services['forViewer']>;
