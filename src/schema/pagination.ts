// Connection fields page with keyset cursors; every connection has the same default
// and maximum page size (a larger `first`/`last` is clamped to the maximum).
import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import { cursorOf, type PageWindow } from '../services/pagination.ts';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function paginate<T extends { createdAt: Date; id: string }>(
  args: DefaultConnectionArguments,
  load: (window: PageWindow) => Promise<T[]>,
) {
  return resolveCursorConnection(
    { args, toCursor: cursorOf, defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE },
    load,
  );
}
