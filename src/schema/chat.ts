// Chat: sessions, messages with citations, asking with a streamed answer, stopping, and
// the `search` query over the tenant's chunks.
import type { Context } from '../context.ts';
import type { ChatMessage as MessageRow, ChatSession as SessionRow, Citation as CitationRow } from '../db/generated/client.ts';
import { MessageRole as RoleValues, MessageStatus as StatusValues } from '../db/generated/enums.ts';
import type { ScoredChunk } from '../retrieval/search.ts';
import type { StreamEvent } from '../services/chat.ts';
import { builder } from './builder.ts';
import { Chunk, Document } from './documents.ts';
import { paginate } from './pagination.ts';

const MessageRole = builder.enumType('MessageRole', { values: Object.values(RoleValues) });
const MessageStatus = builder.enumType('MessageStatus', {
  description: 'An answer is STREAMING until it is COMPLETE, FAILED or CANCELLED (stopped; the text so far is kept).',
  values: Object.values(StatusValues),
});

const Citation = builder.objectRef<CitationRow>('Citation').implement({
  description: 'A numbered source of an answer: [rank] in the text.',
  fields: (t) => ({
    rank: t.exposeInt('rank'),
    score: t.exposeFloat('score', { description: 'Fused retrieval score.' }),
    pageNumber: t.exposeInt('pageNumber'),
    snippet: t.exposeString('snippet', { description: 'The cited text (kept even if the chunk is later re-indexed away).' }),
    chunk: t.loadable({
      type: Chunk,
      nullable: true,
      load: async (ids: string[], context: Context) => {
        const rows = (await context.tenant?.documents.chunksByIds(ids)) ?? [];
        return ids.map((id) => rows.find((row) => row.id === id) ?? null);
      },
      resolve: (citation) => citation.chunkId,
    }),
    document: t.field({ type: Document, nullable: true, resolve: (citation) => citation.documentId }),
  }),
});

export const ChatMessage = builder.loadableNode('ChatMessage', {
  id: { resolve: (message) => message.id },
  load: async (ids: string[], context: Context): Promise<MessageRow[]> => context.tenant?.chat.messagesByIds(ids) ?? [],
  sort: (message) => message.id,
  authScopes: { member: true },
  fields: (t) => ({
    role: t.expose('role', { type: MessageRole }),
    status: t.expose('status', { type: MessageStatus }),
    content: t.exposeString('content', { description: 'The text; while STREAMING, what has been saved so far.' }),
    model: t.exposeString('model', { nullable: true }),
    inputTokens: t.exposeInt('inputTokens', { nullable: true }),
    outputTokens: t.exposeInt('outputTokens', { nullable: true }),
    firstTokenMs: t.exposeInt('firstTokenMs', { nullable: true, description: 'From the question to the first streamed text.' }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true, description: 'From the question to the end of the answer.' }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    // One query for the citations of every message on the page.
    citations: t.loadableList({
      type: Citation,
      load: async (messageIds: string[], context: Context) => {
        const rows = (await context.tenant?.chat.citationsOf(messageIds)) ?? [];
        return messageIds.map((id) => rows.filter((row) => row.messageId === id));
      },
      resolve: (message) => message.id,
    }),
  }),
});

export const ChatSession = builder.loadableNode('ChatSession', {
  id: { resolve: (session) => session.id },
  load: async (ids: string[], context: Context): Promise<SessionRow[]> => context.tenant?.chat.sessionsByIds(ids) ?? [],
  sort: (session) => session.id,
  authScopes: { member: true },
  fields: (t) => ({
    title: t.exposeString('title'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    messages: t.withAuth({ member: true }).connection(
      {
        type: ChatMessage,
        description: 'Messages, newest first.',
        resolve: (session, page, { tenant }) => paginate(page, (window) => tenant.chat.listMessages(session.id, window)),
      },
      { name: 'ChatMessageConnection' },
      { name: 'ChatMessageEdge' },
    ),
  }),
});

const MessageStreamEvent = builder.objectRef<StreamEvent & { messageId: string }>('MessageStreamEvent').implement({
  description:
    'One step of a streamed answer: text to append (`delta`), or — last — the finished message with its status, citations and usage.',
  fields: (t) => ({
    messageId: t.field({ type: 'ID', resolve: (event) => Buffer.from(`ChatMessage:${event.messageId}`).toString('base64') }),
    delta: t.exposeString('delta', { nullable: true }),
    done: t.boolean({ resolve: (event) => event.message !== null }),
    message: t.field({ type: ChatMessage, nullable: true, resolve: (event) => event.message }),
  }),
});

const SearchResult = builder.objectRef<ScoredChunk>('SearchResult').implement({
  fields: (t) => ({
    score: t.exposeFloat('score', { description: 'Reciprocal-rank fusion of the vector and full-text ranks.' }),
    vectorRank: t.exposeInt('vectorRank', { nullable: true }),
    textRank: t.exposeInt('textRank', { nullable: true }),
    vectorSimilarity: t.exposeFloat('vectorSimilarity', { nullable: true }),
    pageNumber: t.exposeInt('pageNumber'),
    text: t.exposeString('text'),
    chunk: t.field({
      type: Chunk,
      resolve: async (result, _args, { tenant }) => (await tenant!.documents.chunksByIds([result.chunkId]))[0]!,
    }),
    document: t.field({ type: Document, resolve: (result) => result.documentId }),
  }),
});

async function* withMessageId(messageId: string, events: AsyncIterable<StreamEvent>) {
  for await (const event of events) yield { ...event, messageId };
}

builder.queryFields((t) => ({
  chatSessions: t.withAuth({ member: true }).connection(
    {
      type: ChatSession,
      description: 'The caller’s chat sessions, newest first.',
      resolve: (_root, page, { tenant }) => paginate(page, (window) => tenant.chat.listSessions(window)),
    },
    { name: 'ChatSessionConnection' },
    { name: 'ChatSessionEdge' },
  ),
  chatSession: t.withAuth({ member: true }).field({
    type: ChatSession,
    args: { id: t.arg.globalID({ for: ChatSession }) },
    resolve: (_root, { id }, { tenant }) => tenant.chat.getSession(id.id),
  }),
  search: t.withAuth({ member: true }).field({
    type: [SearchResult],
    description: 'Hybrid (vector + full-text) search over the tenant’s documents, best first.',
    args: { query: t.arg.string(), first: t.arg.int({ defaultValue: 5 }) },
    resolve: (_root, { query, first }, { tenant }) => tenant.search.search(query, first ?? 5),
  }),
}));

builder.mutationFields((t) => ({
  createChatSession: t.withAuth({ member: true }).field({
    type: ChatSession,
    args: { title: t.arg.string({ required: false, description: 'Defaults to the first question.' }) },
    resolve: (_root, { title }, { tenant }) => tenant.chat.createSession(title),
  }),
  renameChatSession: t.withAuth({ member: true }).field({
    type: ChatSession,
    args: { id: t.arg.globalID({ for: ChatSession }), title: t.arg.string() },
    resolve: (_root, { id, title }, { tenant }) => tenant.chat.renameSession(id.id, title),
  }),
  deleteChatSession: t.withAuth({ member: true }).field({
    type: 'ID',
    description: 'Deletes the session and its messages; returns its id.',
    args: { id: t.arg.globalID({ for: ChatSession }) },
    resolve: async (_root, { id }, { tenant }) => {
      await tenant.chat.deleteSession(id.id);
      return Buffer.from(`ChatSession:${id.id}`).toString('base64');
    },
  }),
  sendMessage: t.withAuth({ member: true }).field({
    type: ChatMessage,
    description: 'Asks a question. Returns the pending answer (STREAMING) at once: follow it with messageStream.',
    args: { sessionId: t.arg.globalID({ for: ChatSession }), content: t.arg.string() },
    resolve: (_root, { sessionId, content }, { tenant }) => tenant.chat.send(sessionId.id, content),
  }),
  stopGeneration: t.withAuth({ member: true }).field({
    type: ChatMessage,
    description: 'Stops a streaming answer; the text produced so far is kept (CANCELLED).',
    args: { messageId: t.arg.globalID({ for: ChatMessage }) },
    resolve: (_root, { messageId }, { tenant }) => tenant.chat.stop(messageId.id),
  }),
}));

builder.subscriptionFields((t) => ({
  messageStream: t.withAuth({ member: true }).field({
    type: MessageStreamEvent,
    description:
      'Follows an answer: the text already produced, then live deltas, then the finished message. Joining late or after the end works too.',
    args: { messageId: t.arg.globalID({ for: ChatMessage }) },
    subscribe: (_root, { messageId }, { tenant }) => withMessageId(messageId.id, tenant.chat.stream(messageId.id)),
    resolve: (event) => event,
  }),
  ask: t.withAuth({ member: true }).field({
    type: MessageStreamEvent,
    description: 'sendMessage and messageStream in one call, for simple clients.',
    args: { sessionId: t.arg.globalID({ for: ChatSession }), content: t.arg.string() },
    subscribe: (_root, { sessionId, content }, { tenant }) => tenant.chat.ask(sessionId.id, content),
    resolve: (event) => event,
  }),
}));
