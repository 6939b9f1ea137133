// Data rights of a tenant's ADMIN: a member's data as one JSON document, erasing a member with
// their history, and erasing the whole tenant.
import type { GenerationRunner } from '../chat/generation.ts';
import type { PrismaClient } from '../db/index.ts';
import type { TenantDb } from '../db/tenant-scope.ts';
import { AppError, ErrorCode, notFound } from '../errors.ts';
import { removeTenantIngestions } from '../ingest/queue.ts';
import type { PubSub } from '../pubsub.ts';
import { assertAnotherActiveAdmin, lockTenant } from './members.ts';
import { isUuid } from './validation.ts';
import type { Viewer } from './viewer.ts';

/** Names the layout of `MemberExport.data`; a changed layout gets a new name. */
export const MEMBER_EXPORT_FORMAT = 'ragchat.member-export.v1';

export interface MemberExport {
  fileName: string;
  generatedAt: Date;
  format: string;
  /** Plain JSON: ids are database UUIDs, instants ISO-8601 strings. */
  data: Record<string, unknown>;
}

export interface DataRightsDeps {
  db: TenantDb;
  /** Cross-tenant: tenant deletion (job queue, log-in throttles) and throttle cleanup only. */
  service: PrismaClient;
  viewer: Viewer;
  pubsub: PubSub;
  generations: GenerationRunner;
  /** Drops cached callers of the tenant on every instance (auth.forgetCallers). */
  callersChanged: () => void;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;
/** The key of a (tenant slug, e-mail) log-in throttle row, as auth.ts writes it. */
const throttleKey = (slug: string, email: string) => `${slug}\n${email}`;

export function createDataRightsService({ db, service, viewer, pubsub, generations, callersChanged }: DataRightsDeps) {
  /** Ends the member's (or, with null, everyone's) access at once, on every instance. */
  function revoke(userId: string | null) {
    callersChanged();
    pubsub.publish('accessRevoked', viewer.tenantId, { userId });
  }

  return {
    /** The member's profile, chat sessions, messages with citations, and the documents they uploaded. */
    async exportMember(userId: string): Promise<MemberExport> {
      if (!isUuid(userId)) throw notFound('Member');
      // One snapshot: a chat going on meanwhile cannot leave a message without its citations.
      const { tenant, member, sessions, documents } = await db.$transaction(
        async (tx) => {
          const member = await tx.user.findUnique({ where: { id: userId } });
          if (!member) throw notFound('Member');
          const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } });
          const sessions = await tx.chatSession.findMany({
            where: { userId },
            orderBy: { createdAt: 'asc' },
            include: {
              messages: {
                orderBy: { createdAt: 'asc' },
                include: { citations: { orderBy: { rank: 'asc' }, include: { document: { select: { title: true } } } } },
              },
            },
          });
          const documents = await tx.document.findMany({ where: { uploadedById: userId }, orderBy: { createdAt: 'asc' } });
          return { tenant, member, sessions, documents };
        },
        { isolationLevel: 'RepeatableRead' },
      );
      const generatedAt = new Date();
      const data = {
        format: MEMBER_EXPORT_FORMAT,
        generatedAt: generatedAt.toISOString(),
        tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name },
        member: {
          id: member.id,
          email: member.email,
          name: member.name,
          role: member.role,
          status: member.status,
          createdAt: iso(member.createdAt),
          updatedAt: iso(member.updatedAt),
          lastActiveAt: iso(member.lastActiveAt),
        },
        chatSessions: sessions.map((session) => ({
          id: session.id,
          title: session.title,
          createdAt: iso(session.createdAt),
          updatedAt: iso(session.updatedAt),
          messages: session.messages.map((message) => ({
            id: message.id,
            role: message.role,
            status: message.status,
            content: message.content,
            model: message.model,
            inputTokens: message.inputTokens,
            outputTokens: message.outputTokens,
            errorCode: message.errorCode,
            createdAt: iso(message.createdAt),
            completedAt: iso(message.completedAt),
            citations: message.citations.map((citation) => ({
              rank: citation.rank,
              score: citation.score,
              documentId: citation.documentId,
              documentTitle: citation.document?.title ?? null,
              pageNumber: citation.pageNumber,
              snippet: citation.snippet,
            })),
          })),
        })),
        documentsUploaded: documents.map((document) => ({
          id: document.id,
          title: document.title,
          contentType: document.contentType,
          byteSize: document.byteSize,
          status: document.status,
          createdAt: iso(document.createdAt),
        })),
      };
      const day = generatedAt.toISOString().slice(0, 10);
      return { fileName: `${tenant.slug}-member-${member.id}-${day}.json`, generatedAt, format: MEMBER_EXPORT_FORMAT, data };
    },

    /**
     * Deletes the member with their chat sessions, messages and citations (and the invitations
     * they sent); the documents they uploaded stay, with no uploader. Their tokens and open
     * subscriptions stop at once. Returns the id.
     */
    async deleteMember(userId: string): Promise<string> {
      if (!isUuid(userId)) throw notFound('Member');
      const { member, slug, streaming } = await db.$transaction(async (tx) => {
        // Under the tenant lock, two ADMINs deleting each other cannot both succeed.
        await lockTenant(tx, viewer.tenantId);
        const member = await tx.user.findUnique({ where: { id: userId } });
        if (!member) throw notFound('Member');
        await assertAnotherActiveAdmin(tx, member);
        const streaming = await tx.chatMessage.findMany({ where: { status: 'STREAMING', session: { userId } }, select: { id: true } });
        const { slug } = await tx.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId }, select: { slug: true } });
        // Foreign keys do the rest: sessions → messages → citations and sent invitations are
        // deleted, documents.uploaded_by_id becomes NULL.
        await tx.user.delete({ where: { id: userId } });
        return { member, slug, streaming };
      });
      for (const { id } of streaming) generations.requestStop(id);
      revoke(member.id);
      pubsub.publish('memberEvents', viewer.tenantId, { kind: 'DELETED', userId: member.id, invitationId: null, at: new Date().toISOString() });
      // Failed log-ins typed with the address: not a tenant row (so not in the transaction), but
      // it names the person. A crash before this line leaves only a counter that expires in use.
      await service.loginThrottle.deleteMany({ where: { key: throttleKey(slug, member.email) } });
      return member.id;
    },

    /**
     * Deletes the caller's tenant — every row of it, document bytes included — with its pending
     * ingestion jobs and its log-in throttles, in one transaction. `confirmSlug` must repeat the
     * tenant's slug. Every token and subscription of the tenant stops at once.
     */
    async deleteTenant(confirmSlug: string): Promise<string> {
      const tenant = await db.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } });
      if (confirmSlug.trim().toLowerCase() !== tenant.slug) {
        throw new AppError(ErrorCode.BAD_USER_INPUT, 'confirmSlug must be the tenant’s slug', {
          field: 'confirmSlug',
          reason: 'SLUG_MISMATCH',
        });
      }
      // The job queue and the throttles are shared by all tenants, which the tenant role cannot
      // touch: this one transaction runs as the connecting role, keyed on the caller's tenant.
      const streaming = await service.$transaction(
        async (tx) => {
          // Waits for uploads and member changes in flight; later ones find no tenant.
          await tx.$executeRaw`SELECT 1 FROM tenants WHERE id = ${tenant.id}::uuid FOR UPDATE`;
          const streaming = await tx.chatMessage.findMany({ where: { tenantId: tenant.id, status: 'STREAMING' }, select: { id: true } });
          await removeTenantIngestions(tx, tenant.id);
          const prefix = `${tenant.slug}\n`;
          await tx.$executeRaw`DELETE FROM login_throttles WHERE left(key, ${prefix.length}::int) = ${prefix}`;
          // ON DELETE CASCADE reaches every tenant table (document_files through documents).
          await tx.tenant.delete({ where: { id: tenant.id } });
          return streaming;
        },
        { timeout: 60_000 },
      );
      for (const { id } of streaming) generations.requestStop(id);
      revoke(null);
      return tenant.id;
    },
  };
}

export type DataRightsService = ReturnType<typeof createDataRightsService>;
