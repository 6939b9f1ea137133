// GraphQL Code Generator: typed documents for every operation under tests/operations,
// generated from the committed schema.graphql (itself printed from the code by
// scripts/print-schema.ts). `npm run codegen` runs both; CI fails when either drifts.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['tests/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'tests/__generated__/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        importExtension: '.ts',
        enumsAsTypes: true,
        scalars: { DateTime: 'string', File: 'File' },
        strictScalars: true,
      },
    },
  },
  hooks: {},
};

export default config;
