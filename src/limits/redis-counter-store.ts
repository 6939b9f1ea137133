// Shared request counters in Redis (REDIS_URL): one pipeline per sync — INCRBY per key (a
// delta of 0 reads the count back) and EXPIRE so old windows disappear by themselves. Loaded
// only when REDIS_URL is set, so deployments without Redis never import the client.
import type { Logger } from '../logger.ts';
import type { CounterStore } from './rate-limiter.ts';

/** Windows are one minute; a counter outlives its window by two more, then expires. */
const EXPIRE_SECONDS = 180;
const PREFIX = 'ragchat:rate:';

export async function redisCounterStore(url: string, logger?: Logger): Promise<CounterStore> {
  const { createClient } = await import('@redis/client');
  const client = createClient({ url, socket: { connectTimeout: 5_000 } });
  // A broken connection must not crash the process: the limiter keeps counting locally and the
  // client reconnects; syncs fail (and retry) meanwhile.
  client.on('error', (error: unknown) => logger?.warn({ err: error }, 'redis connection failed'));
  // The client retries a first connection forever: a server that is not there must fail startup.
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`REDIS_URL: no Redis answered within 10 s`)), 10_000);
      }),
    ]);
  } catch (error) {
    client.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    async add(windowStart, deltas) {
      const keys = [...deltas.keys()];
      const multi = client.multi();
      for (const key of keys) {
        const counter = `${PREFIX}${windowStart.getTime()}:${key}`;
        multi.incrBy(counter, deltas.get(key)!);
        multi.expire(counter, EXPIRE_SECONDS);
      }
      const replies = await multi.exec();
      return new Map(keys.map((key, i) => [key, Number(replies[2 * i])]));
    },
    async prune() {
      // Counters expire on their own.
    },
    async close() {
      await client.close();
    },
  };
}
