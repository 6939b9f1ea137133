// Splits each page's text into retrieval chunks of whole sentences. Pass text that went
// through cleanText: chunk offsets index into `page.text` exactly as given, so that
// `page.text.slice(chunk.charStart, chunk.charEnd) === chunk.text` always holds.
//
// Per page: sentences (Intl.Segmenter, which also knows CJK full stops) are trimmed to
// "units"; a sentence longer than maxChars is cut into pieces of at most targetChars at word
// or clause boundaries (hard cuts for scripts without spaces). Units are packed greedily
// while the chunk stays within targetChars. Each chunk after the first on a page starts with
// about overlapChars of the previous chunk: whole trailing sentences when they come close to
// that size, else the trailing words (or characters). No chunk exceeds maxChars, and a chunk
// never crosses a page.

export interface Chunk {
  index: number;
  pageNumber: number;
  text: string;
  charStart: number;
  charEnd: number;
}
export interface ChunkOptions {
  targetChars?: number;
  overlapChars?: number;
  maxChars?: number;
}
interface Span {
  start: number;
  end: number;
}
interface Limits {
  target: number;
  overlap: number;
  max: number;
}

const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });
const WHITESPACE = /\s/;
// A long sentence may be cut after these clause marks as well as at spaces.
const CLAUSE_END = /[,;:，、；：]/;

export function chunkPages(pages: { pageNumber: number; text: string }[], options: ChunkOptions = {}): Chunk[] {
  const limits = {
    target: options.targetChars ?? 500,
    overlap: options.overlapChars ?? 50,
    max: options.maxChars ?? 800,
  };
  if (!(limits.target >= 1 && limits.max >= limits.target && limits.overlap >= 0 && limits.overlap < limits.target)) {
    throw new RangeError('chunkPages needs 1 <= targetChars <= maxChars and 0 <= overlapChars < targetChars');
  }
  const chunks: Chunk[] = [];
  for (const { pageNumber, text } of pages) {
    for (const { start, end } of packUnits(text, sentenceUnits(text, limits), limits)) {
      chunks.push({ index: chunks.length, pageNumber, text: text.slice(start, end), charStart: start, charEnd: end });
    }
  }
  return chunks;
}

function packUnits(text: string, units: Span[], { target, overlap, max }: Limits): Span[] {
  const last = units.at(-1);
  if (last === undefined) return [];
  const spans: Span[] = [];
  let i = 0;
  while (i < units.length) {
    const first = units[i]!;
    const previous = spans.at(-1);
    let start = first.start;
    if (previous !== undefined && overlap > 0) {
      const overlapStart = findOverlapStart(text, units, i, previous, overlap);
      // Never let the overlap push a chunk past maxChars; drop it for such a long sentence.
      if (overlapStart !== undefined && first.end - overlapStart <= max) start = overlapStart;
    }
    let end = first.end;
    for (i++; i < units.length && units[i]!.end - start <= target; i++) end = units[i]!.end;
    // Absorb a short page tail rather than leave a tiny last chunk.
    if (i < units.length && last.end - units[i]!.start < target / 4 && last.end - start <= max) {
      end = last.end;
      i = units.length;
    }
    spans.push({ start, end });
  }
  return spans;
}

/** Sentences without surrounding whitespace; those over maxChars are cut to <= targetChars. */
function sentenceUnits(text: string, { target, max }: Limits): Span[] {
  const units: Span[] = [];
  for (const { index, segment } of sentenceSegmenter.segment(text)) {
    const span = trim(text, index, index + segment.length);
    if (span.end <= span.start) continue;
    if (span.end - span.start <= max) units.push(span);
    else units.push(...splitLong(text, span, target));
  }
  return units;
}

function splitLong(text: string, { start, end }: Span, size: number): Span[] {
  const pieces: Span[] = [];
  while (end - start > size) {
    const cut = findCut(text, start + Math.ceil(size / 2), start + size);
    pieces.push(trim(text, start, cut));
    start = trim(text, cut, end).start;
  }
  pieces.push({ start, end });
  return pieces;
}

/** The last position in [from, to] that ends after whitespace or a clause mark, else `to`. */
function findCut(text: string, from: number, to: number): number {
  for (let p = to; p >= from; p--) {
    if (WHITESPACE.test(text[p]!) || CLAUSE_END.test(text[p - 1]!)) return p;
  }
  return isLowSurrogate(text, to) ? to - 1 : to; // never split a surrogate pair
}

/**
 * Where the next chunk starts inside the previous one: whole trailing sentences if they make
 * at least half of the wanted overlap without exceeding 1.5 times it; else the first word
 * boundary in the last `overlap` characters; else (no spaces, e.g. CJK) exactly `overlap`
 * characters back. Undefined (no overlap) when the previous chunk is not longer than the
 * overlap itself: repeating all of it, or cutting into its first word, helps no one.
 */
function findOverlapStart(text: string, units: Span[], next: number, previous: Span, overlap: number) {
  const end = previous.end;
  let sentences = end;
  for (let k = next - 1; k >= 0 && units[k]!.start > previous.start && end - units[k]!.start <= overlap * 1.5; k--) {
    sentences = units[k]!.start;
  }
  if (end - sentences >= overlap / 2) return sentences;
  const from = end - overlap;
  if (from <= previous.start) return undefined;
  for (let p = from; p < end - overlap / 2; p++) {
    if (WHITESPACE.test(text[p]!)) return trim(text, p, end).start;
  }
  return isLowSurrogate(text, from) ? from + 1 : from; // never split a surrogate pair
}

function trim(text: string, start: number, end: number): Span {
  while (start < end && WHITESPACE.test(text[start]!)) start++;
  while (end > start && WHITESPACE.test(text[end - 1]!)) end--;
  return { start, end };
}

/** True when `position` is the second half of a surrogate pair (astral CJK, emoji). */
function isLowSurrogate(text: string, position: number): boolean {
  const code = text.charCodeAt(position);
  return code >= 0xdc00 && code <= 0xdfff;
}
