// Membership inside the caller's tenant: the member directory, invitations, roles and
// deactivation. Every query goes through the tenant-scoped client.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { TenantDb, TenantTx } from '../db/tenant-scope.ts';
import type { Invitation, Role, User, UserStatus } from '../db/generated/client.ts';
import { AppError, ErrorCode, notFound } from '../errors.ts';
import type { MemberEventKind, PubSub } from '../pubsub.ts';
import { recordAudit } from './audit.ts';
import { hashInvitationToken } from './auth.ts';
import { keysetQuery, type PageWindow } from './pagination.ts';
import { emailSchema, isUuid, parseInput, personNameSchema } from './validation.ts';
import type { Viewer } from './viewer.ts';

export interface MemberFilter {
  role?: Role | null;
  status?: UserStatus | null;
  /** Case-insensitive match on name or e-mail. */
  search?: string | null;
}

const InviteInput = z.object({ email: emailSchema, role: z.enum(['ADMIN', 'EDITOR', 'MEMBER']) });
const ProfileInput = z.object({ name: personNameSchema });

export interface MembersOptions {
  invitationTtlHours: number;
}

/**
 * Serializes changes to a tenant's admins (uploads take the same lock, see documents.ts). NO KEY
 * UPDATE: it does not wait on inserts that reference the tenant.
 */
export async function lockTenant(tx: TenantTx, tenantId: string): Promise<void> {
  await tx.$executeRaw`SELECT 1 FROM tenants WHERE id = ${tenantId}::uuid FOR NO KEY UPDATE`;
}

/** Refuses a change that takes away the last active ADMIN; call it with the tenant locked. */
export async function assertAnotherActiveAdmin(tx: TenantTx, member: User): Promise<void> {
  if (member.role !== 'ADMIN' || member.status !== 'ACTIVE') return;
  const admins = await tx.user.count({ where: { role: 'ADMIN', status: 'ACTIVE' } });
  if (admins <= 1) {
    throw new AppError(ErrorCode.FAILED_PRECONDITION, 'A tenant must keep at least one active ADMIN', { reason: 'LAST_ADMIN' });
  }
}

export function createMembersService(db: TenantDb, viewer: Viewer, pubsub: PubSub, options: MembersOptions, self?: User, changed: () => void = () => {}) {
  function publish(kind: MemberEventKind, ids: { userId?: string; invitationId?: string }) {
    changed();
    pubsub.publish('memberEvents', viewer.tenantId, {
      kind,
      userId: ids.userId ?? null,
      invitationId: ids.invitationId ?? null,
      at: new Date().toISOString(),
    });
  }

  async function findMember(userId: string): Promise<User> {
    const user = isUuid(userId) ? await db.user.findUnique({ where: { id: userId } }) : null;
    if (!user) throw notFound('Member');
    return user;
  }

  /**
   * Changes a member while keeping at least one active ADMIN. The tenant row is locked
   * first, so two admins demoting each other at the same moment cannot both succeed.
   * The change is audited in the same transaction.
   */
  async function changeKeepingAnAdmin(userId: string, data: { role?: Role; status?: UserStatus }): Promise<User> {
    return db.$transaction(async (tx) => {
      await lockTenant(tx, viewer.tenantId);
      const member = isUuid(userId) ? await tx.user.findUnique({ where: { id: userId } }) : null;
      if (!member) throw notFound('Member');
      if ((data.role && data.role !== 'ADMIN') || data.status === 'DEACTIVATED') await assertAnotherActiveAdmin(tx, member);
      const updated = await tx.user.update({ where: { id: userId }, data });
      const noChange = data.role ? member.role === data.role : member.status === data.status;
      if (!noChange) await recordAudit(tx, {
        tenantId: viewer.tenantId,
        actorId: viewer.userId,
        action: data.role ? 'ROLE_CHANGED' : 'MEMBER_DEACTIVATED',
        target: { type: 'User', id: userId },
        metadata: data.role ? { from: member.role, to: data.role } : { email: member.email },
      });
      return updated;
    });
  }

  return {
    me: () => (self ? Promise.resolve(self) : findMember(viewer.userId)),

    /** For dataloaders: the members among `ids` (other tenants' ids simply do not come back). */
    byIds: (ids: readonly string[]) => db.user.findMany({ where: { id: { in: ids.filter(isUuid) } } }),

    list(filter: MemberFilter, window: PageWindow): Promise<User[]> {
      const page = keysetQuery(window);
      const search = filter.search?.trim();
      return db.user.findMany({
        ...page,
        where: {
          AND: [
            page.where,
            filter.role ? { role: filter.role } : {},
            filter.status ? { status: filter.status } : {},
            search
              ? {
                  OR: [
                    { name: { contains: search, mode: 'insensitive' as const } },
                    { email: { contains: search, mode: 'insensitive' as const } },
                  ],
                }
              : {},
          ],
        },
      });
    },

    async updateProfile(input: z.input<typeof ProfileInput>): Promise<User> {
      const { name } = parseInput(ProfileInput, input);
      const user = await db.user.update({ where: { id: viewer.userId }, data: { name } });
      changed();
      return user;
    },

    /** Returns the invitation and its one-time token (only its hash is stored). */
    async invite(input: z.input<typeof InviteInput>): Promise<{ invitation: Invitation; token: string }> {
      const { email, role } = parseInput(InviteInput, input);
      if (await db.user.findFirst({ where: { email }, select: { id: true } })) {
        throw new AppError(ErrorCode.CONFLICT, 'This e-mail already belongs to a member of the tenant', {
          field: 'email',
        });
      }
      const token = randomBytes(32).toString('base64url');
      const invitation = await db.$transaction(async (tx) => {
        // A new invitation replaces any pending one for the same address.
        const replaced = await tx.invitation.updateManyAndReturn({
          where: { email, acceptedAt: null, revokedAt: null },
          data: { revokedAt: new Date() },
        });
        for (const old of replaced) {
          await recordAudit(tx, {
            tenantId: viewer.tenantId,
            actorId: viewer.userId,
            action: 'INVITATION_REVOKED',
            target: { type: 'Invitation', id: old.id },
            metadata: { email, role: old.role, reason: 'REPLACED' },
          });
        }
        const created = await tx.invitation.create({
          data: {
            tenantId: viewer.tenantId,
            email,
            role,
            tokenHash: hashInvitationToken(token),
            invitedById: viewer.userId,
            expiresAt: new Date(Date.now() + options.invitationTtlHours * 3600_000),
          },
        });
        await recordAudit(tx, {
          tenantId: viewer.tenantId,
          actorId: viewer.userId,
          action: 'INVITATION_CREATED',
          target: { type: 'Invitation', id: created.id },
          metadata: { email, role },
        });
        return created;
      });
      publish('INVITED', { invitationId: invitation.id });
      return { invitation, token };
    },

    listInvitations(pendingOnly: boolean, window: PageWindow): Promise<Invitation[]> {
      const page = keysetQuery(window);
      return db.invitation.findMany({
        ...page,
        where: {
          AND: [page.where, pendingOnly ? { acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } } : {}],
        },
      });
    },

    invitationsByIds: (ids: readonly string[]) =>
      db.invitation.findMany({ where: { id: { in: ids.filter(isUuid) } } }),

    async revokeInvitation(invitationId: string): Promise<Invitation> {
      const invitation = isUuid(invitationId)
        ? await db.invitation.findUnique({ where: { id: invitationId } })
        : null;
      if (!invitation) throw notFound('Invitation');
      if (invitation.acceptedAt) {
        throw new AppError(ErrorCode.FAILED_PRECONDITION, 'This invitation was already accepted');
      }
      if (invitation.revokedAt) return invitation;
      return db.$transaction(async (tx) => {
        const revoked = await tx.invitation.update({ where: { id: invitationId }, data: { revokedAt: new Date() } });
        await recordAudit(tx, {
          tenantId: viewer.tenantId,
          actorId: viewer.userId,
          action: 'INVITATION_REVOKED',
          target: { type: 'Invitation', id: invitationId },
          metadata: { email: invitation.email, role: invitation.role },
        });
        return revoked;
      });
    },

    async changeRole(userId: string, role: Role): Promise<User> {
      const user = await changeKeepingAnAdmin(userId, { role });
      publish('ROLE_CHANGED', { userId });
      return user;
    },

    async deactivate(userId: string): Promise<User> {
      if (userId === viewer.userId) {
        throw new AppError(ErrorCode.FAILED_PRECONDITION, 'You cannot deactivate your own account');
      }
      const user = await changeKeepingAnAdmin(userId, { status: 'DEACTIVATED' });
      publish('DEACTIVATED', { userId });
      pubsub.publish('accessRevoked', viewer.tenantId, { userId });
      return user;
    },

    async reactivate(userId: string): Promise<User> {
      const member = await findMember(userId);
      const user = await db.$transaction(async (tx) => {
        const reactivated = await tx.user.update({ where: { id: userId }, data: { status: 'ACTIVE' } });
        await recordAudit(tx, {
          tenantId: viewer.tenantId,
          actorId: viewer.userId,
          action: 'MEMBER_REACTIVATED',
          target: { type: 'User', id: userId },
          metadata: { email: member.email },
        });
        return reactivated;
      });
      publish('REACTIVATED', { userId });
      return user;
    },
  };
}

export type MembersService = ReturnType<typeof createMembersService>;
