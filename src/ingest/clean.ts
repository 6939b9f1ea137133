// Normalises extracted text before chunking, so that chunks, embeddings and full-text
// search see words rather than layout. Every step is a single regex pass with no nested
// quantifiers over the same characters, so the whole function is linear in the input.

// Vertical presentation forms (vertical CJK layout: "︵", "︑", "︒" …) become their ordinary
// punctuation so search and sentence splitting recognise them. NFKC does exactly this for
// these blocks; it is applied to them only because NFKC elsewhere would rewrite CJK text
// (full-width forms, compatibility ideographs) that NFC leaves intact.
const VERTICAL_FORMS = /[\uFE10-\uFE19\uFE30-\uFE4F]/g;
const PARAGRAPH_SEPARATORS = /[\f\u2029]/g; // form feed (page break), paragraph separator
const LINE_SEPARATORS = /\r\n?|[\v\u0085\u2028]/g;
// C0/C1 controls other than tab and line feed, plus the BOM / zero-width no-break space.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\0-\x08\x0B-\x1F\x7F-\x9F\uFEFF]/g;
const HORIZONTAL_SPACE = /[\t\p{Zs}]+/gu;
// "exam-\nple" → "example": a hyphen (or soft hyphen) at a line end between lowercase letters.
const LINE_END_HYPHEN = /(\p{Ll})[-\u00AD\u2010] ?\n ?(?=\p{Ll})/gu;
const SOFT_HYPHEN = /\u00AD/g;
const LINE_BREAKS = / ?(?:\n ?)+/g;
// Scripts written without spaces between words: a line break between two of their characters
// is removed rather than turned into a space.
const NO_SPACE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u3000-\u303F\uFF00-\uFFEF]/u;

export function cleanText(text: string): string {
  return text
    .normalize('NFC')
    .replace(VERTICAL_FORMS, (c) => c.normalize('NFKC'))
    .replace(PARAGRAPH_SEPARATORS, '\n\n')
    .replace(LINE_SEPARATORS, '\n')
    .replace(CONTROLS, '')
    .replace(HORIZONTAL_SPACE, ' ')
    .replace(LINE_END_HYPHEN, '$1')
    .replace(SOFT_HYPHEN, '')
    .replace(LINE_BREAKS, joinLines)
    .trim();
}

/** Two or more line breaks (a blank line) keep a paragraph break; a single one is a soft wrap. */
function joinLines(breaks: string, offset: number, text: string): string {
  if (breaks.indexOf('\n') !== breaks.lastIndexOf('\n')) return '\n\n';
  const before = text[offset - 1] ?? '';
  const after = text[offset + breaks.length] ?? '';
  return NO_SPACE_SCRIPT.test(before) && NO_SPACE_SCRIPT.test(after) ? '' : ' ';
}
