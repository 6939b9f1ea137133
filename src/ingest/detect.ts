// Content type from the bytes themselves: a client-supplied MIME type or file name is not
// trusted, so a renamed binary can never reach the text pipeline.
import { IngestError, IngestErrorCode } from './errors.ts';

export type ContentType = 'application/pdf' | 'text/markdown' | 'text/plain';

const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-"
// PDF readers accept the header anywhere in the first 1024 bytes (some writers prepend junk).
const PDF_MAGIC_WINDOW = 1024;
// Text with more than this share of control characters is a binary format that happens to
// decode as UTF-8 (e.g. small records of ASCII-range bytes).
const MAX_CONTROL_RATIO = 0.02;
// Markdown is judged on the beginning of the text; the signals below show up early.
const MARKDOWN_SNIFF_CHARS = 64 * 1024;
const MARKDOWN_EXTENSIONS = /\.(md|markdown|mdown|mkd|mdx)$/i;

/**
 * Throws IngestError UNSUPPORTED_TYPE for anything that is neither a PDF nor UTF-8 text,
 * and EMPTY for zero bytes. `fileName` only breaks the Markdown/plain tie.
 */
export function detectContentType(bytes: Uint8Array, fileName?: string): ContentType {
  if (bytes.length === 0) throw new IngestError(IngestErrorCode.EMPTY);
  if (hasPdfMagic(bytes)) return 'application/pdf';
  const text = decodeUtf8Text(bytes);
  if (looksLikeMarkdown(text.slice(0, MARKDOWN_SNIFF_CHARS))) return 'text/markdown';
  return fileName !== undefined && MARKDOWN_EXTENSIONS.test(fileName) ? 'text/markdown' : 'text/plain';
}

function hasPdfMagic(bytes: Uint8Array): boolean {
  const last = Math.min(bytes.length - PDF_MAGIC.length, PDF_MAGIC_WINDOW - 1); // last possible start
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < PDF_MAGIC.length; j++) if (bytes[i + j] !== PDF_MAGIC[j]) continue outer;
    return true;
  }
  return false;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true }); // strips a leading BOM

/**
 * Decodes strict UTF-8 (BOM removed) and refuses binary look-alikes: any NUL, or too many
 * control characters other than tab, line feed, carriage return and form feed.
 * Throws IngestError UNSUPPORTED_TYPE.
 */
export function decodeUtf8Text(bytes: Uint8Array): string {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (error) {
    throw new IngestError(IngestErrorCode.UNSUPPORTED_TYPE, { cause: error });
  }
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) throw new IngestError(IngestErrorCode.UNSUPPORTED_TYPE);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f) controls++;
  }
  if (controls > text.length * MAX_CONTROL_RATIO) throw new IngestError(IngestErrorCode.UNSUPPORTED_TYPE);
  return text;
}

// The heuristic, kept deliberately small. Markdown when the text has an ATX heading
// ("# Title" … "###### Title"), a fenced code block (``` or ~~~), or list items together with
// inline links "[text](target)". Anything else (prose, a list alone, a link alone) reads the
// same either way, so it is plain text unless the file name says Markdown.
// Bounded repetitions keep the link pattern linear on hostile input such as "[[[[…".
const HEADING = /^#{1,6} \S/m;
const FENCE = /^ {0,3}(```|~~~)/m;
const LIST_ITEM = /^ {0,3}([-*+]|\d{1,9}[.)]) \S/m;
const INLINE_LINK = /\[[^\]\n]{1,200}\]\([^)\s]{1,500}\)/;

function looksLikeMarkdown(text: string): boolean {
  return HEADING.test(text) || FENCE.test(text) || (LIST_ITEM.test(text) && INLINE_LINK.test(text));
}
