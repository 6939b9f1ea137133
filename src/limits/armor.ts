// GraphQL abuse limits with graphql-armor: depth, aliases, directives (validation rules, so
// Yoga caches their verdict per document), tokens (while parsing) and cost. Every refusal is
// the same kind of error: extensions.code QUERY_TOO_COMPLEX with `limit`, `max` and `found`.
//
// Cost is checked when the operation runs, not while validating: graphql-armor multiplies a
// connection's cost by its page size only when `first`/`last` is a literal, so a query passing
// its page sizes as variables (what every client does) would be priced as if each page held
// one item. Here the page sizes are read from the variables (or the field's default, or the
// default page size of a connection), clamped to the maximum page the server serves, written
// into the document as literals, and graphql-armor's own cost rule prices that document.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import {
  getNamedType,
  getNullableType,
  isListType,
  Kind,
  TypeInfo,
  validate,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLError,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { tooComplex, type LimitKind } from './codes.ts';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
}

/** Page sizes the schema serves (src/schema/pagination.ts): the cost assumes them. */
export interface PageSizes {
  default: number;
  max: number;
}

const found = (error: GraphQLError): number | undefined => {
  const match = /found (\d+(?:\.\d+)?)/.exec(error.message);
  return match ? Math.round(Number(match[1])) : undefined;
};

/** graphql-armor callbacks that replace its "Syntax Error: …" with our coded error. */
function reporting(limit: LimitKind, max: number) {
  return {
    propagateOnRejection: false,
    exposeLimits: true,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        const coded = tooComplex(limit, max, found(error));
        if (context) context.reportError(coded);
        else throw coded; // while parsing (tokens): there is no validation context
      },
    ],
  };
}

type ArmorConfig = NonNullable<Parameters<typeof EnvelopArmorPlugin>[0]>;

/**
 * graphql-armor's own Envelop plugin for depth, aliases, directives and tokens (cost is priced
 * later, see above). `hideSuggestions` masks "Did you mean …?" in validation errors, which
 * would otherwise spell out the schema that disabled introspection hides.
 */
export function armorConfig(limits: QueryLimits, hideSuggestions: boolean): ArmorConfig {
  return {
    maxDepth: {
      n: limits.maxDepth,
      // Fragments count for what they select, not as an extra level.
      flattenFragments: true,
      // GraphiQL's introspection query nests 15 levels; graphql-js's MaxIntrospectionDepthRule (one
      // of the specified rules Yoga runs) already stops its cyclic abuse (fields → type → …).
      ignoreIntrospection: true,
      ...reporting('depth', limits.maxDepth),
    },
    maxAliases: { n: limits.maxAliases, ...reporting('aliases', limits.maxAliases) },
    maxDirectives: { n: limits.maxDirectives, ...reporting('directives', limits.maxDirectives) },
    maxTokens: { n: limits.maxTokens, ...reporting('tokens', limits.maxTokens) },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: hideSuggestions, mask: '[suggestion hidden]' },
  } as ArmorConfig;
}

const PAGE_ARGS = new Set(['first', 'last']);

/**
 * The document with every page size a literal: `first`/`last` from the variables, else the
 * operation's variable default, else the argument's default, else the default page of a
 * connection; clamped to the largest page served. A list argument `ids` (Query.nodes) counts
 * as a page of that many items.
 */
export function withPageSizes(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  pages: PageSizes,
): DocumentNode {
  const values: Record<string, unknown> = {};
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const variable of definition.variableDefinitions ?? []) {
      if (variable.defaultValue) values[variable.variable.name.value] = valueFromASTUntyped(variable.defaultValue);
    }
  }
  Object.assign(values, variables ?? {});
  const valueOf = (node: ValueNode): unknown => valueFromASTUntyped(node, values);

  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode) {
        const definition = typeInfo.getFieldDef();
        if (!definition) return undefined;
        let size: number | undefined;
        const pageArgs = definition.args.filter((arg) => PAGE_ARGS.has(arg.name));
        if (pageArgs.length) {
          const given = (node.arguments ?? [])
            .filter((arg) => PAGE_ARGS.has(arg.name.value))
            .map((arg) => valueOf(arg.value))
            .filter((value): value is number => typeof value === 'number');
          const defaults = pageArgs.map((arg) => arg.defaultValue).filter((value): value is number => typeof value === 'number');
          const isConnection = getNamedType(definition.type).name.endsWith('Connection');
          size = given.length ? Math.max(...given) : defaults.length ? Math.max(...defaults) : isConnection ? pages.default : undefined;
          if (size !== undefined) size = Math.min(Math.max(size, 0), pages.max);
        }
        const ids = definition.args.find((arg) => arg.name === 'ids' && isListType(getNullableType(arg.type)));
        if (ids) {
          const given = node.arguments?.find((arg) => arg.name.value === 'ids');
          const list = given ? valueOf(given.value) : undefined;
          if (Array.isArray(list)) size = Math.max(size ?? 0, list.length);
        }
        if (size === undefined) return undefined;
        const first: ArgumentNode = {
          kind: Kind.ARGUMENT,
          name: { kind: Kind.NAME, value: 'first' },
          value: { kind: Kind.INT, value: String(size) },
        };
        return { ...node, arguments: [first, ...(node.arguments ?? []).filter((arg) => !PAGE_ARGS.has(arg.name.value))] };
      },
    }),
  );
}

/** graphql-armor's cost of the operation with its real page sizes; errors if over `maxCost`. */
export function costErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  maxCost: number,
  pages: PageSizes,
): readonly GraphQLError[] {
  const priced = withPageSizes(schema, document, variables, pages);
  const rule = costLimitRule({
    maxCost,
    // Fragments cost what they select, like the depth rule.
    flattenFragments: true,
    ignoreIntrospection: true,
    ...reporting('cost', maxCost),
  }) as unknown as ValidationRule;
  return validate(schema, priced, [rule]);
}

/** The cost of an operation as graphql-armor computes it with real page sizes (for tests and tuning). */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  pages: PageSizes,
): number {
  let cost = 0;
  const rule = costLimitRule({
    maxCost: Number.MAX_SAFE_INTEGER,
    flattenFragments: true,
    ignoreIntrospection: true,
    onAccept: [(_context: unknown, details: { n: number }) => (cost = Math.max(cost, details.n))],
  } as never) as unknown as ValidationRule;
  validate(schema, withPageSizes(schema, document, variables, pages), [rule]);
  return cost;
}

/**
 * Tokens while parsing, depth/aliases/directives while validating (graphql-armor), cost when
 * the operation runs (queries and mutations over HTTP and WebSocket, and subscriptions).
 */
export function useQueryLimits(limits: QueryLimits, pages: PageSizes, hideSuggestions: boolean): Plugin[] {
  const verdicts = costVerdictCache();
  const priceCheck = ({ args, setResultAndStopExecution }: {
    args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: Readonly<Record<string, unknown>> | null };
    setResultAndStopExecution: (result: { errors: readonly GraphQLError[] }) => void;
  }) => {
    const errors = verdicts(args.document, args.variableValues, () =>
      costErrors(args.schema, args.document, args.variableValues, limits.maxCost, pages),
    );
    if (errors.length) setResultAndStopExecution({ errors });
  };
  return [
    EnvelopArmorPlugin(armorConfig(limits, hideSuggestions)) as Plugin,
    { onExecute: priceCheck, onSubscribe: priceCheck },
  ];
}

/** Distinct page-size variable values remembered per document (a client may page with many sizes). */
const VERDICTS_PER_DOCUMENT = 64;

/**
 * Pricing re-visits and re-validates the document, about a tenth of the CPU of a small query
 * (bench:graphql), yet its verdict depends only on the document and on the values of the
 * variables that give page sizes. Yoga's parser cache hands out the same DocumentNode for the
 * same text, so verdicts are remembered per document object (dropped with it) and keyed by
 * those variables' values.
 */
export function costVerdictCache() {
  const byDocument = new WeakMap<DocumentNode, { pageVariables: string[]; verdicts: Map<string, readonly GraphQLError[]> }>();
  return (
    document: DocumentNode,
    variables: Readonly<Record<string, unknown>> | null | undefined,
    price: () => readonly GraphQLError[],
  ): readonly GraphQLError[] => {
    let entry = byDocument.get(document);
    if (!entry) {
      entry = { pageVariables: pageSizeVariables(document), verdicts: new Map() };
      byDocument.set(document, entry);
    }
    const key = JSON.stringify(entry.pageVariables.map((name) => variables?.[name] ?? null));
    let verdict = entry.verdicts.get(key);
    if (!verdict) {
      verdict = price();
      if (entry.verdicts.size >= VERDICTS_PER_DOCUMENT) entry.verdicts.delete(entry.verdicts.keys().next().value!);
      entry.verdicts.set(key, verdict);
    }
    return verdict;
  };
}

/** Names of the variables used (anywhere) in the page-size arguments `first`, `last` and `ids`. */
export function pageSizeVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node: ArgumentNode) {
      if (!PAGE_ARGS.has(node.name.value) && node.name.value !== 'ids') return undefined;
      visit(node.value, {
        Variable(variable) {
          names.add(variable.name.value);
        },
      });
      return false;
    },
  });
  return [...names].sort();
}
