// Produces assistant answers. A generation belongs to the process that started it, runs
// independently of any client connection (the asker may disconnect), streams its deltas
// through pub/sub — so subscribers on any instance receive them — and persists the text
// as it grows, so a late or reconnecting subscriber can catch up from the database.
import type pg from 'pg';
import type { PrismaClient, TenantPrismaClient } from '../db/index.ts';
import { forTenant, type TenantDb } from '../db/tenant-scope.ts';
import type { Logger } from '../logger.ts';
import type { ChatModel, ChatTurn, Source } from '../providers/chat-model.ts';
import { ChatModelError } from '../providers/chat-model.ts';
import { ModelUnavailableError, type Models } from '../providers/registry.ts';
import type { MessageStreamPayload, PubSub } from '../pubsub.ts';
import { searchQuestion, type RetrievalParams, type ScoredChunk } from '../retrieval/search.ts';
import { addUsage } from '../services/usage.ts';

export interface GenerationDeps {
  /** Cross-tenant: only the sweep of orphaned answers. */
  prisma: PrismaClient;
  tenantPrisma: TenantPrismaClient;
  pool: pg.Pool;
  pubsub: PubSub;
  /** Chat models and embedders by name: each answer uses its tenant's. */
  models: Models;
  logger: Logger;
  /** Told of every finished answer (metrics: model tokens). */
  onAnswerFinished?: (answer: { model: string; status: string; inputTokens: number; outputTokens: number }) => void;
}

/** What retrieval for one question needs: the tenant's embedding model, language and settings. */
export interface RetrievalRequest {
  tenantId: string;
  question: string;
  /** The tenant's choices (src/providers/registry.ts effectiveChoices). */
  embeddingModel: string;
  ftsConfig: string;
  retrieval: RetrievalParams;
}

export interface GenerationJob {
  tenantId: string;
  /** The asker, whose usage counts the answer's tokens. */
  userId: string;
  messageId: string;
  question: string;
  history: ChatTurn[];
  /** The sources, from `retrieve` (started before the answer was recorded; a failure fails the answer). */
  sources: Promise<ScoredChunk[]>;
  /** The tenant's extra instructions. */
  systemPrompt: string | null;
  /** The tenant's chat model (src/providers/registry.ts effectiveChoices). */
  chatModel: string;
  /** When the request arrived, for first-token and total latency. */
  requestedAt: number;
}

/** How often the growing answer is saved while it streams. */
const PERSIST_EVERY_MS = 250;
/** A STREAMING message untouched this long has lost its generation (its process died). */
const ORPHAN_AFTER_MS = 120_000;

export function createGenerationRunner(deps: GenerationDeps) {
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const log = deps.logger.child({ component: 'generation' });

  // A stop may be asked on any instance; the one running the generation acts on it.
  const control = deps.pubsub.subscribe('generationControl');
  const controlLoop = (async () => {
    for await (const request of control) {
      if (request.action === 'stop') running.get(request.messageId)?.controller.abort();
    }
  })();

  async function generate(job: GenerationJob, signal: AbortSignal): Promise<void> {
    const db = forTenant(deps.tenantPrisma, job.tenantId);
    const publish = (payload: MessageStreamPayload) => deps.pubsub.publish('messageStream', job.messageId, payload);
    let content = '';
    let firstTokenAt: number | null = null;
    let usage = { inputTokens: 0, outputTokens: 0 };
    let sources: ScoredChunk[] = [];
    let chatModel: ChatModel | undefined;

    // Saves the text so far, one write at a time, at most every PERSIST_EVERY_MS.
    let saving: Promise<unknown> = Promise.resolve();
    let savedAt = 0;
    const save = (force = false) => {
      if (!force && Date.now() - savedAt < PERSIST_EVERY_MS) return;
      savedAt = Date.now();
      const snapshot = content;
      saving = saving.then(() =>
        db.chatMessage.updateMany({ where: { id: job.messageId, status: 'STREAMING' }, data: { content: snapshot } }),
      );
    };

    try {
      chatModel = deps.models.chatModels.get(job.chatModel);
      sources = await job.sources;
      signal.throwIfAborted();
      const numbered: Source[] = sources.map((chunk, i) => ({
        n: i + 1,
        title: chunk.documentTitle,
        pageNumber: chunk.pageNumber,
        text: chunk.text,
      }));
      const request = {
        question: job.question,
        sources: numbered,
        history: job.history,
        systemPrompt: job.systemPrompt ?? undefined,
        signal,
      };
      for await (const event of chatModel.stream(request)) {
        if (event.type === 'usage') {
          usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
          continue;
        }
        if (!event.text) continue;
        firstTokenAt ??= Date.now();
        publish({ kind: 'delta', offset: content.length, text: event.text });
        content += event.text;
        save();
      }
      signal.throwIfAborted();
      await finish(db, job, 'COMPLETE', { content, usage, firstTokenAt, sources });
    } catch (error) {
      if (signal.aborted) {
        await finish(db, job, 'CANCELLED', { content, usage, firstTokenAt, sources });
      } else {
        const code =
          error instanceof ChatModelError ? error.code : error instanceof ModelUnavailableError ? 'MODEL_UNAVAILABLE' : 'GENERATION_FAILED';
        log.error({ err: error, messageId: job.messageId, code }, 'generation failed');
        await finish(db, job, 'FAILED', {
          content,
          usage,
          firstTokenAt,
          sources,
          error: { code, message: error instanceof Error ? error.message : String(error) },
        });
      }
    } finally {
      await saving.catch(() => {});
    }

    async function finish(
      db: TenantDb,
      job: GenerationJob,
      status: 'COMPLETE' | 'FAILED' | 'CANCELLED',
      result: {
        content: string;
        usage: { inputTokens: number; outputTokens: number };
        firstTokenAt: number | null;
        sources: ScoredChunk[];
        error?: { code: string; message: string };
      },
    ) {
      await saving.catch(() => {});
      const cited = citedSources(result.content, result.sources);
      await db.$transaction(async (tx) => {
        // updateMany: the message may be gone (its session, member or tenant was deleted meanwhile).
        const { count } = await tx.chatMessage.updateMany({
          where: { id: job.messageId },
          data: {
            status,
            content: result.content,
            model: chatModel?.model ?? job.chatModel,
            inputTokens: result.usage.inputTokens,
            outputTokens: result.usage.outputTokens,
            firstTokenMs: result.firstTokenAt ? result.firstTokenAt - job.requestedAt : null,
            latencyMs: Date.now() - job.requestedAt,
            errorCode: result.error?.code ?? null,
            errorMessage: result.error?.message ?? null,
            completedAt: new Date(),
          },
        });
        if (count && cited.length) {
          await tx.citation.createMany({
            data: cited.map(({ rank, chunk }) => ({
              tenantId: job.tenantId,
              messageId: job.messageId,
              rank,
              score: chunk.score,
              chunkId: chunk.chunkId,
              documentId: chunk.documentId,
              pageNumber: chunk.pageNumber,
              snippet: chunk.text.slice(0, 300),
            })),
          });
        }
        // The asker's token usage of the day, counted with the answer that used the tokens.
        if (result.usage.inputTokens > 0 || result.usage.outputTokens > 0) {
          await addUsage(tx, job.tenantId, job.userId, result.usage);
        }
      });
      deps.onAnswerFinished?.({ model: chatModel?.model ?? job.chatModel, status, ...result.usage });
      publish({ kind: 'done', status });
    }
  }

  /** Marks answers whose generating process died as FAILED, so no client waits forever (all tenants: a sweep). */
  async function failOrphans(): Promise<number> {
    const { count } = await deps.prisma.chatMessage.updateMany({
      where: { status: 'STREAMING', updatedAt: { lt: new Date(Date.now() - ORPHAN_AFTER_MS) }, id: { notIn: [...running.keys()] } },
      data: { status: 'FAILED', errorCode: 'INTERRUPTED', errorMessage: 'The answer was interrupted', completedAt: new Date() },
    });
    if (count) log.warn({ count }, 'marked interrupted answers as FAILED');
    return count;
  }
  const orphanTimer = setInterval(() => void failOrphans().catch((e: unknown) => log.error({ err: e }, 'orphan sweep failed')), 60_000);
  orphanTimer.unref();

  return {
    /** The question's sources in the tenant: its embedding, then hybrid search. */
    async retrieve(request: RetrievalRequest): Promise<ScoredChunk[]> {
      const embedder = deps.models.embedders.get(request.embeddingModel);
      return searchQuestion(deps.pool, { tenantId: request.tenantId, text: request.question, ftsConfig: request.ftsConfig, embedder }, request.retrieval);
    },

    /** Starts a generation in the background; it is tracked and awaited on close. */
    start(job: GenerationJob): void {
      const controller = new AbortController();
      const done = generate(job, controller.signal)
        .catch((error: unknown) => log.error({ err: error, messageId: job.messageId }, 'generation crashed'))
        .finally(() => running.delete(job.messageId));
      running.set(job.messageId, { controller, done });
    },

    /** Asks every instance to stop this generation (only the one running it acts). */
    requestStop(messageId: string): void {
      deps.pubsub.publish('generationControl', { messageId, action: 'stop' });
    },

    failOrphans,

    /** Stops all local generations (their text so far is kept, as CANCELLED) and waits for them. */
    async close(): Promise<void> {
      clearInterval(orphanTimer);
      for (const { controller } of running.values()) controller.abort();
      await Promise.all([...running.values()].map((r) => r.done));
      await control.return();
      await controlLoop;
    },
  };
}

export type GenerationRunner = ReturnType<typeof createGenerationRunner>;

/** The sources the answer refers to with [n] markers, with their rank n. */
function citedSources(content: string, sources: ScoredChunk[]): { rank: number; chunk: ScoredChunk }[] {
  const referenced = new Set([...content.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])));
  return sources.map((chunk, i) => ({ rank: i + 1, chunk })).filter(({ rank }) => referenced.has(rank));
}
