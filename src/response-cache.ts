// Answers to the reads that dashboards and apps repeat most — documents, members, the tenant,
// `me` — kept in memory per API process and per tenant, and dropped the moment a change to that
// tenant's data commits anywhere.
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
// An answer is keyed by the member and their role (what scope-auth lets a caller see depends on
// nothing else, and a change of role or status is itself a change of the tenant's users), the
// query text, the operation name and the variables.
//
// Hand-written rather than @envelop/response-cache: that plugin rewrites every cached query to
// collect the ids of the entities in its answer, for invalidation by entity, which a per-tenant
// invalidation has no use for. Here a lookup is a key, an LRU get and a generation check; a miss
// spends 1.8 % of the API's busy CPU in this file (profile of bench:graphql's documentsMiss).
import {
  getOperationAST,
  isObjectType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
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

export function useTenantResponseCache(options: ResponseCacheOptions): Plugin<Context> {
  if (options.ttlMs === 0) return {};
  const generations = new TenantGenerations();
  // Sized when stored (after a miss, which costs far more than measuring the answer).
  const answers = new LRUCache<string, ExecutionResult>({
    maxSize: options.maxBytes,
    sizeCalculation: (answer, key) => key.length + JSON.stringify(answer).length,
    ttl: options.ttlMs,
  });
  followChanges(options.pubsub, generations);
  const cacheable = cacheableOperations(options.schema);

  return {
    onExecute({ args, setResultAndStopExecution }) {
      const viewer = args.contextValue.viewer;
      if (!viewer) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation === 'mutation') {
        return {
          onExecuteDone() {
            generations.advance(viewer.tenantId);
          },
        };
      }
      if (operation?.operation !== 'query' || !cacheable(args.document)) return;

      const generation = generations.current(viewer.tenantId);
      const key = [
        viewer.tenantId,
        generation,
        viewer.userId,
        viewer.role,
        args.operationName ?? '',
        JSON.stringify(args.variableValues ?? {}),
        queryText(args),
      ].join('\u0000');
      const answer = answers.get(key);
      options.onLookup?.(answer ? 'hit' : 'miss');
      if (answer) {
        setResultAndStopExecution(answer);
        return;
      }
      return {
        onExecuteDone({ result }) {
          if (isAsyncIterable(result) || result.errors?.length) return;
          // The tenant changed while this answer was computed: it may predate the change.
          if (generations.current(viewer.tenantId) !== generation) return;
          answers.set(key, result);
        },
      };
    },
  };
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

/**
 * Whether a (parsed, cached) document may be answered from the cache: every root field it
 * selects is in CACHED_ROOT_FIELDS (introspection is not) and none of UNCACHED_FIELDS appears.
 */
function cacheableOperations(schema: GraphQLSchema): (document: DocumentNode) => boolean {
  for (const coordinate of UNCACHED_FIELDS) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !type.getFields()[fieldName]) throw new Error(`response cache: ${coordinate} is not in the schema`);
  }
  const rootFields = new Set<string>(CACHED_ROOT_FIELDS);
  const uncached = new Set(UNCACHED_FIELDS);
  const queryType = schema.getQueryType();
  const verdicts = new WeakMap<DocumentNode, boolean>();
  return (document) => {
    let verdict = verdicts.get(document);
    if (verdict === undefined) {
      verdict = true;
      const typeInfo = new TypeInfo(schema);
      visit(
        document,
        visitWithTypeInfo(typeInfo, {
          Field(node) {
            const parent = typeInfo.getParentType();
            const name = node.name.value;
            const refused = parent === queryType ? !rootFields.has(name) && name !== '__typename' : uncached.has(`${parent?.name}.${name}`);
            if (refused) verdict = false;
          },
        }),
      );
      verdicts.set(document, verdict);
    }
    return verdict;
  };
}

/** The request's query text; for persisted operations sent by hash, the hash's document. */
function queryText(args: { document: DocumentNode; contextValue: unknown }): string {
  const params = (args.contextValue as { params?: { query?: string } }).params;
  return params?.query ?? documentId(args.document);
}

const ids = new WeakMap<DocumentNode, string>();
let nextDocumentId = 0;
/** A name for a parsed document that stays the same while the parsed document is cached. */
function documentId(document: DocumentNode): string {
  let id = ids.get(document);
  if (id === undefined) ids.set(document, (id = `#${nextDocumentId++}`));
  return id;
}
