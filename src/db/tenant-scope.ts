// Tenant isolation, in one place. Services never write `where: { tenantId }` themselves:
// they receive a client from `forTenant()`, which adds the caller's tenant to every query
// on a tenant-owned model (filters on reads, updates and deletes; the value on creates).
// A row of another tenant therefore behaves exactly like a row that does not exist.
//
// Postgres row-level security is the second wall, underneath this one: the client is built on
// the tenant Prisma client (Database.tenantPrisma), whose every statement runs in a transaction
// that entered this tenant (src/db/tenant-pool.ts). A query that forgot its filter — a raw
// `$queryRaw` here, say — still sees only this tenant's rows.
import type { PrismaClient } from './generated/client.ts';
import { tenantScope } from './tenant-session.ts';

declare const tenantClient: unique symbol;
/** The Prisma client on the tenant pool: usable only through forTenant(). */
export type TenantPrismaClient = PrismaClient & { readonly [tenantClient]: true };

/** Models that carry a `tenantId` column. tests/tenant-isolation.test.ts checks this list against schema.prisma. */
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
  // Written only by triggers on chunks and read in SQL by search; scoped like the rest.
  'FulltextLexeme',
  'FulltextTotals',
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
/** findUnique outside a transaction is batched by Prisma with other callers' (see below). */
const UNBATCHED = { findUnique: 'findFirst', findUniqueOrThrow: 'findFirstOrThrow' } as const;

type Args = Record<string, unknown> & { where?: Record<string, unknown>; data?: unknown; create?: object };
type Delegate = Record<string, (args: unknown) => Promise<unknown>>;

function scopeArgs(model: string, operation: string, args: unknown, tenantId: string): Args {
  const a = (args ?? {}) as Args;
  if (model === 'Tenant') {
    // The tenant itself: only the caller's own row is visible or writable.
    if (FILTERED.has(operation)) a.where = { ...a.where, id: tenantId };
    else if (CREATES.has(operation) || operation === 'upsert') throw new Error('tenants are created outside a tenant scope');
    return a;
  }
  if (!TENANT_MODELS.has(model)) return a;
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
  return a;
}

/** `{ tenantId_email: { tenantId, email } }` → `{ tenantId, email }`: findFirst takes no compound keys. */
function flattenCompoundKeys(where: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!where) return where;
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(where)) {
    const compound = key.includes('_') && value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
    if (compound) Object.assign(flat, value);
    else flat[key] = value;
  }
  return flat;
}

export function forTenant(prisma: TenantPrismaClient, tenantId: string) {
  const outside = { tenantId, inTransaction: false };
  const filtered = prisma.$extends({
    name: 'tenant-scope',
    query: {
      // Top level, so that raw queries ($queryRaw, $executeRaw) run inside the tenant too.
      async $allOperations({ model, operation, args, query }) {
        const a = model ? scopeArgs(model, operation, args, tenantId) : args;
        const scope = tenantScope.getStore();
        // Inside this tenant's $transaction callback: the statement goes to its connection (or,
        // if the callback used the outer client by mistake, through the pool in this tenant).
        if (scope?.inTransaction && scope.tenantId === tenantId) return query(a);
        // Prisma batches findUnique calls made in the same tick by ANY caller into one query,
        // run in the async context of the first: another tenant's. findFirst is never batched.
        if (model && (operation === 'findUnique' || operation === 'findUniqueOrThrow')) {
          // The arguments are scoped already: the base client's delegate runs them as they are.
          const delegate = (prisma as unknown as Record<string, Delegate>)[model[0]!.toLowerCase() + model.slice(1)]!;
          const unbatched = { ...(a as Args), where: flattenCompoundKeys((a as Args).where) };
          return tenantScope.run(outside, async () => await delegate[UNBATCHED[operation]]!(unbatched));
        }
        // `await` inside run(): Prisma's promises are lazy and start when awaited, which must
        // happen in this context for the tenant pool to see the tenant.
        return tenantScope.run(outside, async () => await query(a));
      },
    },
  });
  const inside = { tenantId, inTransaction: true };
  // $transaction with its own overloads, run inside the tenant: the interactive transaction's
  // connection enters it at BEGIN, and the callback's queries see `inTransaction`.
  const original = filtered.$transaction.bind(filtered) as (...args: unknown[]) => Promise<unknown>;
  const transaction = ((...args: unknown[]) =>
    tenantScope.run(inside, async () => await original(...args))) as unknown as typeof filtered.$transaction;
  return filtered.$extends({ name: 'tenant-transactions', client: { $transaction: transaction } });
}

export type TenantDb = ReturnType<typeof forTenant>;
/** The client inside a tenant `$transaction` callback. */
export type TenantTx = Parameters<Parameters<TenantDb['$transaction']>[0]>[0];
