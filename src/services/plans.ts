// Changing a tenant's plan: an operator's action (scripts/set-plan.ts), never a tenant's —
// no GraphQL mutation reaches this. Audited as PLAN_CHANGED with no actor, and announced to
// every API instance so cached callers (which carry the plan) are read again at once.
import type { PrismaClient } from '../db/index.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { PLANS, type Plan } from '../limits/plans.ts';
import { CHANNEL } from '../pubsub.ts';
import { recordAudit } from './audit.ts';

export async function setTenantPlan(
  prisma: PrismaClient,
  slug: string,
  plan: Plan,
  note?: string,
): Promise<{ tenantId: string; from: Plan; to: Plan }> {
  if (!PLANS.includes(plan)) throw new AppError(ErrorCode.BAD_USER_INPUT, `plan must be one of ${PLANS.join(', ')}`, { field: 'plan' });
  return prisma.$transaction(async (tx) => {
    const [tenant] = await tx.$queryRaw<{ id: string; plan: Plan }[]>`
      SELECT id, plan FROM tenants WHERE slug = ${slug} FOR UPDATE`;
    if (!tenant) throw new AppError(ErrorCode.NOT_FOUND, `No tenant has the slug "${slug}"`);
    if (tenant.plan !== plan) {
      await tx.tenant.update({ where: { id: tenant.id }, data: { plan } });
      await recordAudit(tx, {
        tenantId: tenant.id,
        actorId: null,
        action: 'PLAN_CHANGED',
        target: { type: 'Tenant', id: tenant.id },
        metadata: { from: tenant.plan, to: plan, by: 'operator', ...(note ? { note: note.slice(0, 200) } : {}) },
      });
      // Through src/pubsub.ts's channel, delivered at commit: every instance drops cached callers.
      await tx.$executeRaw`SELECT pg_notify(${CHANNEL}, ${JSON.stringify({ topic: 'callersChanged', detail: { tenantId: tenant.id } })})`;
    }
    return { tenantId: tenant.id, from: tenant.plan, to: plan };
  });
}
