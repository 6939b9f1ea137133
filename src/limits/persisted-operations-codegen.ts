// GraphQL Code Generator plugin (codegen.ts): writes the persisted-operations allow-list,
// `{ "<sha256 of the canonical text>": "<canonical text>" }`, one entry per operation of the
// configured documents, sorted by operation name. A fragment is resolved among the files of
// the operation's own folder, so tests/operations and web/operations may reuse names.
import path from 'node:path';
import { Kind, type DocumentNode, type FragmentDefinitionNode } from 'graphql';
import { canonicalOperations, type CanonicalOperation } from './persisted-operations.ts';

interface DocumentFile {
  location?: string;
  document?: DocumentNode;
}

export function persistedOperationsManifest(documents: readonly DocumentFile[]): Record<string, string> {
  const fragmentsByFolder = new Map<string, FragmentDefinitionNode[]>();
  const folderOf = (file: DocumentFile) => path.dirname(file.location ?? '');
  for (const file of documents) {
    const fragments = fragmentsByFolder.get(folderOf(file)) ?? [];
    for (const definition of file.document?.definitions ?? []) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.push(definition);
    }
    fragmentsByFolder.set(folderOf(file), fragments);
  }
  const operations: CanonicalOperation[] = [];
  for (const file of documents) {
    if (!file.document) continue;
    operations.push(...canonicalOperations(file.document, fragmentsByFolder.get(folderOf(file))));
  }
  operations.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.hash.localeCompare(b.hash));
  return Object.fromEntries(operations.map((operation) => [operation.hash, operation.text]));
}

/** The codegen plugin entry point. */
export function plugin(_schema: unknown, documents: DocumentFile[]): string {
  return `${JSON.stringify(persistedOperationsManifest(documents), null, 2)}\n`;
}
