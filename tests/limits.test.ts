// Abuse limits (graphql-armor + cost priced with the real page sizes), the request timeout,
// the introspection switch and persisted operations — each hit on purpose, with its code.
import fs from 'node:fs';
import path from 'node:path';
import { createSchema, createYoga } from 'graphql-yoga';
import { getIntrospectionQuery, Kind, parse, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { costErrors, pageSizeVariables } from '../src/limits/armor.ts';
import { useRequestBodyLimit } from '../src/limits/body-size.ts';
import { canonicalOperations, hashDocument } from '../src/limits/persisted-operations.ts';
import { persistedOperationsManifest } from '../src/limits/persisted-operations-codegen.ts';
import type { Embedder } from '../src/providers/embedder.ts';
import { MAX_PAGE_SIZE } from '../src/schema/pagination.ts';
import { InviteMemberDocument, MeDocument, MemberEventsDocument, SignUpDocument } from './__generated__/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { hashEmbedder } from './helpers/hash-embedder.ts';
import { PASSWORD, signUpTenant, uniqueSlug } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OPERATION_FOLDERS = ['tests/operations', 'web/operations'];
const MANIFEST = path.join(ROOT, 'persisted-operations.json');

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(app: TestApp, body: object, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const codesOf = (answer: Answer) => (answer.body.errors ?? []).map((error) => error.extensions?.code);

/** Every operation file of the two sets, parsed, as GraphQL Code Generator sees them. */
function operationFiles() {
  return OPERATION_FOLDERS.flatMap((folder) => {
    const dir = path.join(ROOT, folder);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((file) => file.endsWith('.graphql'))
      .sort()
      .map((file) => ({ location: path.join(dir, file), document: parse(fs.readFileSync(path.join(dir, file), 'utf8')) }));
  });
}

/** Variables at their most expensive: every page-size variable at the largest page. */
function worstCaseVariables(document: DocumentNode): Record<string, unknown> {
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const variables: Record<string, unknown> = {};
  for (const definition of operation?.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (/first|last/i.test(name)) variables[name] = MAX_PAGE_SIZE;
  }
  return variables;
}

const manifest = () => JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as Record<string, string>;

describe('default limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('let every operation of tests/operations and web/operations through, at the largest page size', () => {
    const operations = Object.values(manifest());
    expect(operations.length).toBeGreaterThan(40);
    for (const text of operations) {
      const { parse: parseEnveloped, validate, schema } = app.yoga.getEnveloped({
        request: new Request('http://test/graphql', { method: 'POST' }),
      });
      const document = parseEnveloped(text);
      expect(validate(schema, document).map((e: Error) => `${text.slice(0, 40)}: ${e.message}`)).toEqual([]);
      expect(costErrors(schema, document, worstCaseVariables(document), app.config.maxQueryCost, { default: 20, max: MAX_PAGE_SIZE })).toEqual([]);
    }
  });

  it('answer GraphiQL’s introspection query (15 levels deep: introspection is exempt from depth and cost)', async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
    });
    const answer = await post(app, { query, operationName: 'IntrospectionQuery' });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect((answer.body.data?.__schema as { queryType: { name: string } }).queryType.name).toBe('Query');
  });

  it('refuse an operation deeper than 10 levels with QUERY_TOO_COMPLEX (depth)', async () => {
    // chatSessions(1) edges(2) node(3) messages(4) edges(5) node(6) citations(7) document(8) chunks(9) edges(10) node(11) id(12)
    const query = `{ chatSessions { edges { node { messages { edges { node { citations { document {
      chunks { edges { node { id } } } } } } } } } } } }`;
    const answer = await post(app, { query });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([
      {
        message: 'The operation is nested 12 levels deep; the limit is 10.',
        extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 10, found: 12 },
      },
    ]);
  });

  it('count fragments for what they select, not as extra levels', async () => {
    // 10 levels once the fragment is flattened (armor's default would count 11).
    const query = `query { chatSessions(first: 2) { edges { node { messages(first: 2) { edges { node { ...M } } } } } } }
      fragment M on ChatMessage { citations { document { uploadedBy { name } } } }`;
    expect(codesOf(await post(app, { query }))).toEqual(['UNAUTHENTICATED']);
  });

  it('price page sizes given as variables: nested pages of 100 are refused, small ones pass', async () => {
    const query = `query Nested($n: Int) { chatSessions(first: $n) { edges { node {
      messages(first: $n) { edges { node { id content citations { snippet document { title } } } } } } } } }`;
    const big = await post(app, { query, variables: { n: 100 } });
    expect(big.status).toBe(400);
    expect(big.body.errors).toHaveLength(1);
    expect(big.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost', max: 25_000 });
    const found = big.body.errors?.[0]?.extensions?.found as number;
    expect(found).toBeGreaterThan(1_000_000);

    // A literal above the largest page is clamped as the server clamps it: same price as 100.
    const literal = await post(app, { query: query.replace('($n: Int)', '').replaceAll('$n', '5000') });
    expect(literal.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost', found });

    // Small pages: priced low, so the request reaches the resolvers (and authentication).
    expect(codesOf(await post(app, { query, variables: { n: 10 } }))).toEqual(['UNAUTHENTICATED']);
    // Verdicts are remembered per document and page-size values: the big pages stay refused.
    expect((await post(app, { query, variables: { n: 100 } })).body.errors?.[0]?.extensions?.found).toBe(found);
    // No page size at all: the default page (20) is assumed — 20 × 20 messages with their
    // citations is over the limit; nested connections must ask for small pages.
    const defaults = await post(app, { query });
    expect(defaults.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
    expect(defaults.body.errors?.[0]?.extensions?.found).toBeLessThan(found);
  });

  it('price Query.nodes by the number of ids', async () => {
    const query = 'query Many($ids: [ID!]!) { nodes(ids: $ids) { id ... on Document { chunks { edges { node { text } } } } } }';
    const answer = await post(app, { query, variables: { ids: Array.from({ length: 1000 }, (_, i) => `id-${i}`) } });
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
  });

  it('refuse more than 10 aliases, more than 20 directives and more than 1000 tokens', async () => {
    const aliases = await post(app, { query: `{ ${Array.from({ length: 11 }, (_, i) => `m${i}: me { id }`).join(' ')} }` });
    expect(aliases.status).toBe(400);
    expect(aliases.body.errors).toEqual([
      {
        message: 'The operation uses 11 aliases; the limit is 10.',
        extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'aliases', max: 10, found: 11 },
      },
    ]);

    const directives = await post(app, { query: `{ me { id ${'@include(if: true) '.repeat(21)} } }` });
    expect(directives.status).toBe(400);
    expect(directives.body.errors?.map((e) => e.extensions)).toContainEqual({
      code: 'QUERY_TOO_COMPLEX',
      limit: 'directives',
      max: 20,
      found: 21,
    });

    const tokens = await post(app, { query: `{ ${'__typename '.repeat(1001)}}` });
    expect(tokens.status).toBe(400);
    expect(tokens.body.errors).toEqual([
      {
        message: 'The document is longer than 1000 tokens.',
        extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: 1000 },
      },
    ]);
  });

  it('hands out field suggestions while introspection is on', async () => {
    const answer = await post(app, { query: '{ mee { id } }' });
    expect(answer.body.errors?.[0]?.message).toContain('Did you mean "me"?');
  });
});

describe('configured limits: INTROSPECTION=false, GRAPHIQL=false, REQUEST_TIMEOUT_MS, MAX_QUERY_*', () => {
  let app: TestApp;
  // Long enough for a sign-up (argon2 hashing), short next to the slow embedder below.
  const TIMEOUT_MS = 1500;
  // Queries embed their text: this embedder takes 5 s, far beyond the deadline.
  const slow = hashEmbedder(64);
  const slowEmbedder: Embedder = {
    ...slow,
    embed: (texts, options) => new Promise((resolve) => setTimeout(() => resolve(slow.embed(texts, options)), 5000)),
  };

  beforeAll(async () => {
    app = await startTestApp(
      {
        INTROSPECTION: 'false',
        GRAPHIQL: 'false',
        REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
        MAX_QUERY_DEPTH: '4',
        MAX_QUERY_ALIASES: '1',
        MAX_QUERY_COST: '200',
        MAX_QUERY_TOKENS: '100',
      },
      { embedder: slowEmbedder },
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses introspection with INTROSPECTION_DISABLED, keeps __typename, hides field suggestions', async () => {
    const schemaQuery = await post(app, { query: '{ __schema { queryType { name } } }' });
    expect(schemaQuery.status).toBe(400);
    expect(schemaQuery.body.errors).toEqual([
      expect.objectContaining({ message: 'Introspection is disabled on this server.', extensions: { code: 'INTROSPECTION_DISABLED' } }),
    ]);
    const typeQuery = await post(app, { query: '{ __type(name: "User") { name } }' });
    expect(codesOf(typeQuery)).toEqual(['INTROSPECTION_DISABLED']);

    expect((await post(app, { query: '{ __typename }' })).body).toEqual({ data: { __typename: 'Query' } });

    const typo = await post(app, { query: '{ mee { id } }' });
    expect(typo.body.errors?.[0]?.message).toBe('Cannot query field "mee" on type "Query". [suggestion hidden]');
  });

  it('does not serve GraphiQL (GRAPHIQL=false)', async () => {
    const response = await app.yoga.fetch('http://test/graphql', { headers: { accept: 'text/html' } });
    expect(await response.text()).not.toContain('GraphiQL');
  });

  it('applies the configured depth, alias, cost and token limits', async () => {
    expect((await post(app, { query: '{ me { id } }' })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const deep = await post(app, { query: '{ chatSessions { edges { node { messages { pageInfo { hasNextPage } } } } } }' });
    expect(deep.body.errors?.[0]?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 4, found: 6 });
    const aliased = await post(app, { query: '{ a: me { id } b: me { id } }' });
    expect(aliased.body.errors?.[0]?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases', max: 1, found: 2 });
    const costly = await post(app, { query: '{ members(first: 100) { pageInfo { hasNextPage } } }' });
    expect(costly.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost', max: 200 });
    const long = await post(app, { query: `{ ${'__typename '.repeat(99)}}` });
    expect(long.body.errors?.[0]?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: 100 });
  });

  it('answers REQUEST_TIMEOUT when a query outlives REQUEST_TIMEOUT_MS', async () => {
    const tenant = await signUpTenant(app);
    const started = Date.now();
    const answer = await post(
      app,
      { query: 'query Slow { search(query: "anything") { text } }' },
      { authorization: `Bearer ${tenant.admin.token}` },
    );
    const elapsed = Date.now() - started;
    expect(answer.body.errors).toEqual([
      { message: `The request took longer than ${TIMEOUT_MS} ms and was abandoned.`, extensions: { code: 'REQUEST_TIMEOUT', timeoutMs: TIMEOUT_MS } },
    ]);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1000);
  });

  it('leaves subscriptions open past REQUEST_TIMEOUT_MS', async () => {
    const tenant = await signUpTenant(app);
    const { url } = await app.listen();
    const client = createSseClient({ url, headers: { authorization: `Bearer ${tenant.admin.token}` }, retryAttempts: 0 });
    const kinds: string[] = [];
    const iterator = client.iterate<{ memberEvents: { kind: string } }>({ query: print(MemberEventsDocument) });
    const reading = (async () => {
      for await (const event of iterator) if (event.data) kinds.push(event.data.memberEvents.kind);
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 500));
      // The subscription is still there: an event produced now reaches it.
      await eventually(async () => {
        await app.ok(InviteMemberDocument, { email: `late-${uniqueSlug()}@example.com`, role: 'MEMBER' }, tenant.admin.token);
        await new Promise((resolve) => setTimeout(resolve, 100));
        return kinds.length > 0;
      }, 'an event after the timeout');
      expect(kinds[0]).toBe('INVITED');
    } finally {
      await iterator.return?.();
      client.dispose();
      await reading.catch(() => {});
    }
  });
});

describe('PERSISTED_OPERATIONS=only', () => {
  let app: TestApp;
  let url: string;
  const wsClients: { dispose(): void | Promise<void> }[] = [];
  /** The hash of one of the tests' own operations, as the allow-list holds it. */
  const hashOf = (document: DocumentNode) => {
    const [operation] = canonicalOperations(document);
    expect(manifest()[operation!.hash]).toBe(operation!.text);
    return operation!.hash;
  };

  beforeAll(async () => {
    app = await startTestApp({ PERSISTED_OPERATIONS: 'only', GRAPHIQL: 'false' });
    ({ url } = await app.listen());
  });
  afterAll(async () => {
    for (const client of wsClients) await client.dispose();
    await app?.close();
  });

  it('is generated from every operation of tests/operations and web/operations (npm run codegen)', () => {
    const current = manifest();
    expect(current).toEqual(persistedOperationsManifest(operationFiles()));
    // Keys are the sha256 of the canonical texts they map to.
    for (const [hash, text] of Object.entries(current)) expect(hashDocument(text)).toBe(hash);
  });

  it('runs an operation sent by its hash, and by its allow-listed text', async () => {
    const slug = uniqueSlug();
    const signUp = await post(app, {
      extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(SignUpDocument) } },
      variables: { tenantName: 'P', tenantSlug: slug, name: 'P', email: 'p@example.com', password: PASSWORD },
    });
    expect(signUp.body.errors).toBeUndefined();
    const token = (signUp.body.data?.signUp as { token: string }).token;

    // The `sha256:` prefix of the persisted-documents appendix is accepted too, and GET works for queries.
    const params = new URLSearchParams({
      extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: `sha256:${hashOf(MeDocument)}` } }),
    });
    const viaGet = await app.yoga.fetch(`http://test/graphql?${params}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/graphql-response+json' },
    });
    expect(viaGet.status).toBe(200);
    expect(((await viaGet.json()) as Answer['body']).data?.tenant).toMatchObject({ slug });

    // Full text equal to an allow-listed operation (any formatting) is accepted: what the
    // demo page and graphql-ws clients send.
    const me = await app.run(MeDocument, {}, token);
    expect(me.errors).toBeUndefined();
  });

  it('refuses an arbitrary operation with PERSISTED_QUERY_ONLY, introspection included', async () => {
    const arbitrary = await post(app, { query: '{ me { id name } }' });
    expect(arbitrary.status).toBe(400);
    expect(arbitrary.body.errors).toEqual([
      {
        message: 'Only persisted operations are accepted: send an allow-listed operation or its hash.',
        extensions: { code: 'PERSISTED_QUERY_ONLY' },
      },
    ]);
    expect(codesOf(await post(app, { query: getIntrospectionQuery() }))).toEqual(['PERSISTED_QUERY_ONLY']);
    // An allow-listed operation with one field more is another operation.
    const edited = print(SignUpDocument).replace('expiresAt', 'expiresAt __typename');
    expect(codesOf(await post(app, { query: edited, variables: {} }))).toContain('PERSISTED_QUERY_ONLY');
  });

  it('answers PERSISTED_QUERY_NOT_IN_LIST for an unknown hash and PERSISTED_QUERY_ID_REQUIRED for nothing', async () => {
    const unknown = await post(app, { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      { message: 'No persisted operation has this hash.', extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } },
    ]);
    const nothing = await post(app, { variables: {} });
    expect(codesOf(nothing)).toEqual(['PERSISTED_QUERY_ID_REQUIRED']);
  });

  it('holds on graphql-ws too: allow-listed subscriptions run, others are refused', async () => {
    const tenant = await signUpTenant(app);
    const client = createWsClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tenant.admin.token}` },
      retryAttempts: 0,
    });
    wsClients.push(client);
    const refused = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription { memberEvents { kind } }' }, { next: () => {}, error: resolve, complete: () => resolve(null) });
    });
    expect(refused).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'PERSISTED_QUERY_ONLY' }) })]);

    const kinds: string[] = [];
    let failed: unknown = null;
    const stop = client.subscribe<{ memberEvents: { kind: string } }>(
      { query: print(MemberEventsDocument) },
      { next: (event) => event.data && kinds.push(event.data.memberEvents.kind), error: (e) => (failed = e), complete: () => {} },
    );
    await eventually(async () => {
      await app.ok(InviteMemberDocument, { email: `ws-${uniqueSlug()}@example.com`, role: 'MEMBER' }, tenant.admin.token);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return kinds.length > 0 || failed !== null;
    }, 'an allow-listed subscription event');
    stop();
    expect(failed).toBeNull();
    expect(kinds[0]).toBe('INVITED');
  });
});

describe('request body limit', () => {
  const limited = createYoga({
    schema: createSchema({ typeDefs: 'type Query { echo(text: String!): String! }', resolvers: { Query: { echo: (_: unknown, a: { text: string }) => a.text } } }),
    plugins: [useRequestBodyLimit(200)],
    maxRequestBodySize: false,
    logging: false,
  });
  const body = (text: string) => JSON.stringify({ query: 'query($t: String!) { echo(text: $t) }', variables: { t: text } });
  const send = (init: RequestInit) =>
    limited.fetch('http://test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, ...init } as RequestInit);

  it('answers a body within the limit, declared or streamed (chunked)', async () => {
    const declared = await send({ body: body('short') });
    expect(await declared.json()).toEqual({ data: { echo: 'short' } });
    const streamed = await send({ body: new Blob([body('also short')]).stream(), duplex: 'half' } as RequestInit);
    expect(await streamed.json()).toEqual({ data: { echo: 'also short' } });
  });

  it('refuses a declared Content-Length over the limit with 413 REQUEST_ENTITY_TOO_LARGE, before reading it', async () => {
    const answer = await send({ body: body('x'.repeat(300)) });
    expect(answer.status).toBe(413);
    expect((await answer.json()).errors[0].extensions).toMatchObject({ code: 'REQUEST_ENTITY_TOO_LARGE', limitBytes: 200 });
  });

  it('refuses a streamed body once it passes the limit', async () => {
    const answer = await send({ body: new Blob([body('y'.repeat(300))]).stream(), duplex: 'half' } as RequestInit);
    expect(answer.status).toBe(413);
    expect((await answer.json()).errors[0].extensions).toMatchObject({ code: 'REQUEST_ENTITY_TOO_LARGE' });
  });

  it('refuses a malformed Content-Length with 400', async () => {
    const answer = await send({ body: body('z'), headers: { 'content-type': 'application/json', 'content-length': '1, 2' } });
    expect(answer.status).toBe(400);
  });

  it('prices by the variables that set page sizes only', () => {
    const document = parse('query($a: Int, $b: String, $ids: [ID!]!) { x(first: $a, filter: $b) { y(last: 3) } nodes(ids: $ids) { id } }');
    expect(pageSizeVariables(document)).toEqual(['a', 'ids']);
  });
});
