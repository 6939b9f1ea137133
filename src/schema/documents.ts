// Documents: upload (GraphQL multipart request spec) and pasted text, listing, chunks,
// deletion, re-indexing, and live ingestion status.
import { resolveCursorConnection } from '@pothos/plugin-relay';
import type { Context } from '../context.ts';
import type { Chunk as ChunkRow, Document as DocumentRow } from '../db/generated/client.ts';
import { DocumentStatus as DocumentStatusValues } from '../db/generated/enums.ts';
import type { DocumentStatusPayload } from '../pubsub.ts';
import type { ListedDocument, UploadResult } from '../services/documents.ts';
import { builder } from './builder.ts';
import { User } from './members.ts';
import { MAX_PAGE_SIZE, paginate } from './pagination.ts';

export const DocumentStatus = builder.enumType('DocumentStatus', {
  description: 'QUEUED → PROCESSING → READY, or FAILED with an errorCode.',
  values: Object.values(DocumentStatusValues),
});

export const Chunk = builder.objectRef<ChunkRow>('Chunk').implement({
  description: 'A searchable piece of a document.',
  fields: (t) => ({
    id: t.exposeID('id'),
    index: t.exposeInt('index', { description: '0-based position in the document.' }),
    pageNumber: t.exposeInt('pageNumber'),
    charStart: t.exposeInt('charStart', { description: 'Offset into the cleaned text of the page.' }),
    charEnd: t.exposeInt('charEnd'),
    text: t.exposeString('text'),
    embeddingModel: t.exposeString('embeddingModel'),
  }),
});

export const Document = builder.loadableNode('Document', {
  id: { resolve: (document) => document.id },
  load: async (ids: string[], context: Context): Promise<DocumentRow[]> => context.tenant?.documents.byIds(ids) ?? [],
  sort: (document) => document.id,
  authScopes: { member: true },
  fields: (t) => ({
    title: t.exposeString('title'),
    contentType: t.exposeString('contentType', { description: 'Recognised from the bytes, not the file name.' }),
    byteSize: t.exposeInt('byteSize'),
    sha256: t.exposeString('sha256'),
    status: t.expose('status', { type: DocumentStatus }),
    errorCode: t.exposeString('errorCode', {
      nullable: true,
      description:
        'Why it FAILED: UNSUPPORTED_TYPE, PDF_ENCRYPTED, PDF_INVALID, NO_TEXT, EMPTY, EMBEDDING_REJECTED or INGESTION_FAILED (transient errors outlasted the retries).',
    }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    pageCount: t.exposeInt('pageCount', { nullable: true }),
    chunkCount: t.exposeInt('chunkCount', { nullable: true }),
    embeddingModel: t.exposeString('embeddingModel', { nullable: true }),
    uploadedBy: t.field({
      type: User,
      nullable: true,
      // A documents page reads the uploaders with the documents; elsewhere they are batch-loaded.
      resolve: (document) => ('uploadedBy' in document ? (document as ListedDocument).uploadedBy : document.uploadedById),
    }),
    processedAt: t.expose('processedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    chunks: t.withAuth({ member: true }).connection(
      {
        type: Chunk,
        description: 'Chunks in document order.',
        resolve: (document, args, { tenant }) =>
          resolveCursorConnection<Promise<ChunkRow[]>>(
            { args, toCursor: (chunk: ChunkRow) => String(chunk.index), defaultSize: 20, maxSize: MAX_PAGE_SIZE },
            async ({ after, before, limit, inverted }): Promise<ChunkRow[]> => {
              if (before || inverted) return []; // chunks page forwards only
              return tenant.documents.chunks(document.id, after ? Number(after) : -1, limit);
            },
          ),
      },
      { name: 'ChunkConnection' },
      { name: 'ChunkEdge' },
    ),
  }),
});

const UploadPayload = builder.objectRef<UploadResult>('UploadDocumentPayload').implement({
  fields: (t) => ({
    document: t.field({ type: Document, resolve: (result) => result.document }),
    deduplicated: t.exposeBoolean('deduplicated', {
      description: 'True when these bytes were already uploaded to the tenant: the existing document is returned and nothing is re-processed.',
    }),
  }),
});

builder.scalarType('File', {
  description: 'A file sent with the GraphQL multipart request spec.',
  serialize: () => {
    throw new Error('File is an input-only scalar');
  },
});

builder.queryFields((t) => ({
  documents: t.withAuth({ member: true }).connection(
    {
      type: Document,
      description: 'Documents of the tenant, newest first.',
      args: {
        status: t.arg({ type: DocumentStatus, required: false }),
        search: t.arg.string({ required: false, description: 'Case-insensitive match on the title.' }),
      },
      resolve: (_root, { status, search, ...page }, { tenant }) =>
        paginate(page, (window) => tenant.documents.list({ status, search }, window)),
    },
    { name: 'DocumentConnection' },
    { name: 'DocumentEdge' },
  ),
  document: t.withAuth({ member: true }).field({
    type: Document,
    args: { id: t.arg.globalID({ for: Document }) },
    resolve: (_root, { id }, { tenant }) => tenant.documents.get(id.id),
  }),
}));

builder.mutationFields((t) => ({
  uploadDocument: t.withAuth({ editor: true }).field({
    type: UploadPayload,
    description: 'Upload a PDF, plain-text or Markdown file (EDITOR). Ingestion runs in the background: watch documentStatus.',
    args: {
      file: t.arg({ type: 'File' }),
      title: t.arg.string({ required: false, description: 'Defaults to the file name.' }),
    },
    resolve: async (_root, { file, title }, { tenant }) =>
      tenant.documents.upload({ bytes: new Uint8Array(await file.arrayBuffer()), name: file.name || null }, title),
  }),
  addTextDocument: t.withAuth({ editor: true }).field({
    type: UploadPayload,
    description: 'Add pasted text as a document (EDITOR).',
    args: { title: t.arg.string(), content: t.arg.string() },
    resolve: (_root, args, { tenant }) => tenant.documents.addText(args),
  }),
  deleteDocument: t.withAuth({ editor: true }).field({
    type: 'ID',
    description: 'Deletes the document with its chunks and bytes and cancels pending ingestion (EDITOR). Returns its id.',
    args: { id: t.arg.globalID({ for: Document }) },
    resolve: async (_root, { id }, { tenant }) => {
      await tenant.documents.delete(id.id);
      return Buffer.from(`Document:${id.id}`).toString('base64');
    },
  }),
  reindexDocument: t.withAuth({ editor: true }).field({
    type: Document,
    description: 'Runs ingestion again (EDITOR), e.g. after a failure.',
    args: { id: t.arg.globalID({ for: Document }) },
    resolve: (_root, { id }, { tenant }) => tenant.documents.reindex(id.id),
  }),
}));

const DocumentStatusEvent = builder.objectRef<DocumentStatusPayload>('DocumentStatusEvent').implement({
  fields: (t) => ({
    status: t.expose('status', { type: DocumentStatus }),
    progress: t.exposeFloat('progress', { nullable: true, description: '0..1 while PROCESSING.' }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (event) => new Date(event.at) }),
    // Read fresh per event: a subscription's context (and loader cache) lives as long as it does.
    document: t.field({
      type: Document,
      nullable: true,
      resolve: async (event, _args, { tenant }) => (await tenant?.documents.byIds([event.documentId]))?.[0] ?? null,
    }),
  }),
});

builder.subscriptionFields((t) => ({
  documentStatus: t.withAuth({ member: true }).field({
    type: DocumentStatusEvent,
    description: 'Status changes of the tenant’s documents (or of one document), as the worker makes them.',
    args: { documentId: t.arg.globalID({ for: Document, required: false }) },
    subscribe: (_root, { documentId }, { pubsub, viewer }) => {
      const events = pubsub.subscribe('documentStatus', viewer.tenantId);
      if (!documentId) return events;
      return filterEvents(events, (event) => event.documentId === documentId.id);
    },
    resolve: (event) => event,
  }),
}));

async function* filterEvents<T>(events: AsyncIterable<T>, keep: (event: T) => boolean): AsyncGenerator<T> {
  for await (const event of events) if (keep(event)) yield event;
}
