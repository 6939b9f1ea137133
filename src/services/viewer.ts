// The authenticated caller, as every service sees it. Built from a verified token and
// the user's current row (role and status are never taken from the token).
import type { Role } from '../db/generated/enums.ts';

export interface Viewer {
  userId: string;
  tenantId: string;
  role: Role;
}

const RANK: Record<Role, number> = { MEMBER: 1, EDITOR: 2, ADMIN: 3 };

/** ADMIN ⊃ EDITOR ⊃ MEMBER: does `role` include the rights of `required`? */
export function roleIncludes(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}
