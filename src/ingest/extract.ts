// Bytes of a detected type → text per page. PDFs go through pdf-parse (pdf.js); text and
// Markdown are one page. Every failure that is a property of the file becomes an IngestError;
// anything else (out of memory, a bug) is rethrown untouched so the job can retry.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PDFParse, VerbosityLevel } from 'pdf-parse';
import { decodeUtf8Text, type ContentType } from './detect.ts';
import { IngestError, IngestErrorCode } from './errors.ts';

export interface Page {
  pageNumber: number;
  text: string;
}
export interface Extraction {
  pages: Page[];
  pageCount: number;
}

// Fewer letters than this in the whole PDF means there is no text layer worth indexing
// (scans, vector outlines); digits and punctuation alone (page numbers) do not count.
const MIN_LETTERS = 5;

// pdf.js needs its predefined CMaps for CJK fonts that are not embedded (without them such
// text comes back empty) and its standard fonts for non-embedded base-14 fonts. They ship
// inside pdfjs-dist; resolve it through pdf-parse so we get the copy pdf-parse itself loads.
// In Node pdf.js reads these with fs, so they are paths, and it insists on a trailing "/".
const pdfjsDir = dirname(
  createRequire(createRequire(import.meta.url).resolve('pdf-parse')).resolve('pdfjs-dist/package.json'),
);
const pdfjsResources = {
  cMapUrl: `${join(pdfjsDir, 'cmaps')}/`,
  cMapPacked: true,
  standardFontDataUrl: `${join(pdfjsDir, 'standard_fonts')}/`,
};

export async function extractPages(bytes: Uint8Array, contentType: ContentType): Promise<Extraction> {
  if (bytes.length === 0) throw new IngestError(IngestErrorCode.EMPTY);
  return contentType === 'application/pdf' ? extractPdf(bytes) : extractText(bytes);
}

function extractText(bytes: Uint8Array): Extraction {
  const text = decodeUtf8Text(bytes).replace(/\r\n?/g, '\n');
  if (!/\S/.test(text)) throw new IngestError(IngestErrorCode.EMPTY);
  return { pages: [{ pageNumber: 1, text }], pageCount: 1 };
}

/** pdf-parse set up as ingestion uses it (bench/ingest.ts measures raw extraction with it too). */
export function openPdf(bytes: Uint8Array): PDFParse {
  return new PDFParse({
    // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy so the
    // caller can still hash or store its bytes.
    data: new Uint8Array(bytes),
    verbosity: VerbosityLevel.ERRORS, // recoverable damage must not print to stdout
    isEvalSupported: false, // uploads are untrusted: never compile PDF functions with eval
    ...pdfjsResources,
  });
}

async function extractPdf(bytes: Uint8Array): Promise<Extraction> {
  const parser = openPdf(bytes);
  try {
    // One pass over the pages: pdf-parse's own per-page text, nothing re-read.
    const result = await parser.getText();
    if (result.total === 0) throw new IngestError(IngestErrorCode.EMPTY);
    const pages = result.pages.map((page) => ({ pageNumber: page.num, text: page.text }));
    await appendFormValues(parser, pages);
    if (!hasLetters(pages)) throw new IngestError(IngestErrorCode.NO_TEXT);
    return { pages, pageCount: result.total };
  } catch (error) {
    throw toIngestError(error);
  } finally {
    await parser.destroy();
  }
}

// pdf.js error names, both raw (thrown while reading pages) and as re-created by pdf-parse.
function toIngestError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof IngestError) return error;
  switch (error.name) {
    case 'PasswordException':
      return new IngestError(IngestErrorCode.PDF_ENCRYPTED, { cause: error });
    case 'InvalidPDFException':
    case 'FormatError':
      return new IngestError(IngestErrorCode.PDF_INVALID, { cause: error });
    default:
      return error;
  }
}

function hasLetters(pages: Page[]): boolean {
  let letters = 0;
  for (const { text } of pages) {
    for (const _ of text.matchAll(/\p{L}/gu)) if (++letters >= MIN_LETTERS) return true;
  }
  return false;
}

// The part of pdf.js's field objects we read (see PDFDocumentProxy.getFieldObjects).
interface FieldObject {
  name?: string;
  type?: string;
  value?: unknown;
  page?: number; // 0-based
  hidden?: boolean;
  password?: boolean;
}
interface FormSource {
  getFieldObjects(): Promise<Record<string, FieldObject[]> | null>;
}

/**
 * Filled-in AcroForm values are not part of the page's text content, yet they are often the
 * point of the document. Text and choice fields are appended to their page as "Name: value"
 * lines; password and hidden fields are skipped. pdf-parse keeps the loaded pdf.js document
 * in a private `doc` field; reading it avoids opening the file a second time. If a future
 * pdf-parse renames it, form values silently disappear (the libreoffice-form test catches it).
 */
async function appendFormValues(parser: PDFParse, pages: Page[]): Promise<void> {
  const doc = Reflect.get(parser, 'doc') as FormSource | undefined;
  // A damaged form dictionary must not cost the document its page text.
  const fields = await doc?.getFieldObjects().catch(() => null);
  if (!fields) return;
  const linesByPage = new Map<Page, Set<string>>();
  for (const [key, widgets] of Object.entries(fields)) {
    for (const field of widgets) {
      const value = fieldText(field);
      const page = pages[field.page ?? 0];
      if (value === '' || page === undefined) continue;
      const lines = linesByPage.get(page) ?? new Set<string>(); // a Set: one field, many widgets
      lines.add(`${field.name ?? key}: ${value}`);
      linesByPage.set(page, lines);
    }
  }
  for (const [page, lines] of linesByPage) page.text += `\n\n${[...lines].join('\n')}`;
}

function fieldText(field: FieldObject): string {
  if (field.hidden || field.password) return '';
  if (field.type !== 'text' && field.type !== 'combobox' && field.type !== 'listbox') return '';
  const value = Array.isArray(field.value) ? field.value.filter((v) => typeof v === 'string').join(', ') : field.value;
  return typeof value === 'string' ? value.trim() : '';
}
