// `npm run seed`: a demo tenant to explore the product with — one user of each role and a few
// documents, ingested and READY — made through the product's own services (sign-up,
// invitations, uploads), so it obeys every rule a real client does.
//
// Idempotent: the tenant, users and documents are only created when missing (uploads of the
// same bytes are deduplicated by the product), so re-running prints "already seeded".
//
// Uses the same configuration as `npm start`: DATABASE_URL, else the embedded database under
// DATA_DIR. PGlite's data folder cannot be opened by two processes at once, so on the embedded
// database stop `npm start` first (this script refuses to run while a server answers on
// HOST:PORT; SEED_SKIP_SERVER_CHECK=1 skips that check when the server there uses another
// database). The ingestion worker runs inside this script unless RUN_WORKER=false, in which case
// a separate `npm run worker` on the same database does the work.
import fs from 'node:fs';
import path from 'node:path';
import { createApp, type App } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import type { Document } from '../src/db/generated/client.ts';
import type { Role } from '../src/db/generated/enums.ts';
import { AppError, ErrorCode } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import type { Session } from '../src/services/auth.ts';
import type { TenantServices } from '../src/services/index.ts';

const TENANT = { name: 'Northwind (demo)', slug: 'demo' };
/** Shared by every demo user. Demo data only: anyone reading this file knows it. */
const PASSWORD = 'demo-password';
const ADMIN = { role: 'ADMIN', name: 'Ada Admin', email: 'admin@example.com' } as const;
const INVITED: { role: Role; name: string; email: string }[] = [
  { role: 'EDITOR', name: 'Eddie Editor', email: 'editor@example.com' },
  { role: 'MEMBER', name: 'Mia Member', email: 'member@example.com' },
];
const PEOPLE = [ADMIN, ...INVITED];
const DATA = path.join(import.meta.dirname, 'seed-data');
const DOCUMENTS = [
  { file: 'expense-policy.md', title: 'Travel and expense policy' },
  { file: 'office-handbook.txt', title: 'Office handbook' },
  { file: 'lumen-lamp-faq.md', title: 'Lumen desk lamp: product facts' },
  { file: 'zen-of-python.pdf', title: 'The Zen of Python (PDF)' },
];
const QUESTIONS = [
  'Who approves expense claims above 500 euros?',
  'How long does the Lumen battery last?',
  'What should I do if I lose my badge?',
  'What does the Zen of Python say about errors?',
];
const INGESTION_TIMEOUT_MS = 5 * 60_000;

const isCode = (error: unknown, code: ErrorCode) => error instanceof AppError && error.code === code;

/** Is something (most likely `npm start` on this DATA_DIR) answering GraphQL on HOST:PORT? */
async function serverIsRunning(config: Config): Promise<boolean> {
  try {
    const response = await fetch(`http://${config.host}:${config.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** The demo tenant's first ADMIN: signs up, or signs in when an earlier run did. */
async function adminSession(app: App, created: string[]): Promise<Session> {
  const { name, email } = ADMIN;
  try {
    const session = await app.services.auth.signUp({ tenantName: TENANT.name, tenantSlug: TENANT.slug, name, email, password: PASSWORD });
    created.push(`tenant ${TENANT.slug}`, email);
    return session;
  } catch (error) {
    if (!isCode(error, ErrorCode.CONFLICT)) throw error;
  }
  try {
    return await app.services.auth.logIn({ tenantSlug: TENANT.slug, email, password: PASSWORD });
  } catch (error) {
    if (!isCode(error, ErrorCode.UNAUTHENTICATED)) throw error;
    throw new Error(
      `The tenant "${TENANT.slug}" exists, but ${email} cannot sign in with the demo password: ` +
        'it was not made by this script, or the password was changed. Seed another database (DATA_DIR or DATABASE_URL).',
      { cause: error },
    );
  }
}

/** The other demo users, through the invitation flow; an existing member is left as it is. */
async function ensureMembers(app: App, tenant: TenantServices, created: string[]): Promise<void> {
  for (const person of INVITED) {
    try {
      const { token } = await tenant.members.invite({ email: person.email, role: person.role });
      await app.services.auth.acceptInvitation({ token, name: person.name, password: PASSWORD });
      created.push(person.email);
    } catch (error) {
      if (!isCode(error, ErrorCode.CONFLICT)) throw error; // CONFLICT: already a member
    }
  }
}

/** Uploads the sample files; the product deduplicates bytes it already has. */
async function uploadDocuments(tenant: TenantServices, created: string[]): Promise<Document[]> {
  const documents: Document[] = [];
  for (const { file, title } of DOCUMENTS) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(DATA, file)));
    const { document, deduplicated } = await tenant.documents.upload({ bytes, name: file }, title);
    if (!deduplicated) created.push(`document "${title}"`);
    documents.push(document);
  }
  return documents;
}

/** Waits until every document is READY or FAILED, printing each status change. */
async function waitForIngestion(tenant: TenantServices, documents: Document[], config: Config): Promise<Document[]> {
  const seen = new Map(documents.map((document) => [document.id, document.status as string]));
  if (documents.some((document) => document.status === 'QUEUED' || document.status === 'PROCESSING')) {
    console.log(config.runWorker ? 'Ingesting the documents…' : 'Waiting for a worker (RUN_WORKER=false: run `npm run worker`)…');
  }
  const deadline = Date.now() + INGESTION_TIMEOUT_MS;
  for (;;) {
    const current = await Promise.all(documents.map((document) => tenant.documents.get(document.id)));
    for (const document of current) {
      if (seen.get(document.id) === document.status) continue;
      seen.set(document.id, document.status);
      console.log(`  ${document.status.padEnd(10)} ${document.title}`);
    }
    if (current.every((document) => document.status === 'READY' || document.status === 'FAILED')) return current;
    if (Date.now() > deadline) throw new Error('Ingestion did not finish within 5 minutes');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<number> {
  const config = loadConfig();
  if (!config.databaseUrl && !process.env.SEED_SKIP_SERVER_CHECK && (await serverIsRunning(config))) {
    console.error(
      `A server answers on http://${config.host}:${config.port}/ — probably \`npm start\` on the embedded database in ${config.dataDir}.\n` +
        "PGlite's data folder cannot be opened by two processes at once: stop the server, run the seed, then start it again.\n" +
        '(If that server uses another database, set SEED_SKIP_SERVER_CHECK=1.)',
    );
    return 1;
  }
  // The app's own progress lines (migrations, worker) only at LOG_LEVEL=info or lower.
  const app = await createApp(config, createLogger(process.env.LOG_LEVEL ?? 'warn'));
  try {
    console.log(`Seeding ${config.databaseUrl ? 'the PostgreSQL of DATABASE_URL' : `the embedded database in ${config.dataDir}`}`);
    const created: string[] = [];
    const admin = await adminSession(app, created);
    const tenant = app.services.forViewer({ userId: admin.user.id, tenantId: admin.tenant.id, role: admin.user.role });
    await ensureMembers(app, tenant, created);
    const documents = await waitForIngestion(tenant, await uploadDocuments(tenant, created), config);

    const members = await tenant.members.list({}, { limit: 100, inverted: false });
    const demoMembers = PEOPLE.map((person) => members.find((member) => member.email === person.email)).filter((member) => !!member);
    const failed = documents.filter((document) => document.status === 'FAILED');
    const base = `http://${config.host}:${config.port}`;
    console.log(
      [
        '',
        created.length ? `Created: ${created.join(', ')}.` : 'Already seeded: nothing to do.',
        '',
        `Tenant "${admin.tenant.name}" — sign in with tenant: ${admin.tenant.slug}`,
        ...demoMembers.map((member) => `  ${member.role.padEnd(7)} ${member.email.padEnd(22)} ${member.status === 'ACTIVE' ? '' : member.status}`.trimEnd()),
        `  password for all: ${PASSWORD}`,
        '',
        'Documents:',
        ...documents.map((document) =>
          `  ${document.status.padEnd(7)} ${document.title}` +
          (document.status === 'READY' ? ` (${document.chunkCount} chunks)` : ` — ${document.errorCode}: ${document.errorMessage}`),
        ),
        '',
        'Next:',
        `  npm start, then open ${base}/ (demo page) or ${base}/graphql (GraphiQL) and sign in.`,
        '  Ask, for example:',
        ...QUESTIONS.map((question) => `    ${question}`),
      ].join('\n'),
    );
    if (failed.length) console.error(`\n${failed.length} document(s) FAILED; re-run after fixing, or reindex them as an EDITOR.`);
    return failed.length ? 1 : 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
