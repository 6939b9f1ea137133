// A tenant with rows in every tenant table, made through the real API: members, a pending
// invitation, an ingested document (bytes, chunks) and a chat whose answer cites it.
import type pg from 'pg';
import {
  AddTextDocumentDocument,
  ChatSessionMessagesDocument,
  CreateChatSessionDocument,
  InviteMemberDocument,
  SendMessageDocument,
} from '../__generated__/graphql.ts';
import type { TestApp } from './app.ts';
import { waitForIngestion } from './documents.ts';
import { addMember, rawId, type Person, type TestTenant } from './tenants.ts';
import { eventually } from './wait.ts';

export const LIGHTHOUSE = [
  'The Brennan lighthouse stands on the western cliff above the harbour.',
  'It was built in 1871 from granite quarried on the island.',
  'Its lamp was electrified in 1936 and automated in 1984.',
  'The keeper’s cottage is now a small museum about shipwrecks.',
].join(' ');

export interface Populated {
  member: Person;
  documentId: string;
  sessionId: string;
  answerId: string;
}

/** Adds a member who uploads a document (as EDITOR) and asks about it; waits for the cited answer. */
export async function populateTenant(app: TestApp, tenant: TestTenant, content = LIGHTHOUSE): Promise<Populated> {
  const member = await addMember(app, tenant, 'EDITOR');
  await app.ok(InviteMemberDocument, { email: `pending-${rawId(member.id).slice(0, 8)}@${tenant.slug}.test`, role: 'MEMBER' }, tenant.admin.token);
  const { addTextDocument } = await app.ok(AddTextDocumentDocument, { title: 'Lighthouse notes', content }, member.token);
  const documentId = addTextDocument.document.id;
  await waitForIngestion(app, member.token, documentId);
  const sessionId = (await app.ok(CreateChatSessionDocument, {}, member.token)).createChatSession.id;
  const { sendMessage } = await app.ok(SendMessageDocument, { sessionId, content: 'When was the lighthouse built?' }, member.token);
  await eventually(async () => {
    const { chatSession } = await app.ok(ChatSessionMessagesDocument, { id: sessionId, first: 1 }, member.token);
    const answer = chatSession.messages.edges[0]?.node;
    return answer?.id === sendMessage.id && answer.status === 'COMPLETE' && answer.citations.length > 0;
  }, 'a cited answer', 30_000);
  return { member, documentId, sessionId, answerId: sendMessage.id };
}

/** Tables with a tenant_id column, and `tenants` itself keyed on id, as the database has them. */
export async function tenantTables(pool: pg.Pool): Promise<{ table: string; column: string }[]> {
  const { rows } = await pool.query<{ table: string }>(
    `SELECT table_name AS table FROM information_schema.columns
      WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY table_name`,
  );
  return [{ table: 'tenants', column: 'id' }, ...rows.map(({ table }) => ({ table, column: 'tenant_id' }))];
}

/** Rows of `tenantId` in every tenant table, read as the connecting role (bypassing nothing it may not). */
export async function rowsOf(pool: pg.Pool, tenantId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { table, column } of await tenantTables(pool)) {
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}" WHERE "${column}" = $1`, [tenantId]);
    counts[table] = Number(rows[0]!.n);
  }
  return counts;
}
