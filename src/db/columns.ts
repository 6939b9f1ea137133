// Column lists of Prisma models for the few hot paths written in SQL (a page of documents with
// their uploaders in one statement; recording a question and its pending answer). Each map is
// checked by the compiler against the model's fields, so a column added to prisma/schema.prisma
// fails the build here until it is read too. The column names are spelled out rather than
// derived from the field names: they are the schema's @map values, which a convention would
// only guess. Rows come back under the field names, typed as Prisma would type them (pg parses
// timestamptz to Date, int4 to number, uuid and enums to string).
import type { ChatMessage, Document, User } from './generated/client.ts';

type ColumnMap<Row> = { readonly [Field in keyof Row]-?: string };

export const DOCUMENT_COLUMNS = {
  id: 'id',
  tenantId: 'tenant_id',
  title: 'title',
  contentType: 'content_type',
  byteSize: 'byte_size',
  sha256: 'sha256',
  status: 'status',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  pageCount: 'page_count',
  chunkCount: 'chunk_count',
  embeddingModel: 'embedding_model',
  uploadedById: 'uploaded_by_id',
  processedAt: 'processed_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies ColumnMap<Document>;

export const USER_COLUMNS = {
  id: 'id',
  tenantId: 'tenant_id',
  email: 'email',
  name: 'name',
  role: 'role',
  status: 'status',
  passwordHash: 'password_hash',
  lastActiveAt: 'last_active_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies ColumnMap<User>;

export const CHAT_MESSAGE_COLUMNS = {
  id: 'id',
  tenantId: 'tenant_id',
  sessionId: 'session_id',
  role: 'role',
  status: 'status',
  content: 'content',
  model: 'model',
  inputTokens: 'input_tokens',
  outputTokens: 'output_tokens',
  firstTokenMs: 'first_token_ms',
  latencyMs: 'latency_ms',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  completedAt: 'completed_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies ColumnMap<ChatMessage>;

/**
 * `alias.column AS "prefixfield", …` for a SELECT list. Names come from the maps above, never
 * from input; `prefix` tells the columns of a joined table apart (see `rowReader`).
 */
export function selectColumns(columns: Readonly<Record<string, string>>, alias: string, prefix = ''): string {
  return Object.entries(columns)
    .map(([field, column]) => `${alias}.${column} AS "${prefix}${field}"`)
    .join(', ');
}

/**
 * Reads the fields of `columns` selected with `prefix` out of a result row (keys precomputed:
 * a page maps hundreds of fields). Returns null when the id is null: a LEFT JOIN found no row.
 */
export function rowReader<Row>(columns: Readonly<Record<string, string>>, prefix = ''): (row: Record<string, unknown>) => Row | null {
  const fields = Object.keys(columns);
  const keys = fields.map((field) => `${prefix}${field}`);
  const idKey = `${prefix}id`;
  return (row) => {
    if (row[idKey] == null) return null;
    const picked: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) picked[fields[i]!] = row[keys[i]!];
    return picked as Row;
  };
}
