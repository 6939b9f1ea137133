// Which operations run compiled (graphql-jit) and which stay on the interpreter.
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compilable } from '../src/compiled-execution.ts';

describe('compiled execution', () => {
  it('compiles queries, including nullable variables with defaults', () => {
    expect(compilable(parse('query Page($first: Int = 20, $after: String) { documents(first: $first, after: $after) { edges { cursor } } }'))).toBe(true);
  });

  it('leaves mutations, subscriptions and non-null variables with defaults to the interpreter', () => {
    expect(compilable(parse('mutation { deleteDocument(id: "x") }'))).toBe(false);
    expect(compilable(parse('subscription { documentStatus { documentId } }'))).toBe(false);
    expect(compilable(parse('query ($pendingOnly: Boolean! = true) { invitations(pendingOnly: $pendingOnly) { id } }'))).toBe(false);
  });

  it('judges the named operation of a document with several', () => {
    const document = parse('query A { me { id } } mutation B { logOut }');
    expect(compilable(document, 'A')).toBe(true);
    expect(compilable(document, 'B')).toBe(false);
    expect(compilable(document)).toBe(false); // ambiguous without a name: no operation
  });
});
