// Chat sessions of the caller, their messages, asking and stopping. Sessions are private
// to their user: another member's session answers like a missing one.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type pg from 'pg';
import { z } from 'zod';
import type { GenerationRunner } from '../chat/generation.ts';
import { CHAT_MESSAGE_COLUMNS, rowReader, selectColumns } from '../db/columns.ts';
import { taggedSql } from '../db/tagged-sql.ts';
import { withTenant } from '../db/tenant-session.ts';
import type { ChatMessage, ChatSession, Citation, Tenant } from '../db/generated/client.ts';
import type { TenantDb } from '../db/tenant-scope.ts';
import { AppError, ErrorCode, notFound } from '../errors.ts';
import type { ChatTurn } from '../providers/chat-model.ts';
import type { MessageStreamPayload, PubSub } from '../pubsub.ts';
import type { Plan, PlanLimits } from '../limits/plans.ts';
import { effectiveChoices, type Models } from '../providers/registry.ts';
import { DEFAULT_RETRIEVAL } from '../retrieval/search.ts';
import { keysetQuery, type PageWindow } from './pagination.ts';
import { countQuestion } from './usage.ts';
import { isUuid, parseInput } from './validation.ts';
import type { Viewer } from './viewer.ts';

const TITLE_MAX = 120;
const QUESTION_MAX = 4000;
/** Earlier turns offered to the model (the prompt builder trims them to its token budget). */
const HISTORY_TURNS = 20;

const TitleInput = z.object({ title: z.string().trim().min(1, 'must not be empty').max(TITLE_MAX) });
const QuestionInput = z.object({
  content: z.string().trim().min(1, 'must not be empty').max(QUESTION_MAX, `must be at most ${QUESTION_MAX} characters`),
});

export type StreamEvent = { delta: string; message: null } | { delta: null; message: ChatMessage };

const FINAL = new Set(['COMPLETE', 'FAILED', 'CANCELLED']);

export interface ChatOptions {
  models: Models;
  /** FTS_CONFIG: the full-text language of tenants that chose none. */
  defaultFtsConfig: string;
  planLimits: Record<Plan, PlanLimits>;
  /** The caller's tenant row (read once per request, usually while authenticating it). */
  tenant: () => Promise<Tenant>;
}

/** A chat session of the caller, locked for recording a question, with what that needs. */
interface SessionForQuestion {
  title: string;
  /** The answer still being written in it, if any. */
  busyId: string | null;
  /** The last COMPLETE messages, oldest first. */
  history: { role: 'USER' | 'ASSISTANT'; content: string }[];
  plan: Plan;
}

// Two questions sent to one session at once are checked one after the other: the session row
// is locked first, in a statement of its own, so that the read after it takes its snapshot
// once the other question has committed, and sees that one's STREAMING answer. (Locked in the
// same statement, the row would be re-read after the wait but its subqueries would not.)
const LOCK_SESSION = `SELECT 1 FROM chat_sessions WHERE id = $1::uuid AND user_id = $2::uuid FOR NO KEY UPDATE`;
const SESSION_FOR_QUESTION = `
  SELECT s.title,
         (SELECT m.id FROM chat_messages m WHERE m.session_id = s.id AND m.status = 'STREAMING' LIMIT 1) AS "busyId",
         (SELECT coalesce(json_agg(json_build_object('role', h.role, 'content', h.content) ORDER BY h.created_at), '[]'::json)
            FROM (SELECT m.role, m.content, m.created_at FROM chat_messages m
                   WHERE m.session_id = s.id AND m.status = 'COMPLETE'
                   ORDER BY m.created_at DESC LIMIT $3::int) h) AS history,
         (SELECT t.plan FROM tenants t WHERE t.id = s.tenant_id) AS plan
    FROM chat_sessions s
   WHERE s.id = $1::uuid AND s.user_id = $2::uuid`;

// The question, the session's new title ($4, or null to keep it) and time, and the pending
// answer, which must sort after the question (created a millisecond later).
const RECORD_QUESTION = `
  WITH question AS (
         INSERT INTO chat_messages (tenant_id, session_id, role, status, content, completed_at, updated_at)
         VALUES ($1::uuid, $2::uuid, 'USER', 'COMPLETE', $3, now(), now())
       ), touched AS (
         UPDATE chat_sessions SET title = coalesce($4, title), updated_at = now() WHERE id = $2::uuid
       )
  INSERT INTO chat_messages AS m (tenant_id, session_id, role, status, created_at, updated_at)
  VALUES ($1::uuid, $2::uuid, 'ASSISTANT', 'STREAMING', now() + interval '1 millisecond', now())
  RETURNING ${selectColumns(CHAT_MESSAGE_COLUMNS, 'm')}`;
const readMessage = rowReader<ChatMessage>(CHAT_MESSAGE_COLUMNS);

export function createChatService(
  db: TenantDb,
  /** For recording a question (raw SQL in a tenant transaction). */
  pool: pg.Pool,
  viewer: Viewer,
  pubsub: PubSub,
  generations: GenerationRunner,
  options: ChatOptions,
) {
  const mine = { userId: viewer.userId };

  async function findSession(sessionId: string): Promise<ChatSession> {
    const session = isUuid(sessionId) ? await db.chatSession.findFirst({ where: { id: sessionId, ...mine } }) : null;
    if (!session) throw notFound('Chat session');
    return session;
  }

  async function findMessage(messageId: string): Promise<ChatMessage> {
    const message = isUuid(messageId)
      ? await db.chatMessage.findFirst({ where: { id: messageId, session: mine } })
      : null;
    if (!message) throw notFound('Message');
    return message;
  }

  /** Re-reads the message until its saved text reaches `length` (bounded wait). */
  async function readUntil(messageId: string, length: number): Promise<ChatMessage> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const message = await findMessage(messageId);
      if (message.content.length >= length || FINAL.has(message.status) || Date.now() > deadline) return message;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Records the question and a STREAMING answer. `start` then produces the answer in the
   * background — callers may subscribe to its events first.
   */
  async function prepare(sessionId: string, content: string): Promise<{ answer: ChatMessage; start: () => void }> {
    const requestedAt = Date.now();
    const { content: question } = parseInput(QuestionInput, { content });
    if (!isUuid(sessionId)) throw notFound('Chat session');
    const tenant = await options.tenant();
    const choices = effectiveChoices(tenant, options.models, options.defaultFtsConfig);
    // Retrieval needs only the question and the tenant's settings, so it runs while the
    // question and the answer are written, not after them: the first delta waits for the
    // slower of the two instead of their sum. A question refused below drops its sources.
    const sources = generations.retrieve({
      tenantId: viewer.tenantId,
      question,
      embeddingModel: choices.embeddingModel,
      ftsConfig: choices.ftsConfig,
      retrieval: {
        ...DEFAULT_RETRIEVAL,
        k: tenant.retrievalK,
        n: tenant.retrievalN,
        minScore: tenant.retrievalMinScore ?? DEFAULT_RETRIEVAL.minScore,
      },
    });
    sources.catch(() => {}); // awaited (and its failure reported) by the generation
    // The checks and the writes in one transaction of four statements (six with a daily quota),
    // in SQL: this is the path to the first delta, and through the ORM it took nine.
    const { answer, history } = await withTenant(pool, viewer.tenantId, async (client) => {
      await client.query(LOCK_SESSION, [sessionId, viewer.userId]);
      const { rows } = await client.query<SessionForQuestion>(SESSION_FOR_QUESTION, [sessionId, viewer.userId, HISTORY_TURNS]);
      const session = rows[0];
      if (!session) throw notFound('Chat session');
      if (session.busyId) {
        throw new AppError(ErrorCode.FAILED_PRECONDITION, 'An answer is still being written in this session; wait or stop it', {
          // The message's API id, which stopGeneration takes.
          messageId: encodeGlobalID('ChatMessage', session.busyId),
        });
      }
      // The question counts (and may be refused by the daily quota) with the message that records
      // it, under the plan as it is now (the request's tenant row may be seconds old).
      await countQuestion(taggedSql(client), viewer.tenantId, viewer.userId, options.planLimits[session.plan].questionsPerDay);
      const title = session.title === 'New chat' && session.history.length === 0 ? question.slice(0, TITLE_MAX) : null;
      const recorded = await client.query<Record<string, unknown>>(RECORD_QUESTION, [viewer.tenantId, sessionId, question, title]);
      const history: ChatTurn[] = session.history.map((m) => ({ role: m.role === 'USER' ? 'user' : 'assistant', content: m.content }));
      return { answer: readMessage(recorded.rows[0]!)!, history };
    });
    const start = () =>
      generations.start({
        tenantId: viewer.tenantId,
        userId: viewer.userId,
        chatModel: choices.chatModel,
        messageId: answer.id,
        question,
        history,
        sources,
        systemPrompt: tenant.systemPrompt,
        requestedAt,
      });
    return { answer, start };
  }

  /**
   * The answer as a stream: first the text already produced (from the database), then live
   * deltas from `live`, then the finished message. Works for a subscriber that joins at any
   * time, on any instance; a gap between the saved text and the first live delta is filled
   * from the database. `live` must be subscribed before this reads the database.
   */
  async function* follow(live: ReturnType<typeof pubsub.subscribe<'messageStream'>>, messageId: string): AsyncGenerator<StreamEvent> {
    try {
      const message = await findMessage(messageId);
      if (message.role !== 'ASSISTANT') throw new AppError(ErrorCode.BAD_USER_INPUT, 'Only answers can be streamed');
      let position = message.content.length;
      if (position > 0) yield { delta: message.content, message: null };
      if (FINAL.has(message.status)) {
        yield { delta: null, message };
        return;
      }
      for await (const event of live as AsyncIterable<MessageStreamPayload>) {
        if (event.kind === 'delta') {
          const end = event.offset + event.text.length;
          if (end <= position) continue;
          if (event.offset > position) {
            const caughtUp = await readUntil(messageId, event.offset);
            const missing = caughtUp.content.slice(position, event.offset);
            if (missing) yield { delta: missing, message: null };
            position += missing.length;
          }
          yield { delta: event.text.slice(Math.max(0, position - event.offset)), message: null };
          position = end;
        } else {
          const final = await findMessage(messageId);
          if (final.content.length > position) yield { delta: final.content.slice(position), message: null };
          yield { delta: null, message: final };
          return;
        }
      }
    } finally {
      await live.return();
    }
  }

  return {
    sessionsByIds: (ids: readonly string[]) =>
      db.chatSession.findMany({ where: { id: { in: ids.filter(isUuid) }, ...mine } }),

    messagesByIds: (ids: readonly string[]) =>
      db.chatMessage.findMany({ where: { id: { in: ids.filter(isUuid) }, session: mine } }),

    /** Citations of many messages in one query (for the dataloader). */
    citationsOf: (messageIds: readonly string[]): Promise<Citation[]> =>
      db.citation.findMany({ where: { messageId: { in: [...messageIds] } }, orderBy: [{ messageId: 'asc' }, { rank: 'asc' }] }),

    getSession: findSession,
    getMessage: findMessage,

    listSessions(window: PageWindow): Promise<ChatSession[]> {
      const page = keysetQuery(window);
      return db.chatSession.findMany({ ...page, where: { AND: [page.where, mine] } });
    },

    /** Messages of a session, newest first (clients show the latest page and scroll back). */
    listMessages(sessionId: string, window: PageWindow): Promise<ChatMessage[]> {
      const page = keysetQuery(window);
      return db.chatMessage.findMany({ ...page, where: { AND: [page.where, { sessionId, session: mine }] } });
    },

    async createSession(title?: string | null): Promise<ChatSession> {
      const data = title ? parseInput(TitleInput, { title }) : { title: 'New chat' };
      return db.chatSession.create({ data: { tenantId: viewer.tenantId, userId: viewer.userId, title: data.title } });
    },

    async renameSession(sessionId: string, title: string): Promise<ChatSession> {
      const input = parseInput(TitleInput, { title });
      const session = await findSession(sessionId);
      return db.chatSession.update({ where: { id: session.id }, data: { title: input.title } });
    },

    async deleteSession(sessionId: string): Promise<string> {
      const session = await findSession(sessionId);
      const streaming = await db.chatMessage.findMany({ where: { sessionId: session.id, status: 'STREAMING' } });
      for (const message of streaming) generations.requestStop(message.id);
      await db.chatSession.delete({ where: { id: session.id } });
      return session.id;
    },

    /** Records the question and returns the pending (STREAMING) answer at once; it is produced in the background. */
    async send(sessionId: string, content: string): Promise<ChatMessage> {
      const { answer, start } = await prepare(sessionId, content);
      start();
      return answer;
    },

    /**
     * send + stream in one: the answer's events are subscribed to before its generation
     * starts, so the asker receives every delta exactly as it is produced.
     */
    async *ask(sessionId: string, content: string): AsyncGenerator<StreamEvent & { messageId: string }> {
      const { answer, start } = await prepare(sessionId, content);
      const live = pubsub.subscribe('messageStream', answer.id);
      start();
      for await (const event of follow(live, answer.id)) yield { ...event, messageId: answer.id };
    },

    /** Stops a streaming answer wherever it runs; what was said so far stays (CANCELLED). */
    async stop(messageId: string): Promise<ChatMessage> {
      const message = await findMessage(messageId);
      if (message.status !== 'STREAMING') return message;
      generations.requestStop(message.id);
      const deadline = Date.now() + 5_000;
      for (;;) {
        const current = await findMessage(message.id);
        if (current.status !== 'STREAMING') return current;
        if (Date.now() > deadline) {
          // Nobody is running it any more (its process died): settle it here.
          await db.chatMessage.updateMany({
            where: { id: message.id, status: 'STREAMING' },
            data: { status: 'CANCELLED', completedAt: new Date() },
          });
          return findMessage(message.id);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },

    /** Follows an answer from any point: see follow(). */
    stream(messageId: string): AsyncGenerator<StreamEvent> {
      return follow(pubsub.subscribe('messageStream', messageId), messageId);
    },
  };
}

export type ChatService = ReturnType<typeof createChatService>;
