// Asking questions: retrieval inside the tenant, answers streamed over graphql-ws and SSE,
// persisted with citations, surviving disconnects, stoppable, and joinable late.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import {
  AddTextDocumentDocument,
  AskDocument,
  ChatSessionMessagesDocument,
  ChatSessionsDocument,
  CreateChatSessionDocument,
  DeleteChatSessionDocument,
  MessageStreamDocument,
  RenameChatSessionDocument,
  SearchDocument,
  SendMessageDocument,
  StopGenerationDocument,
  type MessageStreamSubscription,
} from './__generated__/graphql.ts';
import { createExtractiveChatModel } from '../src/providers/extractive-chat.ts';
import { codes, startTestApp, type TestApp } from './helpers/app.ts';
import { KESSEL_GUIDE, waitForIngestion } from './helpers/documents.ts';
import { countStatements } from './helpers/statements.ts';
import { subscribeSse, subscribeWs, wsClient } from './helpers/streams.ts';
import { addMember, signUpTenant, type Person, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

let app: TestApp;
let url: string;
let acme: TestTenant;
let globex: TestTenant;
let alice: Person;
const clients: Client[] = [];


async function addDocument(tenant: TestTenant, title: string, content: string) {
  const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title, content }, tenant.admin.token);
  await waitForIngestion(app, tenant.admin.token, addTextDocument.document.id);
  return addTextDocument.document.id;
}

async function newSession(token: string) {
  return (await app.ok(CreateChatSessionDocument, {}, token)).createChatSession.id;
}

function client(token: string) {
  const c = wsClient(url, token);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  // Deltas 20 ms apart, so stopping and reconnecting mid-answer is observable.
  app = await startTestApp({}, { chatModel: createExtractiveChatModel({ deltaDelayMs: 20 }) });
  url = (await app.listen()).url;
  acme = await signUpTenant(app, 'Acme');
  globex = await signUpTenant(app, 'Globex');
  alice = await addMember(app, acme, 'MEMBER');
  // Near-identical documents in two tenants.
  await addDocument(acme, 'Kessel guide', KESSEL_GUIDE);
  await addDocument(globex, 'Kessel guide (Globex)', KESSEL_GUIDE.replace('1913', '1911'));
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await app?.close();
});

type StreamEvent = MessageStreamSubscription['messageStream'];
const text = (events: StreamEvent[]) => events.map((e) => e.delta ?? '').join('');

describe('asking over graphql-ws', () => {
  it('streams ≥ 3 deltas in order, then the message with citations of the tenant’s own chunks', async () => {
    const sessionId = await newSession(alice.token);
    const sub = subscribeWs(client(alice.token), AskDocument, {
      sessionId,
      content: 'When was the last eruption of Mount Kessel?',
    });
    await sub.finished;
    expect(sub.errors).toEqual([]);
    const events = sub.events.map((e) => e.ask);
    const deltas = events.filter((e) => e.delta);
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    const final = events.at(-1)!;
    expect(final.done).toBe(true);
    expect(final.message).toMatchObject({ status: 'COMPLETE', model: 'local/extractive' });
    expect(text(events)).toBe(final.message!.content);
    expect(final.message!.content).toContain('1913');
    expect(final.message!.content).toMatch(/\[1\]/);
    expect(final.message!.citations.length).toBeGreaterThan(0);
    for (const citation of final.message!.citations) {
      expect(citation.document?.title).toBe('Kessel guide');
      expect(citation.chunk?.id).toBeTruthy();
    }
    // The same answer, persisted.
    const stored = await app.ok(ChatSessionMessagesDocument, { id: sessionId, first: 10 }, alice.token);
    const [answer, question] = stored.chatSession.messages.edges.map((e) => e.node);
    expect(question).toMatchObject({ role: 'USER', status: 'COMPLETE', content: 'When was the last eruption of Mount Kessel?' });
    expect(answer).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE', content: final.message!.content });
    expect(answer!.outputTokens).toBeGreaterThan(0);
    expect(answer!.firstTokenMs).toBeGreaterThanOrEqual(0);
    expect(answer!.latencyMs).toBeGreaterThanOrEqual(answer!.firstTokenMs!);
    expect(stored.chatSession.title).toBe('When was the last eruption of Mount Kessel?');
    // The answer's tokens reach the metrics.
    const metrics = await app.metrics.render();
    const output = /chat_model_tokens_total\{model="local\/extractive",direction="output"\} (\d+)/.exec(metrics);
    expect(Number(output?.[1])).toBeGreaterThanOrEqual(answer!.outputTokens!);
  });

  it('keeps producing and saving the answer when the asking client disconnects', async () => {
    const sessionId = await newSession(alice.token);
    const asker = wsClient(url, alice.token);
    const sub = subscribeWs(asker, AskDocument, { sessionId, content: 'How is the crater lake?' });
    await eventually(() => sub.events.some((e) => e.ask.delta), 'a first delta');
    await asker.dispose(); // the socket goes away mid-answer
    const messageId = sub.events[0]!.ask.messageId;
    await eventually(async () => {
      const stored = await app.ok(ChatSessionMessagesDocument, { id: sessionId, first: 1 }, alice.token);
      return stored.chatSession.messages.edges[0]?.node.status === 'COMPLETE';
    }, 'the answer to complete without its client');
    const late = subscribeWs(client(alice.token), MessageStreamDocument, { messageId });
    await late.finished;
    const events = late.events.map((e) => e.messageStream);
    expect(events).toHaveLength(2); // everything at once, then the end
    expect(events[0]!.delta).toContain('turquoise');
    expect(events[1]!.message?.status).toBe('COMPLETE');
  });
});

describe('following, reconnecting and stopping', () => {
  it('a subscriber that reconnects mid-stream receives the full text', async () => {
    const sessionId = await newSession(alice.token);
    const { sendMessage } = await app.ok(SendMessageDocument, { sessionId, content: 'Tell me about Mount Kessel: eruption, seismographs, hiking, crater lake.' }, alice.token);
    expect(sendMessage).toMatchObject({ role: 'ASSISTANT', status: 'STREAMING' });
    const first = subscribeWs(client(alice.token), MessageStreamDocument, { messageId: sendMessage.id });
    await eventually(() => first.events.filter((e) => e.messageStream.delta).length >= 2, 'two deltas');
    await first.stop();
    const second = subscribeWs(client(alice.token), MessageStreamDocument, { messageId: sendMessage.id });
    await second.finished;
    const events = second.events.map((e) => e.messageStream);
    const final = events.at(-1)!.message!;
    expect(final.status).toBe('COMPLETE');
    // Whatever was missed while away arrives as catch-up text: nothing lost, nothing twice.
    expect(text(events)).toBe(final.content);
    expect(final.content).toMatch(/\[1\]/);
  });

  it('stopGeneration keeps what was said and marks it CANCELLED', async () => {
    const sessionId = await newSession(alice.token);
    const { sendMessage } = await app.ok(SendMessageDocument, { sessionId, content: 'Tell me everything about Mount Kessel, the eruption, the seismographs, hiking and the crater lake.' }, alice.token);
    const sub = subscribeWs(client(alice.token), MessageStreamDocument, { messageId: sendMessage.id });
    await eventually(() => sub.events.filter((e) => e.messageStream.delta).length >= 2, 'two deltas');
    const { stopGeneration } = await app.ok(StopGenerationDocument, { messageId: sendMessage.id }, alice.token);
    expect(stopGeneration.status).toBe('CANCELLED');
    await sub.finished;
    const events = sub.events.map((e) => e.messageStream);
    const final = events.at(-1)!.message!;
    expect(final.status).toBe('CANCELLED');
    expect(final.content.length).toBeGreaterThan(0);
    expect(text(events)).toBe(final.content);
    expect(stopGeneration.content).toBe(final.content);
  });

  it('streams over SSE too', async () => {
    const sessionId = await newSession(alice.token);
    const { sendMessage } = await app.ok(SendMessageDocument, { sessionId, content: 'When can visitors hike to the crater rim?' }, alice.token);
    const sub = subscribeSse(url, alice.token, MessageStreamDocument, { messageId: sendMessage.id });
    await sub.finished;
    sub.dispose();
    const events = sub.events.map((e) => e.messageStream);
    expect(events.filter((e) => e.delta).length).toBeGreaterThanOrEqual(3);
    const final = events.at(-1)!.message!;
    expect(final.status).toBe('COMPLETE');
    expect(final.content).toMatch(/June and September/);
    expect(final.citations[0]?.document?.title).toBe('Kessel guide');
  });
});

describe('tenancy and privacy', () => {
  it('search and citations never cross tenants, even for near-identical documents', async () => {
    for (const [tenant, title, year] of [
      [acme, 'Kessel guide', '1913'],
      [globex, 'Kessel guide (Globex)', '1911'],
    ] as const) {
      const { search } = await app.ok(SearchDocument, { query: 'last eruption of Mount Kessel', first: 10 }, tenant.admin.token);
      expect(search.length).toBeGreaterThan(0);
      expect(new Set(search.map((r) => r.document.title))).toEqual(new Set([title]));
      expect(search.map((r) => r.text).join(' ')).toContain(year);
      expect(search[0]!.score).toBeGreaterThanOrEqual(search.at(-1)!.score);
    }
  });

  it('keeps sessions private to their user', async () => {
    const sessionId = await newSession(alice.token);
    await app.ok(RenameChatSessionDocument, { id: sessionId, title: 'Mine' }, alice.token);
    const other = await addMember(app, acme, 'ADMIN');
    for (const result of [
      await app.run(ChatSessionMessagesDocument, { id: sessionId, first: 1 }, other.token),
      await app.run(SendMessageDocument, { sessionId, content: 'hi' }, other.token),
      await app.run(DeleteChatSessionDocument, { id: sessionId }, other.token),
    ]) {
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
    }
    const theirs = await app.ok(ChatSessionsDocument, { first: 50 }, other.token);
    expect(theirs.chatSessions.edges).toEqual([]);
    const mine = await app.ok(ChatSessionsDocument, { first: 50 }, alice.token);
    expect(mine.chatSessions.edges.map((e) => e.node.title)).toContain('Mine');
    expect((await app.ok(DeleteChatSessionDocument, { id: sessionId }, alice.token)).deleteChatSession).toBe(sessionId);
  });

  it('records one of two questions sent to a session at once, and refuses the other', async () => {
    const sessionId = await newSession(alice.token);
    const question = 'When was the last eruption of Mount Kessel?';
    const results = await Promise.all([1, 2].map(() => app.run(SendMessageDocument, { sessionId, content: question }, alice.token)));
    const accepted = results.filter((r) => r.data?.sendMessage).map((r) => r.data!.sendMessage);
    const refused = results.filter((r) => r.errors);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ role: 'ASSISTANT', status: 'STREAMING', content: '' });
    expect(refused.map((r) => r.errors![0]!.extensions)).toEqual([{ code: 'FAILED_PRECONDITION', messageId: accepted[0]!.id }]);
    // The session holds the question then its answer, and is titled after the first question.
    await eventually(async () => {
      const s = await app.ok(ChatSessionMessagesDocument, { id: sessionId, first: 10 }, alice.token);
      return s.chatSession.messages.edges[0]?.node.status === 'COMPLETE';
    }, 'answer');
    const { chatSession } = await app.ok(ChatSessionMessagesDocument, { id: sessionId, first: 10 }, alice.token);
    expect(chatSession.title).toBe(question);
    expect(chatSession.messages.edges.map((e) => [e.node.role, e.node.status])).toEqual([
      ['ASSISTANT', 'COMPLETE'],
      ['USER', 'COMPLETE'],
    ]);
    expect(chatSession.messages.edges[1]!.node.content).toBe(question);
    expect(chatSession.messages.edges[0]!.node.content).toContain('1913');
  });

  it('rejects an empty question with BAD_USER_INPUT', async () => {
    const sessionId = await newSession(alice.token);
    const result = await app.run(SendMessageDocument, { sessionId, content: '   ' }, alice.token);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('no N+1', () => {
  it('reads a session with many cited messages in a constant number of statements', async () => {
    const counter = countStatements(app.db.pool);
    // The fewest of three reads, in case a background job's statement slipped into one of them.
    const countReads = async (sessionId: string) => {
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        counts.push(await counter.count(() => app.ok(ChatSessionMessagesDocument, { id: sessionId, first: 50 }, alice.token)));
      }
      return Math.min(...counts);
    };
    const ask = async (sessionId: string) => {
      const { sendMessage } = await app.ok(SendMessageDocument, { sessionId, content: 'When was the last eruption?' }, alice.token);
      await eventually(async () => {
        const s = await app.ok(ChatSessionMessagesDocument, { id: sessionId, first: 1 }, alice.token);
        return s.chatSession.messages.edges[0]?.node.id === sendMessage.id && s.chatSession.messages.edges[0].node.status === 'COMPLETE';
      }, 'answer');
    };
    const small = await newSession(alice.token);
    await ask(small);
    const large = await newSession(alice.token);
    for (let i = 0; i < 4; i++) await ask(large);
    const few = await countReads(small);
    const many = await countReads(large);
    expect(few).toBeGreaterThan(0);
    expect(many).toBe(few);
  }, 60_000);
});
