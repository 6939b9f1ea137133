// Wires the domain services together. `auth` serves anonymous callers; `forViewer`
// builds the tenant-scoped services for one authenticated caller.
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import { forTenant } from '../db/tenant-scope.ts';
import type { PubSub } from '../pubsub.ts';
import type { DocumentStorage } from '../storage/index.ts';
import { createAuthService } from './auth.ts';
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
  config: Pick<
    Config,
    'loginMaxFailures' | 'invitationTtlHours' | 'maxUploadBytes' | 'tenantMaxDocuments' | 'tenantMaxBytes' | 'jobMaxAttempts'
  >;
}

export function createServices({ db, pubsub, tokens, storage, config }: ServiceDeps) {
  return {
    auth: createAuthService(db.prisma, tokens, pubsub, config),
    forViewer(viewer: Viewer) {
      const scoped = forTenant(db.prisma, viewer.tenantId);
      return {
        members: createMembersService(scoped, viewer, pubsub, config),
        tenant: createTenantService(scoped, viewer),
        documents: createDocumentsService(scoped, viewer, pubsub, storage, config),
      };
    },
  };
}

export type Services = ReturnType<typeof createServices>;
export type TenantServices = ReturnType<Services['forViewer']>;
