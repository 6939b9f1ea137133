// Requests per minute per member, without a database round trip on the request path.
//
// Each instance counts requests in memory (exact for the requests it serves) and, in the
// background about once per second, adds its new counts to shared counters and reads back the
// totals of all instances. A request is refused when the last known shared total plus this
// instance's counts since then reach the limit. Across N instances a member can therefore get
// up to (N − 1) × (requests per sync interval) more than the limit in a burst — a bounded
// overshoot traded for a hot path that is a Map lookup (see README "Plans, quotas and usage").
//
// Windows are fixed minutes (UTC, aligned to the epoch): a refused caller is told to retry
// when the minute ends. The shared counters live in a CounterStore: PostgreSQL by default,
// Redis when REDIS_URL is set — the limiter itself does not care which.
import type pg from 'pg';
import type { Logger } from '../logger.ts';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the current window ends (when a refused caller may try again). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one request of `key` if it is within `limitPerMinute`. Synchronous: no I/O. */
  hit(key: string, limitPerMinute: number): RateDecision;
  /** Pushes the local counts to the shared store now and reads back the totals. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Where the counts of all instances meet. */
export interface CounterStore {
  /** Adds each key's delta to its count in `windowStart` and returns the resulting totals. */
  add(windowStart: Date, deltas: Map<string, number>): Promise<Map<string, number>>;
  /** Forgets windows that started before `before`. */
  prune(before: Date): Promise<void>;
  close(): Promise<void>;
}

const WINDOW_MS = 60_000;
/** Old windows are deleted from the store this often (a few rows per active member). */
const PRUNE_EVERY_MS = 60_000;

interface Slot {
  window: number;
  /** The limit of the last hit (to know when the key is close to it). */
  limit: number;
  /** The total of all instances as of the last sync (our flushed counts included). */
  shared: number;
  /** This instance's counts since the last sync. */
  pending: number;
}

export interface RateLimiterOptions {
  syncIntervalMs: number;
  logger?: Logger;
  /** The clock (tests). */
  now?: () => number;
}

export function createRateLimiter(store: CounterStore, options: RateLimiterOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  let syncing: Promise<void> | null = null;
  let lastPrune = 0;
  let closed = false;

  async function push(): Promise<void> {
    const current = Math.floor(now() / WINDOW_MS);
    // Take the pending counts of the current window; slots of ended windows are dropped. Keys
    // past half their limit are read back even without new counts here, so this instance
    // learns what the others counted before its own count reaches the limit.
    const deltas = new Map<string, number>();
    for (const [key, slot] of slots) {
      if (slot.window !== current) slots.delete(key);
      else if (slot.pending > 0 || 2 * slot.shared >= slot.limit) {
        deltas.set(key, slot.pending);
        slot.shared += slot.pending;
        slot.pending = 0;
      }
    }
    if (deltas.size > 0) {
      try {
        const totals = await store.add(new Date(current * WINDOW_MS), deltas);
        for (const [key, total] of totals) {
          const slot = slots.get(key);
          // Counts made while the store answered stay pending; `shared` becomes the store's truth.
          if (slot && slot.window === current) slot.shared = Math.max(slot.shared, total);
        }
      } catch (error) {
        // Not lost: handed back to the next sync. Meanwhile local counting still limits.
        for (const [key, delta] of deltas) {
          const slot = slots.get(key);
          if (slot && slot.window === current) {
            slot.shared -= delta;
            slot.pending += delta;
          }
        }
        options.logger?.warn({ err: error }, 'rate limiter: syncing counters failed');
      }
    }
    if (now() - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = now();
      await store.prune(new Date((current - 2) * WINDOW_MS)).catch((error: unknown) =>
        options.logger?.warn({ err: error }, 'rate limiter: pruning counters failed'),
      );
    }
  }

  function sync(): Promise<void> {
    // One sync at a time; a caller arriving during one waits for it and then runs its own.
    const run = (syncing ?? Promise.resolve()).then(push);
    const settled = run.finally(() => {
      if (syncing === settled) syncing = null;
    });
    syncing = settled;
    return settled;
  }

  // Runs only while there is something to push, so an idle instance sends no queries.
  const timer = setInterval(() => {
    if (closed) return;
    for (const slot of slots.values()) {
      if (slot.pending > 0) {
        void sync();
        return;
      }
    }
  }, options.syncIntervalMs);
  timer.unref();

  return {
    hit(key, limitPerMinute) {
      const at = now();
      const window = Math.floor(at / WINDOW_MS);
      let slot = slots.get(key);
      if (!slot || slot.window !== window) {
        slot = { window, limit: limitPerMinute, shared: 0, pending: 0 };
        slots.set(key, slot);
      }
      slot.limit = limitPerMinute;
      const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - at) / 1000));
      if (slot.shared + slot.pending >= limitPerMinute) return { allowed: false, retryAfterSeconds };
      slot.pending += 1;
      return { allowed: true, retryAfterSeconds };
    },
    sync,
    async close() {
      closed = true;
      clearInterval(timer);
      await sync().catch(() => {});
      await store.close();
    },
  };
}

/** Shared counters in an unlogged PostgreSQL table: one statement per sync, all keys at once. */
export function postgresCounterStore(pool: pg.Pool): CounterStore {
  return {
    async add(windowStart, deltas) {
      const keys = [...deltas.keys()];
      const { rows } = await pool.query<{ key: string; count: number }>(
        `INSERT INTO rate_limit_counters (key, window_start, count)
         SELECT k, $1, d FROM unnest($2::text[], $3::int[]) AS u(k, d)
         ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counters.count + EXCLUDED.count
         RETURNING key, count`,
        [windowStart, keys, keys.map((key) => deltas.get(key)!)],
      );
      return new Map(rows.map((row) => [row.key, row.count]));
    },
    async prune(before) {
      await pool.query('DELETE FROM rate_limit_counters WHERE window_start < $1', [before]);
    },
    async close() {},
  };
}
