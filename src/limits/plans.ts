// Plans: what a tenant may use. Each plan sets requests per minute per member (enforced per
// request, see rate-limiter.ts), questions per day (the tenant's, checked when a question is
// saved), and the number and total size of its documents (checked on upload). `null` means
// unlimited. A tenant's plan is set by an operator (scripts/set-plan.ts), never by the tenant.
import { z } from 'zod';
import type { Plan } from '../db/generated/enums.ts';

export type { Plan };
export const PLANS = ['FREE', 'PRO', 'ENTERPRISE'] as const satisfies readonly Plan[];

export interface PlanLimits {
  requestsPerMinute: number | null;
  questionsPerDay: number | null;
  maxDocuments: number | null;
  maxBytes: number | null;
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/**
 * The built-in plans. PRO keeps the single limits every tenant had before plans existed
 * (1,000 documents, 1 GiB), and existing tenants were moved to it by the migration.
 * Requests per minute are per member: a browser client makes a handful per user action, so
 * FREE's 120 leaves room for normal use and stops scripts hammering the API.
 */
export const DEFAULT_PLAN_LIMITS: Readonly<Record<Plan, PlanLimits>> = {
  FREE: { requestsPerMinute: 120, questionsPerDay: 50, maxDocuments: 50, maxBytes: 100 * MiB },
  PRO: { requestsPerMinute: 600, questionsPerDay: 2_000, maxDocuments: 1_000, maxBytes: GiB },
  ENTERPRISE: { requestsPerMinute: 6_000, questionsPerDay: null, maxDocuments: 100_000, maxBytes: 100 * GiB },
};

const limit = z.number().int().positive().nullable().optional();
/** PLAN_LIMITS: JSON like {"FREE":{"questionsPerDay":20},"PRO":{"requestsPerMinute":null}}. */
export const PlanLimitsOverride = z
  .object(
    Object.fromEntries(
      PLANS.map((plan) => [
        plan,
        z.object({ requestsPerMinute: limit, questionsPerDay: limit, maxDocuments: limit, maxBytes: limit }).strict().optional(),
      ]),
    ) as Record<Plan, z.ZodOptional<z.ZodObject<Record<keyof PlanLimits, typeof limit>>>>,
  )
  .strict();
export type PlanLimitsOverride = z.infer<typeof PlanLimitsOverride>;

/**
 * The effective limits of every plan: PLAN_LIMITS (per plan and limit) over the deployment-wide
 * TENANT_MAX_DOCUMENTS / TENANT_MAX_BYTES (which keep their old meaning: one value for every
 * tenant, whatever its plan) over the built-in values.
 */
export function resolvePlanLimits(
  overrides: PlanLimitsOverride,
  legacy: { maxDocuments?: number | undefined; maxBytes?: number | undefined },
): Record<Plan, PlanLimits> {
  const resolved = {} as Record<Plan, PlanLimits>;
  for (const plan of PLANS) {
    const base = { ...DEFAULT_PLAN_LIMITS[plan] };
    if (legacy.maxDocuments !== undefined) base.maxDocuments = legacy.maxDocuments;
    if (legacy.maxBytes !== undefined) base.maxBytes = legacy.maxBytes;
    const given = overrides[plan] ?? {};
    for (const key of Object.keys(given) as (keyof PlanLimits)[]) {
      if (given[key] !== undefined) base[key] = given[key];
    }
    resolved[plan] = base;
  }
  return resolved;
}

/** The next UTC midnight: when daily quotas start again. */
export function nextUtcMidnight(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}
