// Every real PDF of ../shared/datasets/pdfs reaches the terminal status its manifest expects,
// through the whole product path: multipart upload → job → document status.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { upload, waitForIngestion, type DocumentView } from './helpers/documents.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { signUpTenant, type TestTenant } from './helpers/tenants.ts';

const DATASET = new URL('../../shared/datasets/pdfs/', import.meta.url);
const present = fs.existsSync(new URL('manifest.tsv', DATASET));

interface Row {
  file: string;
  pages: string;
  expected: string;
}

function manifest(): Row[] {
  const [header, ...lines] = fs.readFileSync(new URL('manifest.tsv', DATASET), 'utf8').trim().split('\n');
  const columns = header!.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    const get = (name: string) => cells[columns.indexOf(name)] ?? '';
    return { file: get('file'), pages: get('pages'), expected: get('expected_behaviour') };
  });
}

/** What the manifest's expected behaviour means for our document status. */
function expectation(row: Row): { status: 'READY' } | { status: 'FAILED'; errorCode: string } {
  if (row.expected.startsWith('extract text')) return { status: 'READY' };
  if (row.expected.startsWith('reject: password required')) return { status: 'FAILED', errorCode: 'PDF_ENCRYPTED' };
  if (row.expected.startsWith('reject: not a valid PDF')) return { status: 'FAILED', errorCode: 'PDF_INVALID' };
  if (row.expected.startsWith('no extractable text')) return { status: 'FAILED', errorCode: 'NO_TEXT' };
  throw new Error(`unknown expected behaviour: ${row.expected}`);
}

describe.skipIf(!present)('real PDFs from ../shared/datasets/pdfs (skipped when that folder is absent)', () => {
  let app: TestApp;
  let tenant: TestTenant;
  const results = new Map<string, DocumentView>();

  beforeAll(async () => {
    app = await startTestApp({}, { embedder: hashEmbedder() });
    tenant = await signUpTenant(app);
    const ids = new Map<string, string>();
    for (const row of manifest()) {
      const bytes = fs.readFileSync(new URL(row.file, DATASET));
      const result = await upload(app, tenant.admin.token, new Uint8Array(bytes), row.file);
      if (result.errors) throw new Error(`${row.file}: ${JSON.stringify(result.errors)}`);
      ids.set(row.file, result.data!.uploadDocument.document.id);
    }
    for (const [file, id] of ids) results.set(file, await waitForIngestion(app, tenant.admin.token, id, 240_000));
  }, 300_000);
  afterAll(() => app?.close());

  it.each(present ? manifest() : [])('$file: $expected', (row) => {
    const document = results.get(row.file)!;
    const expected = expectation(row);
    expect({ status: document.status, errorCode: document.errorCode }).toEqual({
      status: expected.status,
      errorCode: expected.status === 'FAILED' ? expected.errorCode : null,
    });
    if (expected.status === 'READY') {
      expect(document.pageCount).toBe(Number(row.pages));
      expect(document.chunkCount).toBeGreaterThan(0);
    } else {
      expect(document.errorMessage?.length).toBeGreaterThan(20);
    }
  });
});
