// The documents panel: the tenant's documents with their ingestion status, kept live by the
// documentStatus subscription (QUEUED → PROCESSING n% → READY | FAILED), and an upload form.
import {
  DocumentsDocument,
  DocumentStatusDocument,
  UploadDocumentDocument,
  type DocumentItemFragment,
} from './__generated__/graphql.ts';
import { request, upload } from './api.ts';
import { byId, h, say } from './dom.ts';
import type { SignedIn } from './session.ts';

const list = byId<HTMLUListElement>('document-list');
const form = byId<HTMLFormElement>('upload-form');
const fileInput = byId<HTMLInputElement>('upload-file');
const status = byId('documents-status');

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function describe(document: DocumentItemFragment, progress: number | null): string {
  switch (document.status) {
    case 'PROCESSING':
      return progress === null ? 'processing…' : `processing ${Math.round(progress * 100)}%`;
    case 'READY':
      return [document.pageCount && count(document.pageCount, 'page'), count(document.chunkCount ?? 0, 'chunk')]
        .filter(Boolean)
        .join(' · ');
    case 'FAILED':
      return `${document.errorCode ?? 'failed'}: ${document.errorMessage ?? ''}`;
    default:
      return 'waiting for the worker…';
  }
}

const rowOf = (id: string) => list.querySelector<HTMLLIElement>(`li[data-id="${CSS.escape(id)}"]`);
const readyMessage = (title: string) => `“${title}” is ready: ask about it.`;

/** Adds or replaces the row of a document (newest first). */
function show(document: DocumentItemFragment, progress: number | null = null): void {
  const row = h(
    'li',
    { 'data-id': document.id, 'data-status': document.status },
    h('span', { class: 'title' }, document.title),
    h('span', { class: 'badge' }, document.status),
    h('small', {}, describe(document, progress)),
  );
  const existing = rowOf(document.id);
  if (existing) existing.replaceWith(row);
  else list.prepend(row);
}

/** Loads the list and follows status changes until the returned function is called. */
export async function startDocuments(session: SignedIn): Promise<() => void> {
  list.replaceChildren();
  const canUpload = session.user.role !== 'MEMBER';
  form.hidden = !canUpload;
  say(status, canUpload ? '' : 'Uploading needs the EDITOR or ADMIN role; you can ask about the documents below.');

  let uploaded: string | null = null; // the document of the last upload, to say when it is done

  // Subscribe first, then list: nothing is missed in between. A row an event has already
  // written is newer than the list's copy and is kept.
  const unsubscribe = session.live.subscribe(DocumentStatusDocument, {}, {
    next: ({ documentStatus: event }) => {
      const { document } = event;
      if (!document) return; // deleted meanwhile
      show({ ...document, status: event.status }, event.progress);
      if (document.id === uploaded && event.status === 'READY') say(status, readyMessage(document.title));
      if (document.id === uploaded && event.status === 'FAILED') say(status, `“${document.title}” failed: ${event.errorCode}`, 'error');
    },
    error: (error) => say(status, error),
  });
  const { documents } = await request(DocumentsDocument, { first: 50 }, session.token);
  for (const { node } of documents.edges.toReversed()) if (!rowOf(node.id)) show(node);

  form.onsubmit = async (event) => {
    event.preventDefault();
    const file = fileInput.files?.[0];
    if (!file) return;
    say(status, `Uploading ${file.name}…`);
    try {
      const { uploadDocument } = await upload(UploadDocumentDocument, { file }, session.token);
      const { document, deduplicated } = uploadDocument;
      uploaded = document.id;
      // Status events may already have moved it further on: never show an older state.
      if (!rowOf(document.id)) show(document);
      if (deduplicated) say(status, `“${document.title}” was already uploaded.`);
      else if (rowOf(document.id)?.dataset.status === 'READY') say(status, readyMessage(document.title));
      else say(status, `Uploaded “${document.title}”: ingesting…`);
      form.reset();
    } catch (error) {
      say(status, error);
    }
  };

  return () => {
    unsubscribe();
    form.onsubmit = null;
  };
}
