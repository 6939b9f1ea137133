// The audit log: who did what to which object, when. Entries are written by the services,
// inside the transaction of the action they record (so an action and its entry commit or roll
// back together), and read by ADMINs. Nothing in the application updates or deletes them, and
// the database refuses it too (trigger audit_events_append_only, see the migration).
import type { AuditAction, AuditEvent } from '../db/generated/client.ts';
import type { TaggedSql } from '../db/tagged-sql.ts';
import type { TenantDb } from '../db/tenant-scope.ts';
import { keysetQuery, type PageWindow } from './pagination.ts';
import { isUuid } from './validation.ts';

export type AuditTargetType = 'User' | 'Invitation' | 'Document' | 'Tenant';

export interface AuditEntry {
  tenantId: string;
  /** The signed-in member who acted; null for anonymous attempts and operators. */
  actorId: string | null;
  action: AuditAction;
  target?: { type: AuditTargetType; id: string };
  /** Small facts (a role, a title, a size). Never passwords, tokens or document text. */
  metadata?: Record<string, unknown>;
}

/** Any client or transaction, scoped or not: the entry names its tenant itself. */
type Tx = Pick<TaggedSql, '$executeRaw'>;

/** Keys that must never reach the log: a mistake here would store a secret forever. */
const FORBIDDEN_KEYS = /^(password|passwordHash|token|tokenHash|secret|content|text)$/i;

function assertSafe(metadata: Record<string, unknown>): void {
  for (const key of Object.keys(metadata)) {
    if (FORBIDDEN_KEYS.test(key)) throw new Error(`audit metadata must not carry "${key}"`);
  }
}

/** The time is the statement's, not the transaction's start, so entries sort as they happened. */
export async function recordAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  const metadata = entry.metadata ?? {};
  assertSafe(metadata);
  await tx.$executeRaw`
    INSERT INTO audit_events (tenant_id, actor_id, action, target_type, target_id, metadata, created_at)
    VALUES (${entry.tenantId}::uuid, ${entry.actorId}::uuid, ${entry.action}::"AuditAction",
            ${entry.target?.type ?? null}, ${entry.target?.id ?? null}::uuid, ${JSON.stringify(metadata)}::jsonb,
            clock_timestamp())`;
}

export interface AuditFilter {
  actions?: readonly AuditAction[] | null;
  actorId?: string | null;
  /** Inclusive lower and exclusive upper bound on the entry's time. */
  from?: Date | null;
  to?: Date | null;
}

export function createAuditService(db: TenantDb) {
  return {
    /** Entries of the tenant, newest first. */
    list(filter: AuditFilter, window: PageWindow): Promise<AuditEvent[]> {
      const page = keysetQuery(window);
      // An actor id that is not a UUID cannot match any entry.
      if (filter.actorId && !isUuid(filter.actorId)) return Promise.resolve([]);
      return db.auditEvent.findMany({
        ...page,
        where: {
          AND: [
            page.where,
            filter.actions?.length ? { action: { in: [...filter.actions] } } : {},
            filter.actorId ? { actorId: filter.actorId } : {},
            filter.from ? { createdAt: { gte: filter.from } } : {},
            filter.to ? { createdAt: { lt: filter.to } } : {},
          ],
        },
      });
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
