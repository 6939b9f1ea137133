// Structured JSON logs. Secrets never reach a log line: the redact list covers the
// places they could appear (headers, GraphQL variables, connection params).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'ragchat' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.password',
        '*.token',
        'variables.*.password',
        'variables.*.token',
        'connectionParams.*',
      ],
      censor: '[redacted]',
    },
  });
}
