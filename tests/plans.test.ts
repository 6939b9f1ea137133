// Plans, quotas and usage, with limits hit on purpose: requests per minute (RATE_LIMITED with
// retryAfterSeconds), questions per day, documents and bytes (QUOTA_EXCEEDED), the usage
// report and the quota view, members' last activity, and the shared request counters of
// several instances. Real database, real GraphQL handler, real worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import {
  AddTextDocumentDocument,
  ChatSessionMessagesDocument,
  CreateChatSessionDocument,
  MeDocument,
  MembersActivityDocument,
  SendMessageDocument,
  TenantQuotaDocument,
  UsageDocument,
} from './__generated__/graphql.ts';
import { ACTIVITY_RESOLUTION_MS } from '../src/services/auth.ts';
import { createRateLimiter, postgresCounterStore } from '../src/limits/rate-limiter.ts';
import { setTenantPlan } from '../src/services/plans.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { addMember, rawId, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

const FREE_REQUESTS_PER_MINUTE = 6;
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(
    {
      // Tenants start on ENTERPRISE (high limits) and are moved to the plan a test needs.
      DEFAULT_PLAN: 'ENTERPRISE',
      PLAN_LIMITS: JSON.stringify({
        FREE: { requestsPerMinute: FREE_REQUESTS_PER_MINUTE },
        PRO: { requestsPerMinute: 100_000, questionsPerDay: 2, maxDocuments: 2, maxBytes: 3_000 },
      }),
      RATE_LIMIT_SYNC_MS: '100',
    },
    { embedder: hashEmbedder() },
  );
});
afterAll(() => app?.close());

async function movePlan(tenant: TestTenant, plan: 'FREE' | 'PRO' | 'ENTERPRISE') {
  await setTenantPlan(app.db.prisma, tenant.slug, plan, 'test');
  // The embedded database has no NOTIFY between processes: drop this process's cache directly.
  app.services.auth.forgetCallers(tenant.id);
}

const today = () => new Date().toISOString().slice(0, 10);

async function askAndWait(person: Person, question: string) {
  const { createChatSession } = await app.ok(CreateChatSessionDocument, {}, person.token);
  const sent = await app.run(SendMessageDocument, { sessionId: createChatSession.id, content: question }, person.token);
  if (sent.errors?.length) return sent;
  await eventually(async () => {
    const { chatSession } = await app.ok(ChatSessionMessagesDocument, { id: createChatSession.id, first: 10 }, person.token);
    return chatSession.messages.edges.some((e) => e.node.role === 'ASSISTANT' && e.node.status === 'COMPLETE');
  }, 'the answer');
  return sent;
}

describe('requests per minute', () => {
  it('refuses a MEMBER past the plan’s limit with RATE_LIMITED, HTTP 429 and retryAfterSeconds; others are not affected', async () => {
    const tenant = await signUpTenant(app);
    const member = await addMember(app, tenant, 'MEMBER');
    await movePlan(tenant, 'FREE');

    // Windows are fixed minutes: a burst straddling two would be counted in both. It takes well
    // under a second, so it starts at least five seconds before a minute ends.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_050 - intoMinute));
    const statuses: number[] = [];
    let refused: { errors?: { extensions?: Record<string, unknown> }[] } | undefined;
    let retryAfterHeader: string | null = null;
    for (let i = 0; i < FREE_REQUESTS_PER_MINUTE + 5 && !refused; i++) {
      const response = await app.yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${member.token}` },
        body: JSON.stringify({ query: print(MeDocument) }),
      });
      statuses.push(response.status);
      const body = (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
      if (body.errors?.length) {
        refused = body;
        retryAfterHeader = response.headers.get('retry-after');
      }
    }
    // Exactly the limit is allowed (one instance counts exactly), then HTTP 429.
    expect(statuses).toEqual([...Array<number>(FREE_REQUESTS_PER_MINUTE).fill(200), 429]);
    const extensions = refused!.errors![0]!.extensions!;
    expect(extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'requestsPerMinute', max: FREE_REQUESTS_PER_MINUTE });
    const retryAfter = extensions.retryAfterSeconds as number;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number(retryAfterHeader)).toBe(retryAfter);
    // The limit is per member: the ADMIN of the same tenant still gets answers.
    expect((await app.run(MeDocument, {}, tenant.admin.token)).errors).toBeUndefined();
    // Operators see which plan's limit bites.
    expect(await app.metrics.render()).toMatch(/rate_limited_requests_total\{plan="FREE"\} [1-9]/);
  });

  it('counts across instances through the shared store: exact locally, reconciled within a sync', async () => {
    let clock = Date.parse('2030-01-01T10:00:15.000Z');
    const options = { syncIntervalMs: 3_600_000, now: () => clock };
    const a = createRateLimiter(postgresCounterStore(app.db.pool), options);
    const b = createRateLimiter(postgresCounterStore(app.db.pool), options);
    const key = `member:${crypto.randomUUID()}`;
    try {
      for (let i = 0; i < 3; i++) expect(a.hit(key, 5).allowed).toBe(true);
      await a.sync();
      // B has not synced yet: it allows on its own count, then learns A's three.
      expect(b.hit(key, 5).allowed).toBe(true);
      await b.sync();
      expect(b.hit(key, 5).allowed).toBe(true); // 3 + 1 + 1 = 5
      const refused = b.hit(key, 5);
      expect(refused).toEqual({ allowed: false, retryAfterSeconds: 45 });
      await b.sync();
      await a.sync();
      expect(a.hit(key, 5).allowed).toBe(false); // A now knows all five
      const { rows } = await app.db.pool.query<{ count: number }>('SELECT count FROM rate_limit_counters WHERE key = $1', [key]);
      expect(rows.map((r) => r.count)).toEqual([5]);

      clock += 60_000; // the next minute starts afresh
      expect(a.hit(key, 5)).toEqual({ allowed: true, retryAfterSeconds: 45 });
      clock += 3 * 60_000;
      await a.sync(); // flushes, and prunes windows older than two minutes
      const { rows: left } = await app.db.pool.query('SELECT 1 FROM rate_limit_counters WHERE key = $1', [key]);
      expect(left).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('quotas', () => {
  let tenant: TestTenant;
  let editor: Person;
  let member: Person;
  beforeAll(async () => {
    tenant = await signUpTenant(app);
    editor = await addMember(app, tenant, 'EDITOR');
    member = await addMember(app, tenant, 'MEMBER');
    await movePlan(tenant, 'PRO');
  });

  it('refuses documents past maxBytes and maxDocuments with QUOTA_EXCEEDED naming the limit', async () => {
    const big = 'x'.repeat(1_990) + ' bytes of a long document.';
    await app.ok(AddTextDocumentDocument, { title: 'Big', content: big }, editor.token);
    const tooBig = await app.run(AddTextDocumentDocument, { title: 'Too big', content: 'y'.repeat(1_500) }, editor.token);
    expect(tooBig.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 'maxBytes', max: 3_000, used: big.length });
    await app.ok(AddTextDocumentDocument, { title: 'Small', content: 'A small note about lighthouses.' }, editor.token);
    const third = await app.run(AddTextDocumentDocument, { title: 'Third', content: 'One document too many.' }, editor.token);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 'maxDocuments', max: 2, used: 2 });
  });

  it('refuses the question past the day’s quota with QUOTA_EXCEEDED, resetAt and retryAfterSeconds, saving nothing', async () => {
    expect((await askAndWait(member, 'What is in the small note?')).errors).toBeUndefined();
    expect((await askAndWait(editor, 'What do lighthouses do?')).errors).toBeUndefined();
    const before = await app.db.pool.query('SELECT 1 FROM chat_messages WHERE tenant_id = $1', [tenant.id]);

    const over = await askAndWait(member, 'One question too many?');
    const extensions = over.errors?.[0]?.extensions ?? {};
    const midnight = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1));
    expect(extensions).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      limit: 'questionsPerDay',
      max: 2,
      used: 2,
      resetAt: midnight.toISOString(),
    });
    expect(extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(extensions.retryAfterSeconds).toBeLessThanOrEqual(86_400);
    const after = await app.db.pool.query('SELECT 1 FROM chat_messages WHERE tenant_id = $1', [tenant.id]);
    expect(after.rowCount).toBe(before.rowCount);
    expect(await app.metrics.render()).toMatch(/quota_exceeded_total\{limit="questionsPerDay"\} [1-9]/);
  });

  it('shows the plan, its limits and current consumption to ADMINs only', async () => {
    const { tenant: current } = await app.ok(TenantQuotaDocument, {}, tenant.admin.token);
    expect(current.quota).toMatchObject({
      plan: 'PRO',
      limits: { requestsPerMinute: 100_000, questionsPerDay: 2, maxDocuments: 2, maxBytes: 3_000 },
      questionsToday: 2,
      documents: 2,
      bytes: 2_016 + 31,
    });
    expect(codes(await app.run(TenantQuotaDocument, {}, editor.token))).toEqual(['FORBIDDEN']);
  });

  it('reports usage per day and per member, with totals (ADMIN)', async () => {
    const { usage } = await app.ok(UsageDocument, { from: today(), to: today() }, tenant.admin.token);
    expect(usage.totals).toMatchObject({ questions: 2, documents: 2, bytes: 2_047 });
    expect(usage.totals.inputTokens).toBeGreaterThan(0);
    expect(usage.totals.outputTokens).toBeGreaterThan(0);
    expect(usage.days.map((d) => d.day)).toEqual([today()]);
    expect(usage.days[0]!.totals).toEqual(usage.totals);
    const byMember = Object.fromEntries(usage.members.map((m) => [m.member?.role, m.counts]));
    expect(byMember.MEMBER).toMatchObject({ questions: 1, documents: 0, bytes: 0 });
    expect(byMember.EDITOR).toMatchObject({ questions: 1, documents: 2, bytes: 2_047 });
    expect(usage.members.reduce((sum, m) => sum + m.counts.inputTokens, 0)).toBe(usage.totals.inputTokens);
    expect(usage.quota).toMatchObject({ plan: 'PRO', questionsToday: 2 });

    // Another range: nothing. A reversed range: BAD_USER_INPUT. Non-ADMINs: FORBIDDEN.
    const { usage: empty } = await app.ok(UsageDocument, { from: '2020-01-01', to: '2020-01-31' }, tenant.admin.token);
    expect(empty).toMatchObject({ days: [], members: [], totals: { questions: 0, documents: 0 } });
    const reversed = await app.run(UsageDocument, { from: today(), to: '2020-01-01' }, tenant.admin.token);
    expect(reversed.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    const badDay = await app.run(UsageDocument, { from: '2026-02-30', to: today() }, tenant.admin.token);
    expect(codes(badDay)).toEqual(['BAD_USER_INPUT']);
    expect(codes(await app.run(UsageDocument, { from: today(), to: today() }, member.token))).toEqual(['FORBIDDEN']);
  });

  it('keeps another tenant’s usage out', async () => {
    const other = await signUpTenant(app);
    const { usage } = await app.ok(UsageDocument, { from: today(), to: today() }, other.admin.token);
    expect(usage).toMatchObject({ days: [], members: [], totals: { questions: 0, documents: 0, bytes: 0 } });
  });
});

describe('members’ last activity', () => {
  it('is updated from requests at most once per period, never a write per request', async () => {
    const tenant = await signUpTenant(app);
    const member = await addMember(app, tenant, 'MEMBER');
    const memberId = rawId(member.id);
    const row = async () =>
      (
        await app.db.pool.query<{ last: Date; xmin: string }>('SELECT last_active_at AS last, xmin::text AS xmin FROM users WHERE id = $1', [
          memberId,
        ])
      ).rows[0]!;
    // Pretend the member was last seen an hour ago, and let the cached caller go.
    await app.db.pool.query(`UPDATE users SET last_active_at = now() - interval '1 hour' WHERE id = $1`, [memberId]);
    app.services.auth.forgetCallers(tenant.id);
    const longAgo = (await row()).last;

    await app.ok(MeDocument, {}, member.token);
    await eventually(async () => (await row()).last.getTime() > longAgo.getTime() + 50 * 60_000, 'last_active_at to move');
    const touched = await row();
    expect(Date.now() - touched.last.getTime()).toBeLessThan(ACTIVITY_RESOLUTION_MS);

    for (let i = 0; i < 20; i++) await app.ok(MeDocument, {}, member.token);
    app.services.auth.forgetCallers(tenant.id);
    for (let i = 0; i < 5; i++) await app.ok(MeDocument, {}, member.token);
    expect(await row()).toEqual(touched); // same row version: no write happened

    const { members } = await app.ok(MembersActivityDocument, {}, tenant.admin.token);
    const shown = members.edges.map((e) => e.node).find((m) => m.role === 'MEMBER')!;
    expect(new Date(shown.lastActiveAt!).getTime()).toBe(touched.last.getTime());
  });
});
