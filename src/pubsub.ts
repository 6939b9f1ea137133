// Events for subscriptions. The producer may be another process (a worker, another API
// instance), so on a real PostgreSQL events travel through LISTEN/NOTIFY. The embedded
// database runs everything in one process, where an in-memory target is exact.
import { setMaxListeners, type EventEmitter } from 'node:events';
import { createPubSub } from 'graphql-yoga';
import pg from 'pg';
import type { Logger } from './logger.ts';

export type MemberEventKind = 'INVITED' | 'JOINED' | 'ROLE_CHANGED' | 'DEACTIVATED' | 'REACTIVATED' | 'DELETED';

export interface MemberEventPayload {
  kind: MemberEventKind;
  userId: string | null;
  invitationId: string | null;
  at: string;
}

export type DocumentStatusValue = 'QUEUED' | 'PROCESSING' | 'READY' | 'FAILED';

export interface DocumentStatusPayload {
  documentId: string;
  status: DocumentStatusValue;
  /** 0..1 while PROCESSING (share of chunks embedded), else null. */
  progress: number | null;
  errorCode: string | null;
  at: string;
}

/** Pieces of an answer as it is produced; `offset` is where `text` starts in the full answer. */
export type MessageStreamPayload =
  | { kind: 'delta'; offset: number; text: string }
  | { kind: 'done'; status: 'COMPLETE' | 'FAILED' | 'CANCELLED' };

/** Requests to whichever process runs a generation. */
export interface GenerationControlPayload {
  messageId: string;
  action: 'stop';
}

/** Topic → [routing id, payload] (or [payload] for process-wide topics). */
export type Topics = {
  memberEvents: [tenantId: string, payload: MemberEventPayload];
  documentStatus: [tenantId: string, payload: DocumentStatusPayload];
  messageStream: [messageId: string, payload: MessageStreamPayload];
  generationControl: [payload: GenerationControlPayload];
  /** A tenant's members or the tenant changed: cached callers must be read again. */
  callersChanged: [payload: { tenantId: string }];
  /** A member (userId) or the whole tenant (null) lost access: their open subscriptions end. */
  accessRevoked: [tenantId: string, payload: { userId: string | null }];
  /**
   * A committed change to a tenant's documents, members or settings, announced by database
   * triggers (migration tenant_data_change_notifications) whoever wrote it.
   */
  tenantDataChanged: [payload: { tenantId: string }];
  /**
   * This process's event connection was lost and is back: events sent meanwhile were missed,
   * so whatever was kept up to date by them must be dropped. Local to the process.
   */
  eventsMissed: [payload: { at: string }];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>> & { close(): Promise<void> };

export const CHANNEL = 'ragchat_events';
/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;
/** Events sent together in one statement (one round trip) when they queue up. */
const MAX_EVENTS_PER_SEND = 500;

/**
 * The embedded database runs in this process: events stay in memory, and the notifications
 * its triggers send (tenantDataChanged) are relayed from the pool's connections, which
 * src/db/embedded.ts re-emits on the pool.
 */
export async function createEmbeddedPubSub(pool: pg.Pool): Promise<PubSub> {
  const target = new EventTarget();
  setMaxListeners(0, target);
  const relay = (message: pg.Notification) => {
    if (message.channel !== CHANNEL || !message.payload) return;
    const { topic, detail } = parseNotification(message.payload);
    target.dispatchEvent(new CustomEvent(topic, { detail }));
  };
  // Not a pg.Pool event of its own: src/db/embedded.ts emits it.
  const poolEvents = pool as unknown as EventEmitter;
  poolEvents.on('notification', relay);
  // PGlite is one session: a LISTEN on any pooled connection holds for all of them.
  await pool.query(`LISTEN ${CHANNEL}`);
  const pubsub = createPubSub<Topics>({ eventTarget: target });
  return Object.assign(pubsub, {
    close: async () => {
      poolEvents.off('notification', relay);
    },
  });
}

/** Events through a real PostgreSQL, shared by every process connected to it. */
export async function createEventPubSub(connectionString: string, logger: Logger): Promise<PubSub> {
  const target = await PostgresEventTarget.connect(connectionString, logger);
  const pubsub = createPubSub<Topics>({ eventTarget: target });
  return Object.assign(pubsub, { close: () => target.close() });
}

/** The application_name of each process's event connection. */
export const EVENTS_APPLICATION_NAME = 'ragchat-events';

/** The LISTEN channel of every event. */
export const EVENTS_CHANNEL = CHANNEL;

/** An event from a NOTIFY payload: "<sequence> <json>" (the sequence only keeps payloads distinct, see below). */
export function parseNotification(payload: string): { topic: string; detail: unknown } {
  return JSON.parse(payload.slice(payload.indexOf(' ') + 1)) as { topic: string; detail: unknown };
}

/**
 * An EventTarget whose events go through Postgres. One dedicated connection both
 * LISTENs and NOTIFYs: one session sends in order, so subscribers see events in the
 * order they were published, and it receives its own notifications like everyone else's.
 *
 * Events published while a send is in flight queue up and go out together in the next
 * statement (`pg_notify` over an array, in array order): one round trip however many there
 * are. Sent one statement each, 50 answers streaming 20 deltas a second (bench:chat) queued
 * for seconds behind their own round trips.
 */
class PostgresEventTarget extends EventTarget {
  private client: pg.Client | null = null;
  private closed = false;
  /** Payloads waiting for the next send. */
  private queue: string[] = [];
  /** The send in flight (or a settled promise); never two queries at once on the client. */
  private sending: Promise<void> = Promise.resolve();
  private flushing = false;
  /**
   * Postgres delivers identical payloads sent in one transaction only once: a per-process
   * sequence number keeps two equal events of one batch (say, two identical status events)
   * distinct.
   */
  private sequence = 0;
  private readonly connectionString: string;
  private readonly logger: Logger;

  private constructor(connectionString: string, logger: Logger) {
    super();
    // One listener per subscription on a topic: many clients following one answer are normal,
    // not the leak Node's default limit of 10 listeners per event type warns about.
    setMaxListeners(0, this);
    this.connectionString = connectionString;
    this.logger = logger;
  }

  static async connect(connectionString: string, logger: Logger): Promise<PostgresEventTarget> {
    const target = new PostgresEventTarget(connectionString, logger);
    await target.open();
    return target;
  }

  private async open(): Promise<void> {
    // Named, so that pg_stat_activity tells the event connection of each process apart.
    const client = new pg.Client({ connectionString: this.connectionString, application_name: EVENTS_APPLICATION_NAME });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const { topic, detail } = parseNotification(message.payload);
      super.dispatchEvent(new CustomEvent(topic, { detail }));
    });
    client.on('error', (error) => {
      // A connection reports its loss more than once (the server's termination notice, then
      // the closed socket), and a connection still opening reports it by failing open():
      // only the loss of the open connection starts a reconnect, and only one.
      if (this.client !== client) return;
      this.logger.error({ err: error }, 'pub/sub connection lost; reconnecting');
      this.client = null;
      void client.end().catch(() => {});
      void this.reconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      try {
        await this.open();
        if (this.closed) {
          await this.client?.end();
          return;
        }
        this.logger.info({ attempt }, 'pub/sub reconnected; events sent meanwhile are lost');
        super.dispatchEvent(new CustomEvent('eventsMissed', { detail: { at: new Date().toISOString() } }));
        return;
      } catch (error) {
        this.logger.warn({ err: error, attempt }, 'pub/sub reconnect failed');
      }
    }
  }

  override dispatchEvent(event: Event): boolean {
    const payload = JSON.stringify({ topic: event.type, detail: (event as CustomEvent).detail });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      throw new Error(`event ${event.type} is too large for NOTIFY (${Buffer.byteLength(payload)} bytes)`);
    }
    if (!this.client) {
      this.logger.error({ topic: event.type }, 'event dropped: pub/sub connection is down');
      return false;
    }
    this.queue.push(`${(this.sequence++).toString(36)} ${payload}`);
    if (!this.flushing) {
      this.flushing = true;
      this.sending = this.flush();
    }
    return true;
  }

  /** Sends queued events, a batch per statement, until the queue is empty. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_EVENTS_PER_SEND);
        const client = this.client;
        if (!client) {
          this.logger.error({ events: batch.length }, 'events dropped: pub/sub connection is down');
          continue;
        }
        try {
          await client.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [CHANNEL, batch]);
        } catch (error) {
          this.logger.error({ err: error, events: batch.length }, 'event publish failed');
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
    await this.client?.end();
  }
}
