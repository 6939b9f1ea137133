// Uploading through the real GraphQL multipart request spec, and waiting for ingestion.
import { print } from 'graphql';
import {
  DocumentDocument,
  UploadDocumentDocument,
  type DocumentQuery,
  type UploadDocumentMutation,
} from '../__generated__/graphql.ts';
import type { TestApp } from './app.ts';
import { eventually } from './wait.ts';

/** A small guide with one answerable fact (the last eruption: 1913), shared by the chat tests. */
export const KESSEL_GUIDE = [
  'Mount Kessel is a stratovolcano on the northern coast.',
  'Its last eruption happened in 1913 and buried the harbour town under ash.',
  'The volcano is monitored by seismographs installed in 1962.',
  'Visitors can hike to the crater rim between June and September.',
  'The crater lake is acidic and has a vivid turquoise colour.',
].join(' ');

export async function upload(
  app: TestApp,
  token: string,
  bytes: Uint8Array,
  fileName: string,
  title?: string,
): Promise<{ data?: UploadDocumentMutation | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: print(UploadDocumentDocument), variables: { file: null, title } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new File([bytes as Uint8Array<ArrayBuffer>], fileName));
  const response = await app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return response.json();
}

export type DocumentView = NonNullable<DocumentQuery['document']>;

/** Polls the document until it is READY or FAILED. */
export async function waitForIngestion(app: TestApp, token: string, id: string, timeoutMs = 60_000): Promise<DocumentView> {
  let document: DocumentView | undefined;
  await eventually(
    async () => {
      document = (await app.ok(DocumentDocument, { id, chunksFirst: 100 }, token)).document;
      return document.status === 'READY' || document.status === 'FAILED';
    },
    `document ${id} to finish ingestion`,
    timeoutMs,
  );
  return document!;
}
