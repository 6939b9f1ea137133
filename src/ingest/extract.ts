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

/** Pages per pdf-parse call when extracting a PDF piece by piece. */
export const PAGES_PER_PIECE = 8;

/** A run of consecutive pages, as extraction produces them. */
export interface PagePiece {
  pages: Page[];
  /** Pages in the whole document. */
  pageCount: number;
}

/** All pages at once. */
export async function extractPages(bytes: Uint8Array, contentType: ContentType): Promise<Extraction> {
  const pages: Page[] = [];
  let pageCount = 0;
  for await (const piece of extractPieces(bytes, contentType)) {
    pages.push(...piece.pages);
    pageCount = piece.pageCount;
  }
  return { pages, pageCount };
}

/**
 * The pages in order, a few at a time, so that ingestion can chunk, embed and write the first
 * pages while pdf.js reads the next ones. Whole-document verdicts come where they can be made:
 * EMPTY before the first piece, NO_TEXT after the last (a consumer must not commit before the
 * iteration has finished).
 */
export async function* extractPieces(bytes: Uint8Array, contentType: ContentType): AsyncGenerator<PagePiece> {
  if (bytes.length === 0) throw new IngestError(IngestErrorCode.EMPTY);
  if (contentType !== 'application/pdf') {
    const { pages, pageCount } = extractText(bytes);
    yield { pages, pageCount };
    return;
  }
  yield* extractPdfPieces(bytes);
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

async function* extractPdfPieces(bytes: Uint8Array): AsyncGenerator<PagePiece> {
  const parser = openPdf(bytes);
  try {
    // pdf-parse loads the document on the first call and keeps it; each call reads only its
    // pages, and every result says how many pages the document has.
    let formLines: Map<number, string[]> | null = null;
    let letters = 0;
    let pageCount = 0;
    for (let first = 1; first === 1 || first <= pageCount; first += PAGES_PER_PIECE) {
      let result;
      try {
        result = await parser.getText({ first, last: first + PAGES_PER_PIECE - 1 });
      } catch (error) {
        throw toIngestError(error);
      }
      pageCount = result.total;
      if (pageCount === 0) throw new IngestError(IngestErrorCode.EMPTY);
      formLines ??= await formValuesByPage(parser);
      const pages = result.pages.map((page) => {
        const lines = formLines!.get(page.num);
        return { pageNumber: page.num, text: lines ? `${page.text}\n\n${lines.join('\n')}` : page.text };
      });
      letters += countLetters(pages, MIN_LETTERS - letters);
      yield { pages, pageCount };
    }
    if (letters < MIN_LETTERS) throw new IngestError(IngestErrorCode.NO_TEXT);
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

/** Letters in the pages, counting no further than `enough`. */
function countLetters(pages: Page[], enough: number): number {
  let letters = 0;
  for (const { text } of pages) {
    for (const _ of text.matchAll(/\p{L}/gu)) if (++letters >= enough) return letters;
  }
  return letters;
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
 * point of the document. Text and choice fields become "Name: value" lines of their page
 * (1-based page number → lines); password and hidden fields are skipped. pdf-parse keeps the
 * loaded pdf.js document in a private `doc` field; reading it avoids opening the file a second
 * time. If a future pdf-parse renames it, form values silently disappear (the
 * libreoffice-form test catches it).
 */
async function formValuesByPage(parser: PDFParse): Promise<Map<number, string[]>> {
  const byPage = new Map<number, string[]>();
  const doc = Reflect.get(parser, 'doc') as FormSource | undefined;
  // A damaged form dictionary must not cost the document its page text.
  const fields = await doc?.getFieldObjects().catch(() => null);
  if (!fields) return byPage;
  const seen = new Map<number, Set<string>>(); // a Set per page: one field, many widgets
  for (const [key, widgets] of Object.entries(fields)) {
    for (const field of widgets) {
      const value = fieldText(field);
      if (value === '') continue;
      const pageNumber = (field.page ?? 0) + 1;
      const lines = seen.get(pageNumber) ?? new Set<string>();
      lines.add(`${field.name ?? key}: ${value}`);
      seen.set(pageNumber, lines);
    }
  }
  for (const [pageNumber, lines] of seen) byPage.set(pageNumber, [...lines]);
  return byPage;
}

function fieldText(field: FieldObject): string {
  if (field.hidden || field.password) return '';
  if (field.type !== 'text' && field.type !== 'combobox' && field.type !== 'listbox') return '';
  const value = Array.isArray(field.value) ? field.value.filter((v) => typeof v === 'string').join(', ') : field.value;
  return typeof value === 'string' ? value.trim() : '';
}
