// Structured JSON logs. Secrets never reach a log line: nothing logs variables, headers,
// documents or results on purpose (the request line of src/observability/http.ts carries
// ids, operation name/type, tenant, status, duration and error codes only), and the redact
// list covers the places they could still appear (headers, GraphQL variables, connection
// params, job payloads).
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  '*.authorization',
  'password',
  'token',
  '*.password',
  '*.token',
  'variables',
  '*.variables',
  'connectionParams',
  '*.connectionParams',
  'job.payload',
  '*.job.payload',
];

/** `destination`: where the lines go (stdout by default; tests pass a stream to read them). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'ragchat' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
