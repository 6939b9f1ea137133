// GraphQL Code Generator: typed documents, generated from the committed schema.graphql
// (itself printed from the code by scripts/print-schema.ts). `npm run codegen` runs both;
// CI fails when either drifts. Two outputs, each with its own operations:
//   tests/__generated__/  the tests' operations (tests/operations), as DocumentNode ASTs;
//   web/__generated__/    the demo page's operations (web/operations), as typed strings, so the
//                         page sends them with fetch/graphql-ws and ships no graphql-js;
//   persisted-operations.json  the allow-list of PERSISTED_OPERATIONS=allow|only: every operation
//                         of both sets, sha256 → canonical text (src/limits/persisted-operations.ts).
import type { CodegenConfig } from '@graphql-codegen/cli';

const shared = {
  useTypeImports: true,
  importExtension: '.ts',
  enumsAsTypes: true,
  scalars: { DateTime: 'string', File: 'File', JSON: 'unknown' },
  strictScalars: true,
} as const;

const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: false,
  generates: {
    'tests/__generated__/': {
      documents: ['tests/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: shared,
    },
    'web/__generated__/': {
      documents: ['web/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { ...shared, documentMode: 'string' },
    },
    'persisted-operations.json': {
      documents: ['tests/operations/**/*.graphql', 'web/operations/**/*.graphql'],
      plugins: ['./src/limits/persisted-operations-codegen.ts'],
      // Both sets have a `LogIn` (each its own selection): both are allow-listed, by hash.
      config: {
        skipDocumentsValidation: { skipDuplicateValidation: true, ignoreRules: ['UniqueOperationNames', 'UniqueFragmentNames'] },
      },
    },
  },
  hooks: {},
};

export default config;
