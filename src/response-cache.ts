// Answers to the reads that dashboards and apps repeat most — documents, members, the tenant,
// `me` — kept in memory per API process and per tenant, and dropped the moment a change to that
// tenant's data commits anywhere.
//
// @envelop/response-cache does the GraphQL part: the lookup before execution, the key (document,
// operation, variables and session), the TTL of an operation from its schema coordinates, and
// never storing a result with errors. The store here decides what is current, per tenant:
//   - Changes announce themselves from the database: triggers on tenants, users and documents
//     NOTIFY `tenantDataChanged` at commit (migration tenant_data_change_notifications), so the
//     worker, other API instances and an operator's SQL all count, not only this process's
//     mutations.
//   - Each tenant has a generation in this process. Answers are stored under the generation read
//     before their execution began; an announcement moves it on, so older answers are never
//     served again (they age out of the LRU). An answer computed while a change committed was
//     stored under the old generation or is refused: no answer outlives the announcement of a
//     change it may not include.
//   - A mutation moves its tenant's generation on when it finishes, before its response leaves:
//     the caller's next read on this instance sees its own write even while the announcement is
//     on its way. Other instances see it when the announcement arrives (a few milliseconds; on
//     every instance before any event the writer publishes after its commit, e.g. a READY status).
//   - When the event connection was lost and is back, every generation moves on.
// The session is the member and their role: what scope-auth lets a caller see depends on nothing
// else, and a change of role or status is itself a change of the tenant's users.
import { useResponseCache, type Cache } from '@envelop/response-cache';
import { getOperationAST, isObjectType, print, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Context } from './context.ts';
import type { PubSub } from './pubsub.ts';

/** Root fields whose answers may be cached: read from tenants, users and documents (and chunks) only. */
export const CACHED_ROOT_FIELDS = ['documents', 'document', 'members', 'me', 'tenant'] as const;

/** Fields under those that read anything else: an operation selecting one is not cached. */
const UNCACHED_FIELDS = [
  // Questions asked today move with every question, and the day rolls over.
  'Tenant.quota',
];

export interface ResponseCacheOptions {
  schema: GraphQLSchema;
  pubsub: PubSub;
  /** The longest an answer is kept; 0 turns the cache off. */
  ttlMs: number;
  /** Memory for answers, counted as their JSON size. */
  maxBytes: number;
  onLookup?: (result: 'hit' | 'miss') => void;
}

/** Per-tenant generations of this process, moved on by each change to a tenant's data. */
class TenantGenerations {
  private readonly generations = new Map<string, number>();
  /** Added to every tenant's generation: moved on when everything must be forgotten. */
  private epoch = 0;

  current(tenantId: string): number {
    return this.epoch + (this.generations.get(tenantId) ?? 0);
  }

  advance(tenantId: string): void {
    this.generations.set(tenantId, (this.generations.get(tenantId) ?? 0) + 1);
  }

  advanceAll(): void {
    // A step no tenant's own count will ever reach: no earlier key can come back.
    this.epoch += 2 ** 32;
  }
}

export function useTenantResponseCache(options: ResponseCacheOptions): Plugin<Context>[] {
  if (options.ttlMs === 0) return [];
  const generations = new TenantGenerations();
  // Sized when stored (a miss, which costs far more than measuring the answer).
  const answers = new LRUCache<string, ExecutionResult>({
    maxSize: options.maxBytes,
    sizeCalculation: (answer, key) => key.length + JSON.stringify(answer).length,
  });
  followChanges(options.pubsub, generations);

  /** The store as seen by one request: its tenant, at the generation current when it began. */
  const storeFor = (context: Context): Cache => {
    const tenantId = context.viewer!.tenantId;
    const generation = generations.current(tenantId);
    const prefix = `${tenantId}:${generation}:`;
    return {
      get(key) {
        const answer = answers.get(prefix + key);
        options.onLookup?.(answer ? 'hit' : 'miss');
        return answer;
      },
      set(key, result, _entities, ttl) {
        // The tenant changed while this answer was computed: it may predate the change.
        if (generations.current(tenantId) !== generation) return;
        answers.set(prefix + key, result, { ttl: Number.isFinite(ttl) ? ttl : options.ttlMs });
      },
      // Not called: mutations move the generation instead (below), whatever they return.
      invalidate() {
        generations.advance(tenantId);
      },
    };
  };

  const cachePlugin = useResponseCache<Context>({
    cache: (context) => storeFor(context as Context),
    enabled: (context) => context.viewer !== null,
    session: (context) => `${context.viewer!.userId}:${context.viewer!.role}`,
    ttl: options.ttlMs,
    ttlPerSchemaCoordinate: uncachedCoordinates(options.schema),
    invalidateViaMutation: false,
    getDocumentString: documentString,
    // Results with errors are not stored (the default), without its console warning.
    shouldCacheResult: ({ result }) => !result.errors?.length,
    includeExtensionMetadata: false,
  });

  const mutationsAdvance: Plugin<Context> = {
    onExecute({ args }) {
      const viewer = args.contextValue.viewer;
      if (!viewer || getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      return {
        onExecuteDone() {
          generations.advance(viewer.tenantId);
        },
      };
    },
  };
  return [mutationsAdvance, cachePlugin as Plugin<Context>];
}

function followChanges(pubsub: PubSub, generations: TenantGenerations): void {
  const changes = pubsub.subscribe('tenantDataChanged');
  void (async () => {
    for await (const { tenantId } of changes) generations.advance(tenantId);
  })();
  const missed = pubsub.subscribe('eventsMissed');
  void (async () => {
    for await (const _ of missed) generations.advanceAll();
  })();
}

/** TTL 0 (never cached) for every root field not listed and every field of UNCACHED_FIELDS. */
function uncachedCoordinates(schema: GraphQLSchema): Record<string, number> {
  const coordinates: Record<string, number> = {};
  const cached = new Set<string>(CACHED_ROOT_FIELDS);
  const query = schema.getQueryType();
  for (const name of Object.keys(query?.getFields() ?? {})) if (!cached.has(name)) coordinates[`Query.${name}`] = 0;
  for (const coordinate of UNCACHED_FIELDS) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !type.getFields()[fieldName]) throw new Error(`response cache: ${coordinate} is not in the schema`);
    coordinates[coordinate] = 0;
  }
  return coordinates;
}

const printed = new WeakMap<DocumentNode, string>();
/** The request's query text, or (persisted operations sent by hash) the document printed once. */
function documentString(args: { document: DocumentNode; contextValue?: unknown }): string {
  const query = (args.contextValue as { params?: { query?: string } }).params?.query;
  if (query) return query;
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  return text;
}
