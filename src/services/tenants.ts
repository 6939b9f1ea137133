// The caller's own tenant.
import { z } from 'zod';
import type { TenantDb } from '../db/tenant-scope.ts';
import type { Tenant } from '../db/generated/client.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { parseInput, tenantNameSchema } from './validation.ts';
import type { Viewer } from './viewer.ts';

const RenameInput = z.object({ name: tenantNameSchema });

const SettingsInput = z
  .object({
    systemPrompt: z.string().trim().max(4000).nullish(),
    retrievalK: z.number().int().min(1).max(200).optional(),
    retrievalN: z.number().int().min(1).max(20).optional(),
    retrievalMinScore: z.number().min(0).max(1).nullish(),
  })
  .strict();

export function createTenantService(db: TenantDb, viewer: Viewer, current?: Tenant, changed: () => void = () => {}) {
  return {
    current: (): Promise<Tenant> => (current ? Promise.resolve(current) : db.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } })),

    async rename(input: z.input<typeof RenameInput>): Promise<Tenant> {
      const { name } = parseInput(RenameInput, input);
      const tenant = await db.tenant.update({ where: { id: viewer.tenantId }, data: { name } });
      changed();
      return tenant;
    },

    /** Chat settings; omitted fields keep their value, null resets to the default. */
    async updateSettings(input: z.input<typeof SettingsInput>): Promise<Tenant> {
      const data = parseInput(SettingsInput, input);
      const updated = await db.$transaction(async (tx) => {
        const current = await tx.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } });
        const k = data.retrievalK ?? current.retrievalK;
        const n = data.retrievalN ?? current.retrievalN;
        if (n > k) {
          throw new AppError(ErrorCode.BAD_USER_INPUT, 'retrievalN must not exceed retrievalK', { field: 'retrievalN' });
        }
        return tx.tenant.update({
          where: { id: viewer.tenantId },
          data: {
            retrievalK: k,
            retrievalN: n,
            ...(data.systemPrompt !== undefined ? { systemPrompt: data.systemPrompt || null } : {}),
            ...(data.retrievalMinScore !== undefined ? { retrievalMinScore: data.retrievalMinScore } : {}),
          },
        });
      });
      changed();
      return updated;
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
