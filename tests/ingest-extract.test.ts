// Content detection on built fixtures, and extraction of the 15 real-world PDFs of
// ../shared/datasets/pdfs driven by its manifest (expected page count, poppler's character
// count, and the expected behaviour: extract text / reject with a reason).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanText } from '../src/ingest/clean.ts';
import { detectContentType } from '../src/ingest/detect.ts';
import { IngestError, IngestErrorCode } from '../src/ingest/errors.ts';
import { extractPages, extractPieces, PAGES_PER_PIECE, type Extraction, type PagePiece } from '../src/ingest/extract.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const bytesOf = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((part) => (typeof part === 'string' ? [...utf8(part)] : part)));

/** The IngestError code a promise or call rejects with (fails the test on success). */
async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).permanent).toBe(true);
    return (error as IngestError).code;
  }
  throw new Error('expected an IngestError, got success');
}

describe('detectContentType', () => {
  it('recognises a PDF by its magic, also after leading junk within 1024 bytes', () => {
    expect(detectContentType(utf8('%PDF-1.7\n%âãÏÓ\n1 0 obj'))).toBe('application/pdf');
    expect(detectContentType(bytesOf(new Array(600).fill(0xff), '%PDF-1.4\n'))).toBe('application/pdf');
  });

  it('ignores a PDF magic that starts after the first 1024 bytes', () => {
    expect(detectContentType(utf8(`${' '.repeat(1100)}%PDF-1.4 is a version`))).toBe('text/plain');
  });

  it('never trusts the file name for the PDF decision', () => {
    expect(detectContentType(utf8('just words'), 'report.pdf')).toBe('text/plain');
  });

  it('accepts UTF-8 with a BOM as text', () => {
    expect(detectContentType(bytesOf([0xef, 0xbb, 0xbf], 'Grüße, 世界'))).toBe('text/plain');
  });

  it('recognises Markdown by headings, fenced code, or lists with links', () => {
    expect(detectContentType(utf8('Intro\n\n## Usage\n\nRun it.'))).toBe('text/markdown');
    expect(detectContentType(utf8('Example:\n```js\nlet a = 1;\n```\n'))).toBe('text/markdown');
    expect(detectContentType(utf8('See:\n- [docs](https://example.com/docs)\n- more\n'))).toBe('text/markdown');
  });

  it('keeps prose, a list alone or "#hashtag" as plain text unless the name says Markdown', () => {
    const list = utf8('Shopping:\n- milk\n- bread\n#groceries');
    expect(detectContentType(list)).toBe('text/plain');
    expect(detectContentType(list, 'notes.txt')).toBe('text/plain');
    expect(detectContentType(list, 'notes.md')).toBe('text/markdown');
    // Content wins over the name when it is decisive.
    expect(detectContentType(utf8('# Title\n'), 'notes.txt')).toBe('text/markdown');
  });

  it('rejects binary data, even when named .md', async () => {
    const png = bytesOf([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    expect(await codeOf(() => detectContentType(png))).toBe(IngestErrorCode.UNSUPPORTED_TYPE);
    expect(await codeOf(() => detectContentType(png, 'readme.md'))).toBe(IngestErrorCode.UNSUPPORTED_TYPE);
  });

  it('rejects invalid UTF-8, NUL bytes and control-character soup', async () => {
    expect(await codeOf(() => detectContentType(bytesOf('caf', [0xc3, 0x28], ' au lait')))).toBe('UNSUPPORTED_TYPE');
    expect(await codeOf(() => detectContentType(bytesOf('abc', [0], 'def')))).toBe('UNSUPPORTED_TYPE');
    const controls = bytesOf(...Array.from({ length: 50 }, () => ['record', [0x01, 0x02, 0x1b]]).flat());
    expect(await codeOf(() => detectContentType(controls))).toBe('UNSUPPORTED_TYPE');
  });

  it('calls zero bytes EMPTY', async () => {
    expect(await codeOf(() => detectContentType(new Uint8Array()))).toBe(IngestErrorCode.EMPTY);
  });
});

// A minimal PDF: pdf.js rebuilds the missing cross-reference table (quietly). Every page is
// an object of its own (pdf.js refuses a page tree that lists one page object twice), all
// drawing the same content stream.
function builtPdf(pageCount: number, content: string): Uint8Array {
  const pageIds = Array.from({ length: pageCount }, (_, i) => 5 + i);
  const pages = pageIds
    .map(
      (id) =>
        `${id} 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Resources<</Font<</F1 3 0 R>>>>/Contents 4 0 R>> endobj\n`,
    )
    .join('');
  return utf8(
    '%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n' +
      `2 0 obj <</Type/Pages/Kids[${pageIds.map((id) => `${id} 0 R`).join(' ')}]/Count ${pageCount}>> endobj\n` +
      '3 0 obj <</Type/Font/Subtype/Type1/BaseFont/Helvetica>> endobj\n' +
      `4 0 obj <</Length ${content.length}>> stream\n${content}\nendstream endobj\n` +
      pages +
      'trailer <</Root 1 0 R>>\n%%EOF\n',
  );
}

describe('extractPages for built PDFs', () => {
  it('extracts the text of a minimal PDF', async () => {
    const pdf = builtPdf(1, 'BT /F1 12 Tf 20 100 Td (Hello from a built PDF.) Tj ET');
    const result = await extractPages(pdf, 'application/pdf');
    expect(result.pageCount).toBe(1);
    expect(result.pages[0]?.text.trim()).toBe('Hello from a built PDF.');
  });

  it('calls a page with only graphics NO_TEXT and a PDF without pages EMPTY', async () => {
    const drawing = builtPdf(1, '0 0 1 rg 10 10 100 100 re f');
    expect(await codeOf(() => extractPages(drawing, 'application/pdf'))).toBe(IngestErrorCode.NO_TEXT);
    expect(await codeOf(() => extractPages(builtPdf(0, ''), 'application/pdf'))).toBe(IngestErrorCode.EMPTY);
  });

  it('yields the pages in order, a piece at a time, each piece knowing the page count', async () => {
    const pdf = builtPdf(PAGES_PER_PIECE * 2 + 3, 'BT /F1 12 Tf 20 100 Td (Same words on every page.) Tj ET');
    const pieces: PagePiece[] = [];
    for await (const piece of extractPieces(pdf, 'application/pdf')) pieces.push(piece);
    expect(pieces.map((piece) => piece.pages.length)).toEqual([PAGES_PER_PIECE, PAGES_PER_PIECE, 3]);
    expect(pieces.every((piece) => piece.pageCount === PAGES_PER_PIECE * 2 + 3)).toBe(true);
    expect(pieces.flatMap((piece) => piece.pages.map((page) => page.pageNumber))).toEqual(
      Array.from({ length: PAGES_PER_PIECE * 2 + 3 }, (_, i) => i + 1),
    );
  });

  it('says NO_TEXT only after the last piece, once the whole document had too few letters', async () => {
    const drawing = builtPdf(PAGES_PER_PIECE + 1, '0 0 1 rg 10 10 100 100 re f');
    const seen: number[] = [];
    const failure = await codeOf(async () => {
      for await (const piece of extractPieces(drawing, 'application/pdf')) seen.push(piece.pages.length);
    });
    expect(failure).toBe(IngestErrorCode.NO_TEXT);
    expect(seen).toEqual([PAGES_PER_PIECE, 1]);
  });
});

describe('extractPages for text and Markdown', () => {
  it('decodes UTF-8 without the BOM, normalises CRLF, and returns one page', async () => {
    const bytes = bytesOf([0xef, 0xbb, 0xbf], '# Title\r\n\r\nLine one\rLine two');
    const result = await extractPages(bytes, 'text/markdown');
    expect(result).toEqual({ pageCount: 1, pages: [{ pageNumber: 1, text: '# Title\n\nLine one\nLine two' }] });
  });

  it('calls whitespace-only and zero-byte input EMPTY', async () => {
    expect(await codeOf(() => extractPages(utf8(' \r\n\t\n'), 'text/plain'))).toBe(IngestErrorCode.EMPTY);
    expect(await codeOf(() => extractPages(new Uint8Array(), 'application/pdf'))).toBe(IngestErrorCode.EMPTY);
  });

  it('rejects bytes that are not text even when told they are', async () => {
    expect(await codeOf(() => extractPages(bytesOf([0xff, 0xfe, 0x00, 0x41]), 'text/plain'))).toBe('UNSUPPORTED_TYPE');
  });
});

const datasetDir = new URL('../../shared/datasets/pdfs/', import.meta.url);
const hasDataset = existsSync(new URL('manifest.tsv', datasetDir));

interface ManifestRow {
  file: string;
  pages: string;
  popplerTextChars: number;
  expectedBehaviour: string;
}

function readManifest(): ManifestRow[] {
  const [header, ...lines] = readFileSync(new URL('manifest.tsv', datasetDir), 'utf8').trim().split('\n');
  const columns = header!.split('\t');
  const column = (cells: string[], name: string) => {
    const value = cells[columns.indexOf(name)];
    if (value === undefined) throw new Error(`manifest.tsv has no column ${name}`);
    return value;
  };
  return lines.map((line) => {
    const cells = line.split('\t');
    return {
      file: column(cells, 'file'),
      pages: column(cells, 'pages'),
      popplerTextChars: Number(column(cells, 'poppler_text_chars')),
      expectedBehaviour: column(cells, 'expected_behaviour'),
    };
  });
}

const readPdf = (file: string) => new Uint8Array(readFileSync(new URL(file, datasetDir)));
const allText = (result: Extraction) => result.pages.map((page) => page.text).join('\n');
const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;
const nonWhitespace = (text: string) => count(text, /\S/gu);

// pdf.js and poppler differ in details: ligatures expanded or kept as one character, text
// drawn twice (fake bold) or clipped, form values (which poppler leaves out and we append).
// On this set every extraction lands within 0.5 % of poppler except the form (+22 %, its
// appended "Name: value" lines). The band catches lost text (dropped pages, fonts that fail
// to decode) and duplicated text, while leaving room for those known differences. CJK loss
// is checked separately: losing every CJK character of lshort-zh-cn would still keep 70 %.
const MIN_RATIO = 0.9;
const MAX_RATIO = 1.3;

// Extra checks for files whose difficulty a character count does not show.
const contentChecks: Record<string, (text: string) => void> = {
  'jo.pdf': (text) =>
    expect(count(text, /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu)).toBeGreaterThanOrEqual(850),
  'lshort-zh-cn.pdf': (text) => expect(count(text, /\p{Script=Han}/gu)).toBeGreaterThan(40_000),
  'habibi.pdf': (text) => {
    expect(text).toContain('habibi');
    expect(count(text, /\p{Script=Arabic}/gu)).toBeGreaterThanOrEqual(8);
  },
  'libreoffice-form.pdf': (text) => {
    expect(text).toContain('First Name: Alice');
    expect(text).toContain('First Name_2: Bob');
  },
  'zen_of_python_corrupted.pdf': (text) => expect(text).toContain('Beautiful is better than ugly.'),
  // Two-column layout: reading order follows the column, and a word hyphenated at the end of
  // a column line is joined again by cleanText.
  'multicolumn.pdf': (text) =>
    expect(cleanText(text)).toContain('Lorem ipsum dolor sit amet, consectetuer adipiscing elit.'),
};

const rejections: [prefix: string, code: string][] = [
  ['reject: password required', IngestErrorCode.PDF_ENCRYPTED],
  ['reject: not a valid PDF', IngestErrorCode.PDF_INVALID],
  ['no extractable text: needs OCR', IngestErrorCode.NO_TEXT],
];

const datasetSuite = hasDataset ? describe : describe.skip;
datasetSuite(
  hasDataset
    ? 'real PDFs from the dataset manifest'
    : `real PDFs: SKIPPED, dataset not found; expected manifest.tsv and the PDFs in ${fileURLToPath(datasetDir)}`,
  () => {
    const rows = hasDataset ? readManifest() : [];

    it('lists all 15 files', () => {
      expect(rows).toHaveLength(15);
    });

    for (const row of rows) {
      it(`${row.file}: ${row.expectedBehaviour}`, { timeout: 15_000 }, async () => {
        const bytes = readPdf(row.file);
        expect(detectContentType(bytes, row.file)).toBe('application/pdf');

        if (row.expectedBehaviour.startsWith('extract text')) {
          const result = await extractPages(bytes, 'application/pdf');
          expect(result.pageCount).toBe(Number(row.pages));
          expect(result.pages.map((page) => page.pageNumber)).toEqual(
            Array.from({ length: result.pageCount }, (_, i) => i + 1),
          );
          const chars = nonWhitespace(allText(result));
          expect(chars).toBeGreaterThanOrEqual(Math.floor(row.popplerTextChars * MIN_RATIO));
          expect(chars).toBeLessThanOrEqual(Math.ceil(row.popplerTextChars * MAX_RATIO));
          contentChecks[row.file]?.(allText(result));
          return;
        }
        const rejection = rejections.find(([prefix]) => row.expectedBehaviour.startsWith(prefix));
        if (!rejection) throw new Error(`no test for expected behaviour "${row.expectedBehaviour}"`);
        expect(await codeOf(() => extractPages(bytes, 'application/pdf'))).toBe(rejection[1]);
      });
    }

    describe('side effects', () => {
      afterEach(() => vi.restoreAllMocks());

      it('leaves the caller\'s bytes intact (pdf.js detaches the buffer it is given)', async () => {
        const bytes = readPdf('jo.pdf');
        const before = Buffer.from(bytes).toString('base64');
        await extractPages(bytes, 'application/pdf');
        expect(bytes.buffer.detached).toBe(false);
        expect(Buffer.from(bytes).toString('base64')).toBe(before);
      });

      it('prints nothing while reading damaged or CJK files', async () => {
        // pdf.js logs warnings with console.log ("Indexing all PDF objects", missing CMaps).
        const log = vi.spyOn(console, 'log');
        const warn = vi.spyOn(console, 'warn');
        await extractPages(readPdf('zen_of_python_corrupted.pdf'), 'application/pdf');
        await extractPages(readPdf('jo.pdf'), 'application/pdf');
        await codeOf(() => extractPages(readPdf('invalid.pdf'), 'application/pdf'));
        expect(log).not.toHaveBeenCalled();
        expect(warn).not.toHaveBeenCalled();
      });
    });
  },
);
