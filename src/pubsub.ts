// Events for subscriptions. The producer may be another process (a worker, another API
// instance), so on a real PostgreSQL events travel through LISTEN/NOTIFY. The embedded
// database runs everything in one process, where an in-memory target is exact.
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
};

export type PubSub = ReturnType<typeof createPubSub<Topics>> & { close(): Promise<void> };

const CHANNEL = 'ragchat_events';
/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;

export async function createEventPubSub(connectionString: string | undefined, logger: Logger): Promise<PubSub> {
  if (!connectionString) {
    const pubsub = createPubSub<Topics>();
    return Object.assign(pubsub, { close: async () => {} });
  }
  const target = await PostgresEventTarget.connect(connectionString, logger);
  const pubsub = createPubSub<Topics>({ eventTarget: target });
  return Object.assign(pubsub, { close: () => target.close() });
}

/**
 * An EventTarget whose events go through Postgres. One dedicated connection both
 * LISTENs and NOTIFYs: one session sends in order, so subscribers see events in the
 * order they were published, and it receives its own notifications like everyone else's.
 */
class PostgresEventTarget extends EventTarget {
  private client: pg.Client | null = null;
  private closed = false;
  /** Publishes go out one after another: in order, and never two queries at once on the client. */
  private sending: Promise<unknown> = Promise.resolve();
  private readonly connectionString: string;
  private readonly logger: Logger;

  private constructor(connectionString: string, logger: Logger) {
    super();
    this.connectionString = connectionString;
    this.logger = logger;
  }

  static async connect(connectionString: string, logger: Logger): Promise<PostgresEventTarget> {
    const target = new PostgresEventTarget(connectionString, logger);
    await target.open();
    return target;
  }

  private async open(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const { topic, detail } = JSON.parse(message.payload) as { topic: string; detail: unknown };
      super.dispatchEvent(new CustomEvent(topic, { detail }));
    });
    client.on('error', (error) => {
      this.logger.error({ err: error }, 'pub/sub connection lost; reconnecting');
      this.client = null;
      void this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      try {
        await this.open();
        this.logger.info({ attempt }, 'pub/sub reconnected');
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
    const client = this.client;
    if (!client) {
      this.logger.error({ topic: event.type }, 'event dropped: pub/sub connection is down');
      return false;
    }
    this.sending = this.sending
      .then(() => client.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]))
      .catch((error: unknown) => this.logger.error({ err: error, topic: event.type }, 'event publish failed'));
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
    await this.client?.end();
  }
}
