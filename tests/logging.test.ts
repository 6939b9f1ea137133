// The logs: JSON lines carrying the request id, tenant and operation of each GraphQL request,
// and never a password, a token or a document's text — checked on everything the whole app
// writes at the most verbose level during log-ins, bearer requests, invitations and ingestion.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import {
  AcceptInvitationDocument,
  AddTextDocumentDocument,
  DocumentDocument,
  InviteMemberDocument,
  LogInDocument,
  MeDocument,
  SignUpDocument,
} from './__generated__/graphql.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { createScratchDatabase, type ScratchDatabase } from './helpers/scratch-db.ts';
import { uniqueSlug } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let app: App;
let server: RunningServer;
let scratch: ScratchDatabase | null = null;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ragchat-logging-'));
  scratch = process.env.DATABASE_URL ? await createScratchDatabase(process.env.DATABASE_URL) : null;
  const config = loadConfig({
    ...process.env,
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    DATA_DIR: dataDir,
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    LOG_LEVEL: 'trace',
  });
  app = await createApp(config, createLogger('trace', sink), { inMemory: true, embedder: hashEmbedder(768) });
  server = await startServer(app, 0, '127.0.0.1');
});
afterAll(async () => {
  await server?.close();
  await app?.close();
  await scratch?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function graphql<T>(query: string, variables: object, headers: Record<string, string> = {}) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return { body, response };
}

const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('logs', () => {
  const password = `pw-${uniqueSlug()}-Horse-Battery`;
  const memberPassword = `member-${uniqueSlug()}-Staple`;
  const secretText = `Confidential memo ${uniqueSlug()}: the launch code is tangerine-walrus.`;
  const secrets: string[] = [password, memberPassword, secretText];
  let tenantId: string;
  let requestId: string;

  it('carry request id, tenant and operation on the request line; echo the id', async () => {
    const slug = uniqueSlug();
    const { body: signedUp } = await graphql<{ signUp: { token: string; tenant: { id: string } } }>(print(SignUpDocument), {
      tenantName: 'Logs',
      tenantSlug: slug,
      name: 'Lou',
      email: 'lou@example.com',
      password,
    });
    secrets.push(signedUp.data.signUp.token);
    tenantId = signedUp.data.signUp.tenant.id; // Tenant is not a Relay node: its id is the database id
    const { body: loggedIn } = await graphql<{ logIn: { token: string } }>(print(LogInDocument), {
      tenantSlug: slug,
      email: 'lou@example.com',
      password,
    });
    const token = loggedIn.data.logIn.token;
    secrets.push(token);

    requestId = `log-test-${uniqueSlug()}`;
    const { response } = await graphql(print(MeDocument), {}, { authorization: `Bearer ${token}`, 'x-request-id': requestId });
    expect(response.headers.get('x-request-id')).toBe(requestId);

    // Invitation tokens and the invitee's password; a document's text through ingestion.
    const { body: invited } = await graphql<{ inviteMember: { token: string } }>(
      print(InviteMemberDocument),
      { email: 'mo@example.com', role: 'EDITOR' },
      { authorization: `Bearer ${token}` },
    );
    secrets.push(invited.data.inviteMember.token);
    const { body: joined } = await graphql<{ acceptInvitation: { token: string } }>(print(AcceptInvitationDocument), {
      token: invited.data.inviteMember.token,
      name: 'Mo',
      password: memberPassword,
    });
    secrets.push(joined.data.acceptInvitation.token);
    const { body: added } = await graphql<{ addTextDocument: { document: { id: string } } }>(
      print(AddTextDocumentDocument),
      { title: 'Memo', content: secretText },
      { authorization: `Bearer ${token}` },
    );
    await eventually(async () => {
      const { body } = await graphql<{ document: { status: string } }>(
        print(DocumentDocument),
        { id: added.data.addTextDocument.document.id, chunksFirst: 5 },
        { authorization: `Bearer ${token}` },
      );
      return body.data.document.status === 'READY';
    }, 'the document to be ingested');

    const requestLines = parsed().filter((line) => line.msg === 'graphql request');
    const me = requestLines.find((line) => line.requestId === requestId);
    expect(me).toMatchObject({
      level: 30,
      service: 'ragchat',
      requestId,
      method: 'POST',
      status: 200,
      operationName: 'Me',
      operationType: 'query',
      tenantId,
      durationMs: expect.any(Number),
    });
    expect(requestLines.find((line) => line.operationName === 'LogIn')).toMatchObject({ operationType: 'mutation', tenantId: null });
    expect(requestLines.find((line) => line.operationName === 'AddTextDocument')).toMatchObject({ tenantId });
    // Requests without an id got a generated one.
    expect(requestLines.filter((line) => typeof line.requestId === 'string' && /^[0-9a-f-]{36}$/.test(line.requestId)).length).toBeGreaterThan(3);
  });

  it('never contain a password, a token or a document’s text', () => {
    expect(lines.length).toBeGreaterThan(20);
    expect(parsed().some((line) => line.component === 'graphile-worker' || line.component === 'worker')).toBe(true);
    const everything = lines.join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
    // Not even pieces of the text (a chunk, a title is fine).
    expect(everything).not.toContain('tangerine-walrus');
  });
});
