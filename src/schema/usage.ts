// Plans, quotas and usage (ADMIN): the tenant's plan with its limits and what it uses of them
// now, and usage counters over a date range, per day and per member, with totals.
import { Plan as PlanValues } from '../db/generated/enums.ts';
import type { PlanLimits as PlanLimitsValue } from '../limits/plans.ts';
import type { MemberUsage as MemberUsageValue, QuotaStatus, UsageCounts as UsageCountsValue, UsageDay as UsageDayValue, UsageReport as UsageReportValue } from '../services/usage.ts';
import { builder } from './builder.ts';
import { User } from './members.ts';
import { Tenant } from './tenant.ts';

export const Plan = builder.enumType('Plan', {
  description: 'What a tenant may use. Set by the operator (npm run tenant:plan), not by the tenant.',
  values: Object.values(PlanValues),
});

const PlanLimits = builder.objectRef<PlanLimitsValue>('PlanLimits').implement({
  description: 'Limits of a plan; null means unlimited.',
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute', { nullable: true, description: 'GraphQL operations per member per minute.' }),
    questionsPerDay: t.exposeInt('questionsPerDay', { nullable: true, description: 'Questions of the whole tenant per UTC day.' }),
    maxDocuments: t.exposeInt('maxDocuments', { nullable: true }),
    maxBytes: t.exposeFloat('maxBytes', { nullable: true, description: 'Total size of the documents, in bytes.' }),
  }),
});

const TenantQuota = builder.objectRef<QuotaStatus>('TenantQuota').implement({
  description: 'The plan, its limits, and what the tenant uses of them now.',
  fields: (t) => ({
    plan: t.expose('plan', { type: Plan }),
    limits: t.field({ type: PlanLimits, resolve: (quota) => quota.limits }),
    questionsToday: t.exposeInt('questionsToday'),
    questionsResetAt: t.expose('questionsResetAt', { type: 'DateTime', description: 'The next midnight UTC.' }),
    documents: t.exposeInt('documents'),
    bytes: t.exposeFloat('bytes'),
  }),
});

const UsageCounts = builder.objectRef<UsageCountsValue>('UsageCounts').implement({
  description: 'Counters of a period. Token and byte counts are whole numbers sent as Float (they can exceed 32 bits).',
  fields: (t) => ({
    questions: t.exposeInt('questions'),
    inputTokens: t.exposeFloat('inputTokens', { description: 'Prompt tokens of the chat model.' }),
    outputTokens: t.exposeFloat('outputTokens', { description: 'Answer tokens of the chat model.' }),
    documents: t.exposeInt('documents', { description: 'Documents uploaded (duplicates not counted).' }),
    bytes: t.exposeFloat('bytes', { description: 'Bytes of the documents uploaded.' }),
  }),
});

const MemberUsage = builder.objectRef<MemberUsageValue>('MemberUsage').implement({
  fields: (t) => ({
    memberId: t.id({
      description: 'The member’s global ID (kept when the member no longer exists).',
      resolve: (usage) => Buffer.from(`User:${usage.userId}`).toString('base64'),
    }),
    member: t.field({ type: User, nullable: true, description: 'Null when the member was deleted.', resolve: (usage) => usage.userId }),
    counts: t.field({ type: UsageCounts, resolve: (usage) => usage.counts }),
  }),
});

const UsageDay = builder.objectRef<UsageDayValue>('UsageDay').implement({
  fields: (t) => ({
    day: t.expose('day', { type: 'Date' }),
    totals: t.field({ type: UsageCounts, resolve: (day) => day.totals }),
    members: t.field({ type: [MemberUsage], description: 'Members active that day.', resolve: (day) => day.members }),
  }),
});

const UsageReport = builder.objectRef<UsageReportValue>('UsageReport').implement({
  fields: (t) => ({
    from: t.expose('from', { type: 'Date' }),
    to: t.expose('to', { type: 'Date' }),
    days: t.field({ type: [UsageDay], description: 'Days with any usage, oldest first.', resolve: (report) => report.days }),
    members: t.field({
      type: [MemberUsage],
      description: 'Per member over the range, most questions first.',
      resolve: (report) => report.members,
    }),
    totals: t.field({ type: UsageCounts, resolve: (report) => report.totals }),
    quota: t.field({
      type: TenantQuota,
      resolve: async (_report, _args, { tenant }) => tenant!.usage.quota((await tenant!.tenant.current()).plan),
    }),
  }),
});

builder.objectField(Tenant, 'quota', (t) =>
  t.withAuth({ admin: true }).field({
    type: TenantQuota,
    description: 'The plan, its limits and current consumption (ADMIN).',
    resolve: (tenant, _args, { tenant: services }) => services.usage.quota(tenant.plan),
  }),
);

builder.queryFields((t) => ({
  usage: t.withAuth({ admin: true }).field({
    type: UsageReport,
    description: 'Usage per UTC day and per member from `from` to `to` inclusive (at most 366 days), with totals (ADMIN).',
    args: { from: t.arg({ type: 'Date' }), to: t.arg({ type: 'Date' }) },
    resolve: (_root, { from, to }, { tenant }) => tenant.usage.report(from, to),
  }),
}));
