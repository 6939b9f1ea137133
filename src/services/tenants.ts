// The caller's own tenant.
import { z } from 'zod';
import type { TenantDb } from '../db/tenant-scope.ts';
import type { Tenant } from '../db/generated/client.ts';
import { parseInput, tenantNameSchema } from './validation.ts';
import type { Viewer } from './viewer.ts';

const RenameInput = z.object({ name: tenantNameSchema });

export function createTenantService(db: TenantDb, viewer: Viewer) {
  return {
    current: (): Promise<Tenant> => db.tenant.findUniqueOrThrow({ where: { id: viewer.tenantId } }),

    async rename(input: z.input<typeof RenameInput>): Promise<Tenant> {
      const { name } = parseInput(RenameInput, input);
      return db.tenant.update({ where: { id: viewer.tenantId }, data: { name } });
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
