// The caller's own tenant: its name and the settings of how its questions are answered
// (instructions, retrieval, chat and embedding models, full-text language).
import { z } from 'zod';
import type { TenantDb } from '../db/tenant-scope.ts';
import type { Tenant } from '../db/generated/client.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { enqueueFtsRewrite, enqueueTenantReingestion } from '../ingest/queue.ts';
import { effectiveChoices, type Models } from '../providers/registry.ts';
import { recordAudit } from './audit.ts';
import { parseInput, tenantNameSchema } from './validation.ts';
import type { Viewer } from './viewer.ts';

const RenameInput = z.object({ name: tenantNameSchema });

/** PostgreSQL identifiers as text-search configurations are named (checked again in pg_ts_config). */
const FTS_CONFIG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const SettingsInput = z
  .object({
    systemPrompt: z.string().trim().max(4000).nullish(),
    retrievalK: z.number().int().min(1).max(200).optional(),
    retrievalN: z.number().int().min(1).max(20).optional(),
    retrievalMinScore: z.number().min(0).max(1).nullish(),
    chatModel: z.string().trim().min(1).max(100).nullish(),
    embeddingModel: z.string().trim().min(1).max(100).nullish(),
    fullTextLanguage: z
      .string()
      .trim()
      .toLowerCase()
      .regex(FTS_CONFIG_NAME, 'must be the name of a PostgreSQL text-search configuration')
      .nullish(),
  })
  .strict();

export interface TenantServiceDeps {
  models: Models;
  /** FTS_CONFIG: the full-text language of tenants that chose none. */
  defaultFtsConfig: string;
  jobMaxAttempts: number;
}

export function createTenantService(
  db: TenantDb,
  viewer: Viewer,
  deps: TenantServiceDeps,
  current?: Tenant,
  changed: () => void = () => {},
) {
  const { models } = deps;

  /** BAD_USER_INPUT naming the field when a model cannot run on this deployment. */
  function assertModel(field: 'chatModel' | 'embeddingModel', name: string | null | undefined) {
    if (!name) return;
    const registry = field === 'chatModel' ? models.chatModels : models.embedders;
    const problem = registry.check(name);
    if (!problem) return;
    const message =
      problem === 'GEMINI_NOT_CONFIGURED'
        ? `${field} "${name}" is a Gemini model and this server has no GEMINI_API_KEY`
        : `${field} "${name}" is not available; choose one of: ${registry.available().join(', ')}`;
    throw new AppError(ErrorCode.BAD_USER_INPUT, message, { field, reason: problem });
  }

  return {
    current: (): Promise<Tenant> => (current ? Promise.resolve(current) : db.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } })),

    /** The models and full-text language in effect (the tenant's choice or the default). */
    effective: (tenant: Tenant) => effectiveChoices(tenant, models, deps.defaultFtsConfig),

    availableChatModels: () => models.chatModels.available(),
    availableEmbeddingModels: () => models.embedders.available(),

    async rename(input: z.input<typeof RenameInput>): Promise<Tenant> {
      const { name } = parseInput(RenameInput, input);
      const tenant = await db.$transaction(async (tx) => {
        const before = await tx.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } });
        const renamed = await tx.tenant.update({ where: { id: viewer.tenantId }, data: { name } });
        await recordAudit(tx, {
          tenantId: viewer.tenantId,
          actorId: viewer.userId,
          action: 'SETTINGS_CHANGED',
          target: { type: 'Tenant', id: viewer.tenantId },
          metadata: { changes: { name: { from: before.name, to: name } } },
        });
        return renamed;
      });
      changed();
      return tenant;
    },

    /**
     * Settings; omitted fields keep their value, null resets to the default. A new effective
     * embedding model re-embeds every document (jobs); a new full-text language rewrites the
     * chunks' tsv (one job). Both are enqueued in this transaction.
     */
    async updateSettings(input: z.input<typeof SettingsInput>): Promise<Tenant> {
      const data = parseInput(SettingsInput, input);
      assertModel('chatModel', data.chatModel);
      assertModel('embeddingModel', data.embeddingModel);
      if (data.fullTextLanguage) {
        const [found] = await db.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_ts_config WHERE cfgname = ${data.fullTextLanguage} AND pg_ts_config_is_visible(oid)`;
        if (!found?.n) {
          throw new AppError(ErrorCode.BAD_USER_INPUT, `fullTextLanguage "${data.fullTextLanguage}" is not a text-search configuration of this database`, {
            field: 'fullTextLanguage',
          });
        }
      }
      const touchesIndex = data.embeddingModel !== undefined || data.fullTextLanguage !== undefined;

      const updated = await db.$transaction(
        async (tx) => {
          // FOR UPDATE when the index may change: it waits for ingestion transactions writing
          // chunks (they hold KEY SHARE on this row and read the tenant's model and language
          // under it), so each of those either finished before — and its chunks are re-done by
          // the jobs enqueued below — or starts after and already uses the new values.
          if (touchesIndex) await tx.$executeRaw`SELECT 1 FROM tenants WHERE id = ${viewer.tenantId}::uuid FOR UPDATE`;
          const before = await tx.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } });
          const k = data.retrievalK ?? before.retrievalK;
          const n = data.retrievalN ?? before.retrievalN;
          if (n > k) {
            throw new AppError(ErrorCode.BAD_USER_INPUT, 'retrievalN must not exceed retrievalK', { field: 'retrievalN' });
          }
          const after = await tx.tenant.update({
            where: { id: viewer.tenantId },
            data: {
              retrievalK: k,
              retrievalN: n,
              ...(data.systemPrompt !== undefined ? { systemPrompt: data.systemPrompt || null } : {}),
              ...(data.retrievalMinScore !== undefined ? { retrievalMinScore: data.retrievalMinScore } : {}),
              ...(data.chatModel !== undefined ? { chatModel: data.chatModel } : {}),
              ...(data.embeddingModel !== undefined ? { embeddingModel: data.embeddingModel } : {}),
              ...(data.fullTextLanguage !== undefined ? { ftsConfig: data.fullTextLanguage } : {}),
            },
          });
          const was = effectiveChoices(before, models, deps.defaultFtsConfig);
          const now = effectiveChoices(after, models, deps.defaultFtsConfig);
          if (was.embeddingModel !== now.embeddingModel) {
            await tx.document.updateMany({ data: { status: 'QUEUED', errorCode: null, errorMessage: null } });
            await enqueueTenantReingestion(tx, deps.jobMaxAttempts);
          }
          if (was.ftsConfig !== now.ftsConfig) await enqueueFtsRewrite(tx, deps.jobMaxAttempts);

          const changes: Record<string, unknown> = {};
          for (const key of ['retrievalK', 'retrievalN', 'retrievalMinScore'] as const) {
            if (before[key] !== after[key]) changes[key] = { from: before[key], to: after[key] };
          }
          // The prompt can be long: its size says that it changed.
          if (before.systemPrompt !== after.systemPrompt) {
            changes.systemPrompt = { fromLength: before.systemPrompt?.length ?? 0, toLength: after.systemPrompt?.length ?? 0 };
          }
          for (const key of ['chatModel', 'embeddingModel', 'ftsConfig'] as const) {
            if (was[key] !== now[key]) changes[key === 'ftsConfig' ? 'fullTextLanguage' : key] = { from: was[key], to: now[key] };
          }
          if (Object.keys(changes).length > 0) {
            await recordAudit(tx, {
              tenantId: viewer.tenantId,
              actorId: viewer.userId,
              action: 'SETTINGS_CHANGED',
              target: { type: 'Tenant', id: viewer.tenantId },
              metadata: { changes },
            });
          }
          return after;
        },
        // The row lock may wait for an ingestion write in progress (seconds, bounded).
        touchesIndex ? { timeout: 120_000, maxWait: 120_000 } : undefined,
      );
      changed();
      return updated;
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
