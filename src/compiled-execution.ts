// Queries run through graphql-jit: each document is compiled once into a function that
// resolves its fields without the interpreter's per-field work (a 20-document page resolves
// ~180 fields; the interpreter took more CPU than the database work of the page).
//
// Only where the compiled semantics are those of graphql-js, otherwise the interpreter runs:
//   - queries only: mutations and subscriptions are not throughput paths, and graphql-jit turns
//     an omitted variable inside an input object into null where graphql-js leaves it out, which
//     an update mutation reads differently ("clear" vs "keep");
//   - no non-null variable with a default value (`$x: Boolean! = true`): graphql-jit requires it
//     to be sent, where the spec lets the default apply.
import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST, Kind, type DocumentNode } from 'graphql';

const verdicts = new WeakMap<DocumentNode, Map<string, boolean>>();

/** Whether an operation of a (parsed, cached) document may run compiled. */
export function compilable(document: DocumentNode, operationName?: string | null): boolean {
  let byName = verdicts.get(document);
  if (!byName) verdicts.set(document, (byName = new Map()));
  const key = operationName ?? '';
  let verdict = byName.get(key);
  if (verdict === undefined) {
    const operation = getOperationAST(document, operationName);
    verdict =
      operation?.operation === 'query' &&
      !(operation.variableDefinitions ?? []).some((definition) => definition.type.kind === Kind.NON_NULL_TYPE && definition.defaultValue);
    byName.set(key, verdict);
  }
  return verdict;
}

export const useCompiledQueries = () =>
  useGraphQlJit({}, { enableIf: (args) => compilable(args.document, args.operationName) });
