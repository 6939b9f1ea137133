// Why an uploaded file cannot be turned into text. The ingestion job stores `code` on the
// document (FAILED reason) and shows `message` to the uploader, so messages must be plain
// language and must not echo library internals or file contents.

export const IngestErrorCode = {
  UNSUPPORTED_TYPE: 'UNSUPPORTED_TYPE',
  PDF_ENCRYPTED: 'PDF_ENCRYPTED',
  PDF_INVALID: 'PDF_INVALID',
  NO_TEXT: 'NO_TEXT',
  EMPTY: 'EMPTY',
} as const;
export type IngestErrorCode = (typeof IngestErrorCode)[keyof typeof IngestErrorCode];

const messages: Record<IngestErrorCode, string> = {
  UNSUPPORTED_TYPE: 'This file type is not supported. Upload a PDF, a plain-text (UTF-8) or a Markdown file.',
  PDF_ENCRYPTED: 'This PDF is password-protected. Remove the password and upload it again.',
  PDF_INVALID: 'This PDF is damaged or is not a valid PDF file and cannot be read.',
  NO_TEXT:
    'No text could be found in this PDF: its pages look scanned or are images. ' +
    'Run it through OCR (text recognition) and upload the result.',
  EMPTY: 'This file is empty.',
};

export class IngestError extends Error {
  readonly code: IngestErrorCode;
  /** Every current code describes the file itself, so retrying the job cannot succeed. */
  readonly permanent: boolean = true;

  /** `cause` keeps the library error for logs; it is never part of `message`. */
  constructor(code: IngestErrorCode, options?: { cause?: unknown }) {
    super(messages[code], options);
    this.name = 'IngestError';
    this.code = code;
  }
}
