// Wires the domain services together. `auth` serves anonymous callers; `forViewer`
// builds the tenant-scoped services for one authenticated caller.
import type { GenerationRunner } from '../chat/generation.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import { forTenant } from '../db/tenant-scope.ts';
import type { Embedder } from '../providers/embedder.ts';
import type { PubSub } from '../pubsub.ts';
import type { RetrievalParams } from '../retrieval/search.ts';
import type { DocumentStorage } from '../storage/index.ts';
import { createAuthService } from './auth.ts';
import { createChatService } from './chat.ts';
import { createSearchService } from './search.ts';
import { createDocumentsService } from './documents.ts';
import { createMembersService } from './members.ts';
import { createTenantService } from './tenants.ts';
import type { TokenSigner } from './tokens.ts';
import type { Viewer } from './viewer.ts';

export interface ServiceDeps {
  db: Database;
  pubsub: PubSub;
  tokens: TokenSigner;
  storage: DocumentStorage;
  generations: GenerationRunner;
  embedder: Embedder;
  retrieval: RetrievalParams;
  config: Pick<
    Config,
    | 'loginMaxFailures'
    | 'invitationTtlHours'
    | 'maxUploadBytes'
    | 'tenantMaxDocuments'
    | 'tenantMaxBytes'
    | 'jobMaxAttempts'
    | 'ftsConfig'
  >;
}

export function createServices(deps: ServiceDeps) {
  const { db, pubsub, tokens, storage, generations, config } = deps;
  return {
    auth: createAuthService(db.prisma, tokens, pubsub, config),
    forViewer(viewer: Viewer) {
      const scoped = forTenant(db.prisma, viewer.tenantId);
      return {
        members: createMembersService(scoped, viewer, pubsub, config),
        tenant: createTenantService(scoped, viewer),
        documents: createDocumentsService(scoped, viewer, pubsub, storage, config),
        chat: createChatService(scoped, viewer, pubsub, generations),
        search: createSearchService(db.pool, deps.embedder, viewer, config.ftsConfig, deps.retrieval),
      };
    },
  };
}

export type Services = ReturnType<typeof createServices>;
export type TenantServices = ReturnType<Services['forViewer']>;
