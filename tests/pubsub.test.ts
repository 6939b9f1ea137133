// The LISTEN/NOTIFY pub/sub that carries subscription events between processes: in order,
// nothing lost or merged when events are published faster than one round trip each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createEventPubSub, type MessageStreamPayload, type PubSub } from '../src/pubsub.ts';
import { createScratchDatabase, type ScratchDatabase } from './helpers/scratch-db.ts';

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
});
