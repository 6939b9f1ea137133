// Tenant isolation, in one place. Services never write `where: { tenantId }` themselves:
// they receive a client from `forTenant()`, which adds the caller's tenant to every query
// on a tenant-owned model (filters on reads, updates and deletes; the value on creates).
// A row of another tenant therefore behaves exactly like a row that does not exist.
// Postgres row-level security is the second wall, underneath this one.
import type { PrismaClient } from './generated/client.ts';

/** Models that carry a `tenantId` column. tests/tenant-scope.test.ts checks this list against schema.prisma. */
export const TENANT_MODELS: ReadonlySet<string> = new Set([
  'User',
  'Invitation',
  'Document',
  'DocumentFile',
  'Chunk',
  'ChatSession',
  'ChatMessage',
  'Citation',
  'UsageDaily',
  'AuditEvent',
]);

const FILTERED = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
]);
const CREATES = new Set(['create', 'createMany', 'createManyAndReturn']);

type Args = Record<string, unknown> & { where?: object; data?: unknown; create?: object };

export function forTenant(prisma: PrismaClient, tenantId: string) {
  return prisma.$extends({
    name: 'tenant-scope',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const a = (args ?? {}) as Args;
          if (model === 'Tenant') {
            // The tenant itself: only the caller's own row is visible or writable.
            if (FILTERED.has(operation)) a.where = { ...a.where, id: tenantId };
            else if (CREATES.has(operation) || operation === 'upsert')
              throw new Error('tenants are created outside a tenant scope');
            return query(a);
          }
          if (!TENANT_MODELS.has(model)) return query(a);
          if (FILTERED.has(operation)) {
            // Unique filters accept extra non-unique conditions (extendedWhereUnique), so
            // spreading the tenant into `where` works for findUnique/update/delete as well.
            a.where = { ...a.where, tenantId };
          } else if (CREATES.has(operation)) {
            a.data = Array.isArray(a.data)
              ? a.data.map((row: object) => ({ ...row, tenantId }))
              : { ...(a.data as object), tenantId };
          } else if (operation === 'upsert') {
            a.where = { ...a.where, tenantId };
            a.create = { ...a.create, tenantId };
          } else {
            throw new Error(`tenant scope does not know how to guard ${model}.${operation}`);
          }
          return query(a);
        },
      },
    },
  });
}

export type TenantDb = ReturnType<typeof forTenant>;
