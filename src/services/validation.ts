// Input rules shared by services, and the one conversion from a zod failure to the
// BAD_USER_INPUT error clients see (with the offending field named).
import { z } from 'zod';
import { AppError, ErrorCode } from '../errors.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.ts';

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: 'must be a valid e-mail address' }));

export const personNameSchema = z.string().trim().min(1, 'must not be empty').max(100);

export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`);

export const tenantSlugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/,
    'must be 3–40 characters: lowercase letters, digits and inner hyphens',
  );

export const tenantNameSchema = z.string().trim().min(1, 'must not be empty').max(120);

/** Parses `input` or throws BAD_USER_INPUT naming the first offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  throw new AppError(
    ErrorCode.BAD_USER_INPUT,
    field ? `${field} ${issue?.message}` : (issue?.message ?? 'invalid input'),
    field ? { field } : {},
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are UUIDs; anything else cannot name a row, so callers answer NOT_FOUND without a query. */
export const isUuid = (id: string) => UUID.test(id);
