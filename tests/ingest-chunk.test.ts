// cleanText and chunkPages on built fixtures, plus one real long document when the PDF
// dataset is present.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chunkPages, type Chunk } from '../src/ingest/chunk.ts';
import { cleanText } from '../src/ingest/clean.ts';
import { extractPages } from '../src/ingest/extract.ts';

describe('cleanText', () => {
  it('joins words hyphenated across a line break only between lowercase letters', () => {
    expect(cleanText('an exam-\nple of hyphen-\n ation')).toBe('an example of hyphenation');
    expect(cleanText('the X-\nray and well-\nKnown')).toBe('the X- ray and well- Known');
    expect(cleanText('soft\u00AD\nhyphen and in\u00ADvisible')).toBe('softhyphen and invisible');
  });

  it('turns single line breaks into spaces and keeps paragraph breaks', () => {
    expect(cleanText('line one\r\nline two  \n\n \n  next\tparagraph\fpage two')).toBe(
      'line one line two\n\nnext paragraph\n\npage two',
    );
  });

  it('joins wrapped CJK lines without inserting a space', () => {
    expect(cleanText('中文\n文本 and English\nwords')).toBe('中文文本 and English words');
  });

  it('normalises to NFC, keeps full-width CJK, and maps vertical punctuation', () => {
    expect(cleanText('cafe\u0301')).toBe('café');
    expect(cleanText('ＡＢＣ１')).toBe('ＡＢＣ１'); // NFKC would have made this "ABC1"
    expect(cleanText('︵あらゆる︶︑明滅︒')).toBe('(あらゆる)、明滅。');
  });

  it('strips control characters and collapses runs of spaces', () => {
    expect(cleanText('\uFEFFa\u0000b\u0003 \u0007c  \t\u00A0 d\u0085e')).toBe('ab c d e');
  });

  it('is idempotent', () => {
    const once = cleanText('Some exam-\nple text.\n\n\nNew   para\ngraph\twith ︵forms︶.');
    expect(cleanText(once)).toBe(once);
  });

  it('stays linear on adversarial whitespace', () => {
    const hostile = `${' '.repeat(300_000)}x${' \n'.repeat(300_000)}y${'a-\n'.repeat(100_000)}`;
    const started = performance.now();
    const cleaned = cleanText(hostile);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(cleaned.startsWith('x\n\ny')).toBe(true);
  });
});

// Deterministic prose: sentences of 40–230 characters.
function prose(sentences: number, seed: number): string {
  const words = ['retrieval', 'chunk', 'tenant', 'vector', 'page', 'answer', 'model', 'query', 'index', 'a', 'of'];
  const out: string[] = [];
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  for (let s = 0; s < sentences; s++) {
    const length = 6 + (next() % 30);
    const sentence = Array.from({ length }, () => words[next() % words.length]).join(' ');
    out.push(`${sentence[0]!.toUpperCase()}${sentence.slice(1)}.`);
    if (next() % 7 === 0) out.push('\n\n');
  }
  return out.join(' ').replace(/ ?\n\n ?/g, '\n\n');
}

const pages = [1, 2, 3].map((pageNumber) => ({ pageNumber, text: cleanText(prose(60 * pageNumber, pageNumber)) }));
const textOf = (pageNumber: number) => pages.find((page) => page.pageNumber === pageNumber)!.text;
/** Consecutive pairs of chunks that are on the same page. */
const samePage = (chunks: Chunk[]) =>
  chunks
    .slice(1)
    .map((chunk, i) => [chunks[i]!, chunk] as const)
    .filter(([a, b]) => a.pageNumber === b.pageNumber);

describe('chunkPages', () => {
  const chunks = chunkPages(pages);

  it('keeps every chunk non-empty, trimmed and within maxChars, mostly near targetChars', () => {
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeGreaterThan(0);
      expect(chunk.text.length).toBeLessThanOrEqual(800);
      expect(chunk.text).toBe(chunk.text.trim());
    }
    const lengths = chunks.map((chunk) => chunk.text.length);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    expect(mean).toBeGreaterThan(350);
    expect(mean).toBeLessThanOrEqual(500);
  });

  it('numbers chunks in order and slices back to the chunk text', () => {
    chunks.forEach((chunk, i) => {
      expect(chunk.index).toBe(i);
      expect(textOf(chunk.pageNumber).slice(chunk.charStart, chunk.charEnd)).toBe(chunk.text);
    });
  });

  it('ends chunks on sentence boundaries', () => {
    for (const chunk of chunks) expect(chunk.text).toMatch(/\.$/);
  });

  it('covers every character of every page, and never crosses a page', () => {
    for (const page of pages) {
      const own = chunks.filter((chunk) => chunk.pageNumber === page.pageNumber);
      expect(own[0]!.charStart).toBe(0);
      expect(own.at(-1)!.charEnd).toBe(page.text.length);
      for (const [a, b] of samePage(own)) expect(b.charStart).toBeLessThanOrEqual(a.charEnd);
    }
    expect(chunks.map((chunk) => chunk.pageNumber)).toEqual([...chunks.map((chunk) => chunk.pageNumber)].sort());
  });

  it('overlaps consecutive chunks of a page by about overlapChars, starting on a word', () => {
    const pairs = samePage(chunks);
    expect(pairs.length).toBeGreaterThan(5);
    for (const [a, b] of pairs) {
      const overlap = a.charEnd - b.charStart;
      expect(overlap).toBeGreaterThanOrEqual(25);
      expect(overlap).toBeLessThanOrEqual(75);
      expect(textOf(b.pageNumber)[b.charStart - 1]).toMatch(/\s/);
    }
  });

  it('honours other sizes, and no overlap when asked', () => {
    const small = chunkPages(pages, { targetChars: 200, overlapChars: 0, maxChars: 300 });
    for (const chunk of small) expect(chunk.text.length).toBeLessThanOrEqual(300);
    for (const [a, b] of samePage(small)) expect(b.charStart).toBeGreaterThan(a.charEnd);
  });

  it('splits a sentence longer than maxChars on word boundaries', () => {
    const text = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const long = chunkPages([{ pageNumber: 7, text }]);
    expect(long.length).toBeGreaterThan(3);
    for (const chunk of long) {
      expect(chunk.text.length).toBeLessThanOrEqual(800);
      expect(chunk.text).toMatch(/^word\d+( word\d+)*$/);
      expect(text.slice(chunk.charStart, chunk.charEnd)).toBe(chunk.text);
    }
  });

  it('chunks CJK without spaces: at 。, else hard-split without splitting a surrogate pair', () => {
    const sentences = '吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。'.repeat(40);
    const jp = chunkPages([{ pageNumber: 1, text: sentences }]);
    expect(jp.length).toBeGreaterThan(2);
    for (const chunk of jp) {
      expect(chunk.text.length).toBeLessThanOrEqual(800);
      expect(chunk.text.endsWith('。')).toBe(true);
    }

    const run = '𠮷野家の牛丼'.repeat(400); // 2,800 UTF-16 units, no sentence end, astral 𠮷
    const hard = chunkPages([{ pageNumber: 1, text: run }]);
    expect(hard.length).toBeGreaterThanOrEqual(6);
    for (const chunk of hard) {
      expect(chunk.text.length).toBeLessThanOrEqual(800);
      expect(chunk.text.isWellFormed()).toBe(true);
      expect(run.slice(chunk.charStart, chunk.charEnd)).toBe(chunk.text);
    }
    for (const [a, b] of samePage(hard)) expect(a.charEnd - b.charStart).toBeGreaterThan(0);
  });

  it('yields nothing for empty pages and rejects inconsistent options', () => {
    expect(chunkPages([{ pageNumber: 1, text: '' }, { pageNumber: 2, text: ' \n\n ' }])).toEqual([]);
    expect(() => chunkPages(pages, { targetChars: 900, maxChars: 800 })).toThrow(RangeError);
    expect(() => chunkPages(pages, { targetChars: 100, overlapChars: 100 })).toThrow(RangeError);
  });

  it('is deterministic', () => {
    expect(chunkPages(pages)).toEqual(chunks);
  });
});

const gnuplot = new URL('../../shared/datasets/pdfs/gnuplot.pdf', import.meta.url);
const hasGnuplot = existsSync(gnuplot);
(hasGnuplot ? describe : describe.skip)(
  hasGnuplot ? 'gnuplot.pdf end to end' : `gnuplot.pdf: SKIPPED, dataset file not found at ${fileURLToPath(gnuplot)}`,
  () => {
    it('chunks all 311 pages within maxChars, every page with text yielding a chunk', { timeout: 20_000 }, async () => {
      const { pages: raw } = await extractPages(new Uint8Array(readFileSync(gnuplot)), 'application/pdf');
      const cleaned = raw.map((page) => ({ pageNumber: page.pageNumber, text: cleanText(page.text) }));
      const result = chunkPages(cleaned);
      expect(result.length).toBeGreaterThan(1_000);
      for (const chunk of result) {
        expect(chunk.text.length).toBeLessThanOrEqual(800);
        expect(cleaned[chunk.pageNumber - 1]!.text.slice(chunk.charStart, chunk.charEnd)).toBe(chunk.text);
      }
      const chunkedPages = new Set(result.map((chunk) => chunk.pageNumber));
      for (const page of cleaned) if (/\S/.test(page.text)) expect(chunkedPages.has(page.pageNumber)).toBe(true);
    });
  },
);
