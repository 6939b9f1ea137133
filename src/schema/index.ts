// The executable schema: import every domain file (each registers its types and fields
// on the builder), then build.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './auth.ts';
import './tenant.ts';
import './members.ts';
import './invitations.ts';
import './member-events.ts';
import './documents.ts';
import './chat.ts';
import './usage.ts';
import './audit.ts';
import './data-rights.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
