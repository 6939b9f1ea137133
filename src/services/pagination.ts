// Keyset pagination over (createdAt, id), newest first. Stable under inserts, and each
// page is one indexed range scan however deep the client pages.
import { AppError, ErrorCode } from '../errors.ts';
import { isUuid } from './validation.ts';
import { typedLiteral } from '../db/tenant-session.ts';

export interface PageWindow {
  /** Opaque position from `cursorOf`, exclusive. */
  after?: string | null;
  before?: string | null;
  limit: number;
  /** true when paging backwards (`last`/`before`): rows come oldest-first and are re-reversed by the caller. */
  inverted: boolean;
}

interface Keyed {
  createdAt: Date;
  id: string;
}

/** Opaque to clients: base64url of "<createdAt ISO>|<id>". */
export const cursorOf = (row: Keyed) => Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');

function parseCursor(cursor: string): Keyed {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !isUuid(id) || Number.isNaN(createdAt.getTime())) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, 'Malformed pagination cursor', { field: 'after/before' });
  }
  return { createdAt, id };
}

/** Prisma `where` and `orderBy` for a window; combine the `where` with the caller's filter. */
export function keysetQuery(window: PageWindow) {
  const bounds: object[] = [];
  if (window.after) {
    const { createdAt, id } = parseCursor(window.after);
    bounds.push({ OR: [{ createdAt: { lt: createdAt } }, { createdAt, id: { lt: id } }] });
  }
  if (window.before) {
    const { createdAt, id } = parseCursor(window.before);
    bounds.push({ OR: [{ createdAt: { gt: createdAt } }, { createdAt, id: { gt: id } }] });
  }
  const direction = window.inverted ? ('asc' as const) : ('desc' as const);
  return {
    where: { AND: bounds },
    orderBy: [{ createdAt: direction }, { id: direction }],
    take: window.limit,
  };
}

/**
 * The same window in SQL, for reads sent as one message (`readInTenant`): conditions on
 * `alias`.created_at / .id, the ORDER BY and the LIMIT, values inlined as literals. A row
 * comparison keeps the bound one index range: (created_at, id) < (cursor) is exactly "older, or
 * as old with a smaller id".
 */
export function keysetSql(window: PageWindow, alias: string) {
  const conditions: string[] = [];
  const bound = (cursor: string, operator: '<' | '>') => {
    const { createdAt, id } = parseCursor(cursor);
    conditions.push(`(${alias}.created_at, ${alias}.id) ${operator} (${typedLiteral(createdAt, 'timestamptz')}, ${typedLiteral(id, 'uuid')})`);
  };
  if (window.after) bound(window.after, '<');
  if (window.before) bound(window.before, '>');
  const direction = window.inverted ? 'ASC' : 'DESC';
  return {
    conditions,
    orderBy: `${alias}.created_at ${direction}, ${alias}.id ${direction}`,
    limit: typedLiteral(window.limit, 'int'),
  };
}
