// The request counters shared through Redis (REDIS_URL): the same limiter, another store. Runs
// when a Redis answers at REDIS_URL (default redis://127.0.0.1:6379); skipped, saying so, when
// none does (CI has no Redis).
import net from 'node:net';
import { createClient } from '@redis/client';
import { print } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { MeDocument } from './__generated__/graphql.ts';
import { createRateLimiter } from '../src/limits/rate-limiter.ts';
import { redisCounterStore } from '../src/limits/redis-counter-store.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { addMember, signUpTenant } from './helpers/tenants.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when something at REDIS_URL answers PING with PONG within a second. */
async function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

const available = await redisAnswers(REDIS_URL);
if (!available) console.warn(`rate-limiter-redis.test.ts: skipped, no Redis answers at ${REDIS_URL}`);

describe.skipIf(!available)('Redis counter store', () => {
  let app: TestApp | undefined;
  afterAll(() => app?.close());

  it('shares counts between instances and lets old windows expire', async () => {
    let clock = Date.parse('2031-06-01T08:00:20.000Z');
    const options = { syncIntervalMs: 3_600_000, now: () => clock };
    const a = createRateLimiter(await redisCounterStore(REDIS_URL), options);
    const b = createRateLimiter(await redisCounterStore(REDIS_URL), options);
    const key = `member:${crypto.randomUUID()}`;
    const inspector = createClient({ url: REDIS_URL });
    await inspector.connect();
    try {
      for (let i = 0; i < 3; i++) expect(a.hit(key, 5).allowed).toBe(true);
      await a.sync();
      expect(b.hit(key, 5).allowed).toBe(true);
      await b.sync(); // B learns A's three: 4 in all
      expect(b.hit(key, 5).allowed).toBe(true);
      expect(b.hit(key, 5)).toEqual({ allowed: false, retryAfterSeconds: 40 });
      await b.sync();
      await a.sync(); // A is past half its limit: it reads the total back
      expect(a.hit(key, 5).allowed).toBe(false);

      const counter = `ragchat:rate:${Date.parse('2031-06-01T08:00:00.000Z')}:${key}`;
      expect(await inspector.get(counter)).toBe('5');
      const ttl = await inspector.ttl(counter);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(180);

      clock += 60_000;
      expect(a.hit(key, 5).allowed).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await inspector.close();
    }
  });

  it('limits GraphQL requests when the app is configured with REDIS_URL', async () => {
    app = await startTestApp({
      REDIS_URL,
      DEFAULT_PLAN: 'FREE',
      PLAN_LIMITS: JSON.stringify({ FREE: { requestsPerMinute: 3 } }),
    });
    const tenant = await signUpTenant(app);
    const member = await addMember(app, tenant, 'MEMBER');
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_050 - intoMinute));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await app.yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${member.token}` },
        body: JSON.stringify({ query: print(MeDocument) }),
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    await app.rateLimiter.sync();
    const inspector = createClient({ url: REDIS_URL });
    await inspector.connect();
    try {
      const memberId = Buffer.from(member.id, 'base64').toString().split(':')[1];
      const window = Math.floor(Date.now() / 60_000) * 60_000;
      expect(await inspector.get(`ragchat:rate:${window}:member:${memberId}`)).toBe('3');
    } finally {
      await inspector.close();
    }
  });
});
