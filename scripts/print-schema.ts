// Prints the code-first schema to schema.graphql (committed; CI fails when it drifts).
import fs from 'node:fs';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.ts';

const target = new URL('../schema.graphql', import.meta.url);
fs.writeFileSync(target, `${printSchema(schema)}\n`);
console.log(`wrote ${target.pathname}`);
