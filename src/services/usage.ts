// Usage: daily counters per member (questions, model tokens, documents and bytes ingested),
// incremented inside the transaction of the event they count, and the ADMIN's report over a
// date range. Also the daily question quota, which is checked against the same counters.
import type { TaggedSql } from '../db/tagged-sql.ts';
import type { TenantDb } from '../db/tenant-scope.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { nextUtcMidnight, type Plan, type PlanLimits } from '../limits/plans.ts';

/** A Prisma transaction, or a pg connection in one (src/db/tagged-sql.ts). */
type Tx = TaggedSql;

export interface UsageCounts {
  questions: number;
  inputTokens: number;
  outputTokens: number;
  documents: number;
  bytes: number;
}

const ZERO: UsageCounts = { questions: 0, inputTokens: 0, outputTokens: 0, documents: 0, bytes: 0 };

/** Adds to the member's counters of today (UTC), creating the row on the day's first event. */
export async function addUsage(tx: Tx, tenantId: string, userId: string, delta: Partial<UsageCounts>): Promise<void> {
  const d = { ...ZERO, ...delta };
  await tx.$executeRaw`
    INSERT INTO usage_daily (tenant_id, day, user_id, questions, input_tokens, output_tokens, documents, bytes)
    VALUES (${tenantId}::uuid, (now() AT TIME ZONE 'UTC')::date, ${userId}::uuid, ${d.questions}::int,
            ${d.inputTokens}::bigint, ${d.outputTokens}::bigint, ${d.documents}::int, ${d.bytes}::bigint)
    ON CONFLICT (tenant_id, day, user_id) DO UPDATE SET
      questions = usage_daily.questions + EXCLUDED.questions,
      input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
      output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens,
      documents = usage_daily.documents + EXCLUDED.documents,
      bytes = usage_daily.bytes + EXCLUDED.bytes`;
}

/** Arbitrary class id of the per-tenant question-quota advisory locks. */
const QUESTION_LOCK_CLASS = 7_270_001;

async function questionsToday(tx: Tx, tenantId: string): Promise<number> {
  const [row] = await tx.$queryRaw<{ n: number }[]>`
    SELECT coalesce(sum(questions), 0)::int AS n FROM usage_daily
     WHERE tenant_id = ${tenantId}::uuid AND day = (now() AT TIME ZONE 'UTC')::date`;
  return row?.n ?? 0;
}

/**
 * Counts one question of the member, or refuses it with QUOTA_EXCEEDED when the tenant has
 * asked its plan's questions of the day. Exact under concurrency: a transaction-level advisory
 * lock per tenant serialises the check-and-count of its questions (only those), until commit.
 */
export async function countQuestion(tx: Tx, tenantId: string, userId: string, limit: number | null): Promise<void> {
  if (limit !== null) {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${QUESTION_LOCK_CLASS}::int, hashtext(${tenantId}))`;
    const used = await questionsToday(tx, tenantId);
    if (used >= limit) {
      const resetAt = nextUtcMidnight();
      throw new AppError(ErrorCode.QUOTA_EXCEEDED, `The tenant has asked its ${limit} questions of today; the quota resets at midnight UTC`, {
        limit: 'questionsPerDay',
        max: limit,
        used,
        resetAt: resetAt.toISOString(),
        retryAfterSeconds: Math.ceil((resetAt.getTime() - Date.now()) / 1000),
      });
    }
  }
  await addUsage(tx, tenantId, userId, { questions: 1 });
}

export interface MemberUsage {
  userId: string;
  counts: UsageCounts;
}

export interface UsageDay {
  day: string;
  totals: UsageCounts;
  members: MemberUsage[];
}

export interface UsageReport {
  from: string;
  to: string;
  days: UsageDay[];
  /** Over the whole range, busiest (by questions) first. */
  members: MemberUsage[];
  totals: UsageCounts;
}

export interface QuotaStatus {
  plan: Plan;
  limits: PlanLimits;
  questionsToday: number;
  questionsResetAt: Date;
  documents: number;
  bytes: number;
}

/** Longest range one report covers (a year and a day). */
const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

const add = (into: UsageCounts, more: UsageCounts) => {
  into.questions += more.questions;
  into.inputTokens += more.inputTokens;
  into.outputTokens += more.outputTokens;
  into.documents += more.documents;
  into.bytes += more.bytes;
};

export function createUsageService(db: TenantDb, planLimits: Record<Plan, PlanLimits>) {
  return {
    /** Days `from`..`to` (inclusive, UTC, YYYY-MM-DD), per day and per member, with totals. */
    async report(from: string, to: string): Promise<UsageReport> {
      const start = new Date(`${from}T00:00:00Z`);
      const end = new Date(`${to}T00:00:00Z`);
      if (end < start) throw new AppError(ErrorCode.BAD_USER_INPUT, '`to` must not be before `from`', { field: 'to' });
      if ((end.getTime() - start.getTime()) / DAY_MS + 1 > MAX_RANGE_DAYS) {
        throw new AppError(ErrorCode.BAD_USER_INPUT, `A report covers at most ${MAX_RANGE_DAYS} days`, { field: 'to' });
      }
      // Rows exist only for (day, member) pairs with activity, so this stays small.
      const rows = await db.usageDaily.findMany({
        where: { day: { gte: start, lte: end } },
        orderBy: [{ day: 'asc' }, { userId: 'asc' }],
      });
      const days = new Map<string, UsageDay>();
      const members = new Map<string, MemberUsage>();
      const totals = { ...ZERO };
      for (const row of rows) {
        const counts: UsageCounts = {
          questions: row.questions,
          inputTokens: Number(row.inputTokens),
          outputTokens: Number(row.outputTokens),
          documents: row.documents,
          bytes: Number(row.bytes),
        };
        const day = row.day.toISOString().slice(0, 10);
        let entry = days.get(day);
        if (!entry) days.set(day, (entry = { day, totals: { ...ZERO }, members: [] }));
        entry.members.push({ userId: row.userId, counts });
        add(entry.totals, counts);
        let member = members.get(row.userId);
        if (!member) members.set(row.userId, (member = { userId: row.userId, counts: { ...ZERO } }));
        add(member.counts, counts);
        add(totals, counts);
      }
      return {
        from,
        to,
        days: [...days.values()],
        members: [...members.values()].sort((a, b) => b.counts.questions - a.counts.questions || (a.userId < b.userId ? -1 : 1)),
        totals,
      };
    },

    /** The plan, its limits and what the tenant uses of them now. */
    async quota(plan: Plan): Promise<QuotaStatus> {
      const [today, stored] = await Promise.all([
        db.usageDaily.aggregate({
          _sum: { questions: true },
          where: { day: new Date(new Date().toISOString().slice(0, 10)) },
        }),
        db.document.aggregate({ _count: { _all: true }, _sum: { byteSize: true } }),
      ]);
      return {
        plan,
        limits: planLimits[plan],
        questionsToday: today._sum.questions ?? 0,
        questionsResetAt: nextUtcMidnight(),
        documents: stored._count._all,
        bytes: Number(stored._sum.byteSize ?? 0),
      };
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
