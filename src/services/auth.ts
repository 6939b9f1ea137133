// Sign-up, log-in, invitation redemption and token authentication: everything that
// happens before there is a tenant-scoped caller, so it uses the unscoped client and
// names the tenant explicitly in every query.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PrismaClient } from '../db/index.ts';
import { Prisma, type Tenant, type User } from '../db/generated/client.ts';
import { AppError, ErrorCode } from '../errors.ts';
import type { Plan } from '../limits/plans.ts';
import type { Logger } from '../logger.ts';
import type { PubSub } from '../pubsub.ts';
import { recordAudit } from './audit.ts';
import { decoyPasswordHash, hashPassword, verifyPassword } from './passwords.ts';
import type { TokenSigner } from './tokens.ts';
import {
  emailSchema,
  parseInput,
  passwordSchema,
  personNameSchema,
  tenantNameSchema,
  tenantSlugSchema,
} from './validation.ts';
import type { Viewer } from './viewer.ts';

export interface Session {
  token: string;
  expiresAt: Date;
  user: User;
  tenant: Tenant;
}

export interface AuthOptions {
  loginMaxFailures: number;
  /** Plan of tenants created by signUp. */
  defaultPlan: Plan;
  logger?: Logger;
}

/**
 * `last_active_at` is written at most this often per member: activity is shown at the scale of
 * minutes, and a write per request would cost more than the request itself (see touch()).
 */
export const ACTIVITY_RESOLUTION_MS = 5 * 60_000;

const SignUpInput = z.object({
  tenantName: tenantNameSchema,
  tenantSlug: tenantSlugSchema,
  name: personNameSchema,
  email: emailSchema,
  password: passwordSchema,
});
const LogInInput = z.object({
  tenantSlug: z.string().trim().toLowerCase().min(1).max(40),
  email: emailSchema,
  password: z.string().min(1).max(1024),
});
const AcceptInvitationInput = z.object({
  token: z.string().min(1).max(200),
  name: personNameSchema,
  password: passwordSchema,
});

const INVALID_CREDENTIALS = 'Invalid tenant, e-mail or password';
/** Lock length doubles with each failure past the limit, from 30 s up to 15 min. */
const lockSeconds = (failuresPastLimit: number) => Math.min(15 * 60, 30 * 2 ** failuresPastLimit);

export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function createAuthService(
  prisma: PrismaClient,
  tokens: TokenSigner,
  pubsub: PubSub,
  options: AuthOptions,
) {
  const callers = new Map<string, { user: User | null; tenant: Tenant | null; until: number }>();
  // Every process drops a tenant's cached callers when its members change (events come
  // through LISTEN/NOTIFY from whichever instance made the change).
  const changes = pubsub.subscribe('callersChanged');
  void (async () => {
    for await (const { tenantId } of changes) forget(tenantId);
  })();
  // Changes announced while the event connection was down were missed: read everyone again.
  const missed = pubsub.subscribe('eventsMissed');
  void (async () => {
    for await (const _ of missed) callers.clear();
  })();
  function forget(tenantId: string) {
    for (const key of callers.keys()) if (key.startsWith(`${tenantId}/`)) callers.delete(key);
  }

  async function issueSession(user: User, tenant: Tenant): Promise<Session> {
    const { token, expiresAt } = await tokens.sign({ userId: user.id, tenantId: tenant.id });
    return { token, expiresAt, user, tenant };
  }

  async function assertNotLocked(key: string): Promise<void> {
    const throttle = await prisma.loginThrottle.findUnique({ where: { key } });
    const lockedFor = throttle?.lockedUntil ? throttle.lockedUntil.getTime() - Date.now() : 0;
    if (lockedFor > 0) {
      const retryAfterSeconds = Math.ceil(lockedFor / 1000);
      throw new AppError(
        ErrorCode.RATE_LIMITED,
        `Too many failed log-ins; try again in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
  }

  /**
   * Counts a failed log-in and, when the tenant exists, audits it in the same transaction
   * (with the e-mail tried and the account if there is one; never the password).
   */
  async function recordFailure(key: string, audit: { tenantId: string; userId: string | null; email: string; reason: string } | null): Promise<void> {
    await prisma.$transaction(async (tx) => {
      // One atomic increment, so concurrent attempts from several processes all count.
      const [row] = await tx.$queryRaw<{ failures: number }[]>`
        INSERT INTO login_throttles (key, failures, updated_at) VALUES (${key}, 1, now())
        ON CONFLICT (key) DO UPDATE SET failures = login_throttles.failures + 1, updated_at = now()
        RETURNING failures`;
      const pastLimit = (row?.failures ?? 0) - options.loginMaxFailures;
      if (pastLimit >= 0) {
        await tx.loginThrottle.update({
          where: { key },
          data: { lockedUntil: new Date(Date.now() + lockSeconds(pastLimit) * 1000) },
        });
      }
      if (audit) {
        await recordAudit(tx, {
          tenantId: audit.tenantId,
          actorId: null,
          action: 'LOGIN_FAILED',
          ...(audit.userId ? { target: { type: 'User' as const, id: audit.userId } } : {}),
          metadata: { email: audit.email, reason: audit.reason, failures: row?.failures ?? 1 },
        });
      }
    });
  }

  // When this process last wrote (or read) each member's last_active_at.
  const activitySeen = new Map<string, number>();
  /**
   * Records that the member is active, at most once per ACTIVITY_RESOLUTION_MS: the request
   * path only compares two numbers; the write, when due, runs in the background (a lost one
   * only makes "last active" a few minutes older). Its condition skips the write when another
   * instance already did it, so each member's row changes at most once per period overall.
   */
  function touch(user: User): void {
    const now = Date.now();
    const seen = Math.max(activitySeen.get(user.id) ?? 0, user.lastActiveAt?.getTime() ?? 0);
    if (now - seen < ACTIVITY_RESOLUTION_MS) return;
    if (activitySeen.size >= 10_000) activitySeen.delete(activitySeen.keys().next().value!);
    activitySeen.set(user.id, now);
    const staleBefore = new Date(now - ACTIVITY_RESOLUTION_MS);
    prisma.$executeRaw`
      UPDATE users SET last_active_at = now()
       WHERE id = ${user.id}::uuid AND tenant_id = ${user.tenantId}::uuid
         AND (last_active_at IS NULL OR last_active_at < ${staleBefore})`.catch((error: unknown) =>
      options.logger?.warn({ err: error, userId: user.id }, 'recording member activity failed'),
    );
  }

  return {
    async signUp(input: z.input<typeof SignUpInput>): Promise<Session> {
      const data = parseInput(SignUpInput, input);
      const passwordHash = await hashPassword(data.password);
      try {
        const { user, tenant } = await prisma.$transaction(async (tx) => {
          const tenant = await tx.tenant.create({ data: { name: data.tenantName, slug: data.tenantSlug, plan: options.defaultPlan } });
          const user = await tx.user.create({
            data: { tenantId: tenant.id, email: data.email, name: data.name, role: 'ADMIN', passwordHash },
          });
          return { user, tenant };
        });
        return await issueSession(user, tenant);
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
          throw new AppError(ErrorCode.CONFLICT, 'This tenant slug is already taken', { field: 'tenantSlug' });
        }
        throw error;
      }
    },

    async logIn(input: z.input<typeof LogInInput>): Promise<Session> {
      const { tenantSlug, email, password } = parseInput(LogInInput, input);
      const key = `${tenantSlug}\n${email}`;
      await assertNotLocked(key);
      const tenant = await prisma.tenant.findUnique({ where: { slug: tenantSlug } });
      const user = tenant
        ? await prisma.user.findUnique({ where: { tenantId_email: { tenantId: tenant.id, email } } })
        : null;
      const valid = await verifyPassword(user?.passwordHash ?? (await decoyPasswordHash()), password);
      if (!tenant || !user || !valid) {
        // An unknown tenant has no audit log to write to; the throttle still counts.
        const audit = tenant ? { tenantId: tenant.id, userId: user?.id ?? null, email, reason: user ? 'WRONG_PASSWORD' : 'UNKNOWN_EMAIL' } : null;
        await recordFailure(key, audit);
        throw new AppError(ErrorCode.UNAUTHENTICATED, INVALID_CREDENTIALS);
      }
      if (user.status !== 'ACTIVE') {
        await prisma.$transaction(async (tx) => {
          await tx.loginThrottle.deleteMany({ where: { key } });
          await recordAudit(tx, {
            tenantId: tenant.id,
            actorId: null,
            action: 'LOGIN_FAILED',
            target: { type: 'User', id: user.id },
            metadata: { email, reason: 'DEACTIVATED' },
          });
        });
        throw new AppError(ErrorCode.UNAUTHENTICATED, 'This account has been deactivated; ask a tenant admin');
      }
      const active = await prisma.$transaction(async (tx) => {
        await tx.loginThrottle.deleteMany({ where: { key } });
        const signedIn = await tx.user.update({ where: { id: user.id }, data: { lastActiveAt: new Date() } });
        await recordAudit(tx, {
          tenantId: tenant.id,
          actorId: user.id,
          action: 'LOGIN_SUCCEEDED',
          target: { type: 'User', id: user.id },
        });
        return signedIn;
      });
      activitySeen.set(user.id, Date.now());
      forget(tenant.id);
      pubsub.publish('callersChanged', { tenantId: tenant.id });
      return issueSession(active, tenant);
    },

    async acceptInvitation(input: z.input<typeof AcceptInvitationInput>): Promise<Session> {
      const data = parseInput(AcceptInvitationInput, input);
      const passwordHash = await hashPassword(data.password);
      const tokenHash = hashInvitationToken(data.token);
      const { user, tenant } = await prisma.$transaction(async (tx) => {
        // Claim the invitation atomically: a token works once, even under concurrent use.
        const claimed = await tx.invitation.updateManyAndReturn({
          where: { tokenHash, acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
          data: { acceptedAt: new Date() },
        });
        const invitation = claimed[0];
        if (!invitation) {
          throw new AppError(ErrorCode.NOT_FOUND, 'This invitation does not exist, was used, revoked or has expired');
        }
        const existing = await tx.user.findUnique({
          where: { tenantId_email: { tenantId: invitation.tenantId, email: invitation.email } },
        });
        if (existing) {
          throw new AppError(ErrorCode.CONFLICT, 'This e-mail already belongs to a member of the tenant', {
            field: 'email',
          });
        }
        const user = await tx.user.create({
          data: {
            tenantId: invitation.tenantId,
            email: invitation.email,
            name: data.name,
            role: invitation.role,
            passwordHash,
            lastActiveAt: new Date(),
          },
        });
        const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: invitation.tenantId } });
        await recordAudit(tx, {
          tenantId: tenant.id,
          actorId: user.id,
          action: 'INVITATION_ACCEPTED',
          target: { type: 'Invitation', id: invitation.id },
          metadata: { email: invitation.email, role: invitation.role },
        });
        return { user, tenant };
      });
      pubsub.publish('memberEvents', tenant.id, {
        kind: 'JOINED',
        userId: user.id,
        invitationId: null,
        at: new Date().toISOString(),
      });
      return issueSession(user, tenant);
    },

    /**
     * The caller behind a bearer token, or the reason there is none. Reads the user's
     * current row, so deactivation and role changes apply to the very next request.
     */
    async authenticate(token: string): Promise<{ viewer: Viewer; user: User; tenant: Tenant } | { problem: string }> {
      const claims = await tokens.verify(token);
      if (!claims) return { problem: 'The access token is invalid or has expired; log in again' };
      const key = `${claims.tenantId}/${claims.userId}`;
      let entry = callers.get(key);
      if (!entry || entry.until < Date.now()) {
        const [user, tenant] = await Promise.all([
          prisma.user.findFirst({ where: { id: claims.userId, tenantId: claims.tenantId } }),
          prisma.tenant.findUnique({ where: { id: claims.tenantId } }),
        ]);
        entry = { user, tenant, until: Date.now() + AUTH_CACHE_MS };
        if (callers.size >= 10_000) callers.delete(callers.keys().next().value!);
        callers.set(key, entry);
      }
      const { user, tenant } = entry;
      if (!user || !tenant) return { problem: 'The account of this access token no longer exists' };
      if (user.status !== 'ACTIVE') return { problem: 'This account has been deactivated; ask a tenant admin' };
      touch(user);
      return { viewer: { userId: user.id, tenantId: user.tenantId, role: user.role }, user, tenant };
    },

    /** Forget cached callers of a tenant (member or tenant changes), in this process. */
    forgetCallers(tenantId: string): void {
      forget(tenantId);
      pubsub.publish('callersChanged', { tenantId });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;

export const AUTH_CACHE_MS = 5_000;
