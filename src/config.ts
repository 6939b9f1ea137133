// Runtime configuration, read once from the environment and validated.
// Every setting has an embedded default so `npm start` works with no environment at all.
import path from 'node:path';
import { z } from 'zod';

const boolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  /** Unset → embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /** Embedded database files and the generated development secret live here. */
  DATA_DIR: z.string().default('.data'),
  /** HS256 secret; unset → a development secret generated once and kept in DATA_DIR. */
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_TTL_SECONDS: z.coerce.number().int().positive().default(12 * 3600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GRAPHIQL: boolean.default(true),
  /** Failed log-ins tolerated per (tenant, e-mail) before the account is locked for a while. */
  LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(5),
  INVITATION_TTL_HOURS: z.coerce.number().int().positive().default(7 * 24),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
  graphiql: boolean;
  loginMaxFailures: number;
  invitationTtlHours: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    jwtSecret: e.JWT_SECRET,
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    logLevel: e.LOG_LEVEL,
    graphiql: e.GRAPHIQL,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    invitationTtlHours: e.INVITATION_TTL_HOURS,
  };
}
