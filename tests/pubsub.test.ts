// The LISTEN/NOTIFY pub/sub that carries subscription events between processes: in order,
// nothing lost or merged when events are published faster than one round trip each; a lost
// connection comes back once, and says that events were missed.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createEventPubSub, EVENTS_APPLICATION_NAME, type MessageStreamPayload, type PubSub } from '../src/pubsub.ts';
import { createScratchDatabase, type ScratchDatabase } from './helpers/scratch-db.ts';
import { eventually } from './helpers/wait.ts';

const server = process.env.DATABASE_URL;

describe.skipIf(!server)('PostgreSQL pub/sub (needs DATABASE_URL)', () => {
  let scratch: ScratchDatabase;
  let publisher: PubSub;
  let subscriber: PubSub;

  beforeAll(async () => {
    scratch = await createScratchDatabase(server!);
    const logger = createLogger('silent');
    publisher = await createEventPubSub(scratch.url, logger);
    subscriber = await createEventPubSub(scratch.url, logger);
  });
  afterAll(async () => {
    await publisher?.close();
    await subscriber?.close();
    await scratch?.drop();
  });

  it('delivers a burst of events to another connection in publishing order, identical ones included', async () => {
    const count = 2_000;
    const received: MessageStreamPayload[] = [];
    const iterator = subscriber.subscribe('messageStream', 'burst')[Symbol.asyncIterator]();
    // The subscription must be listening before the burst starts.
    const first = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < count; i++) {
      // Every 100th event repeats the previous one exactly: both must arrive.
      const offset = i % 100 === 99 ? i - 1 : i;
      publisher.publish('messageStream', 'burst', { kind: 'delta', offset, text: `t${offset}` });
    }
    received.push((await first).value as MessageStreamPayload);
    while (received.length < count) received.push((await iterator.next()).value as MessageStreamPayload);
    await iterator.return?.();
    const offsets = received.map((event) => (event.kind === 'delta' ? event.offset : -1));
    expect(offsets).toEqual(Array.from({ length: count }, (_, i) => (i % 100 === 99 ? i - 1 : i)));
  }, 30_000);

  it('comes back once after its connection is cut: one eventsMissed, one connection, each later event delivered once', async () => {
    const missed: string[] = [];
    const missedEvents = subscriber.subscribe('eventsMissed')[Symbol.asyncIterator]();
    const collecting = (async () => {
      for (let next = await missedEvents.next(); !next.done; next = await missedEvents.next()) missed.push(next.value.at);
    })();
    const admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    const eventConnections = async () =>
      (
        await admin.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
          [EVENTS_APPLICATION_NAME],
        )
      ).rows[0]!.count;
    try {
      expect(await eventConnections()).toBe(2); // the publisher's and the subscriber's
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
        [EVENTS_APPLICATION_NAME],
      );
      await eventually(async () => missed.length > 0 && (await eventConnections()) === 2, 'both connections back', 10_000);
      // Longer than a second reconnect would take (its first back-off is 200 ms).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(missed).toHaveLength(1);
      expect(await eventConnections()).toBe(2);

      const received: MessageStreamPayload[] = [];
      const iterator = subscriber.subscribe('messageStream', 'after-cut')[Symbol.asyncIterator]();
      const first = iterator.next();
      await new Promise((resolve) => setTimeout(resolve, 50));
      publisher.publish('messageStream', 'after-cut', { kind: 'delta', offset: 0, text: 'once' });
      publisher.publish('messageStream', 'after-cut', { kind: 'done', status: 'COMPLETE' });
      received.push((await first).value as MessageStreamPayload);
      received.push((await iterator.next()).value as MessageStreamPayload);
      await iterator.return?.();
      expect(received).toEqual([
        { kind: 'delta', offset: 0, text: 'once' },
        { kind: 'done', status: 'COMPLETE' },
      ]);
    } finally {
      await missedEvents.return?.();
      await collecting;
      await admin.end();
    }
  }, 30_000);
});
