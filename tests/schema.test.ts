import fs from 'node:fs';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.ts';

describe('schema.graphql', () => {
  it('is what the code-first schema prints (run `npm run codegen` after changing the schema)', () => {
    const committed = fs.readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSchema(schema)}\n`);
  });

  it('guards every root field except the public ones', () => {
    const publicFields = new Set(['Mutation.signUp', 'Mutation.logIn', 'Mutation.acceptInvitation']);
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values(root?.getFields() ?? {})) {
        const name = `${root?.name}.${field.name}`;
        const pothos = field.extensions?.pothosOptions as { skipTypeScopes?: boolean } | undefined;
        expect(Boolean(pothos?.skipTypeScopes), name).toBe(publicFields.has(name));
      }
    }
  });
});
