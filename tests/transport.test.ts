// The real transports: HTTP on a real port, graphql-ws over a real WebSocket, and
// GraphQL over SSE with the graphql-sse client.
import { print } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ChangeMemberRoleDocument,
  DeactivateMemberDocument,
  InviteMemberDocument,
  MemberEventsDocument,
  type MemberEventsSubscription,
} from './__generated__/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { addMember, PASSWORD, signUpTenant, uniqueSlug, type TestTenant } from './helpers/tenants.ts';
import { eventually } from './helpers/wait.ts';

let app: TestApp;
let url: string;
const clients: WsClient[] = [];

beforeAll(async () => {
  app = await startTestApp();
  ({ url } = await app.listen());
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await app?.close();
});

const wsUrl = () => url.replace(/^http/, 'ws');

function wsClient(connectionParams: Record<string, unknown>, onClosed?: (code: number) => void) {
  const client = createWsClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => onClosed?.((event as { code: number }).code) },
    // Refused sockets are asserted through `closed` above; the default handler only prints them.
    onNonLazyError: () => {},
  });
  clients.push(client);
  return client;
}

/**
 * Subscribes to memberEvents through `iterate`, then provokes INVITED events until one
 * arrives — so the subscription is known to be live before the test acts.
 */
async function liveMemberEvents(
  tenant: TestTenant,
  iterate: () => AsyncIterableIterator<{ data?: MemberEventsSubscription | null }>,
) {
  const events: MemberEventsSubscription['memberEvents'][] = [];
  const iterator = iterate();
  void (async () => {
    for await (const result of { [Symbol.asyncIterator]: () => iterator }) {
      if (result.data) events.push(result.data.memberEvents);
    }
  })();
  let n = 0;
  await eventually(async () => {
    await app.ok(InviteMemberDocument, { email: `warmup-${n++}@example.com`, role: 'MEMBER' }, tenant.admin.token);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return events.length > 0;
  }, 'the subscription to go live');
  await new Promise((resolve) => setTimeout(resolve, 100)); // let stray warm-up events land
  events.length = 0;
  return { events, stop: async () => void (await iterator.return?.()) };
}

async function provokeThreeEvents(tenant: TestTenant) {
  const person = await addMember(app, tenant, 'MEMBER'); // INVITED + JOINED
  await app.ok(ChangeMemberRoleDocument, { userId: person.id, role: 'EDITOR' }, tenant.admin.token);
  await app.ok(DeactivateMemberDocument, { userId: person.id }, tenant.admin.token);
  return person;
}

describe('HTTP', () => {
  it('sign-up → log-in → me over a real HTTP connection', async () => {
    const post = async (query: string, variables: object, token?: string) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      expect(response.headers.get('content-type')).toMatch(/application\/(graphql-response\+)?json/);
      return (await response.json()) as { data: Record<string, Record<string, unknown>>; errors?: unknown[] };
    };
    const slug = uniqueSlug();
    const signUp = await post(
      'mutation($s: String!, $p: String!) { signUp(tenantName: "Web", tenantSlug: $s, name: "W", email: "w@example.com", password: $p) { token } }',
      { s: slug, p: PASSWORD },
    );
    expect(signUp.errors).toBeUndefined();
    const logIn = await post(
      'mutation($s: String!, $p: String!) { logIn(tenantSlug: $s, email: "w@example.com", password: $p) { token } }',
      { s: slug, p: PASSWORD },
    );
    const me = await post('{ me { name role } tenant { slug } }', {}, logIn.data.logIn?.token as string);
    expect(me).toEqual({ data: { me: { name: 'W', role: 'ADMIN' }, tenant: { slug } } });
  });

  it('serves GraphiQL to browsers at /graphql', async () => {
    const response = await fetch(url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('GraphiQL');
  });
});

describe('graphql-ws', () => {
  it('refuses a connection without a token or with a bad one (4403)', async () => {
    for (const params of [{}, { authorization: 'Bearer not-a-token' }]) {
      let closedWith: number | undefined;
      wsClient(params, (code) => (closedWith = code));
      await eventually(() => closedWith !== undefined, 'the socket to close');
      expect(closedWith).toBe(4403);
    }
  });

  it('refuses a deactivated member’s token', async () => {
    const tenant = await signUpTenant(app);
    const person = await addMember(app, tenant, 'ADMIN');
    await app.ok(DeactivateMemberDocument, { userId: person.id }, tenant.admin.token);
    let closedWith: number | undefined;
    wsClient({ authorization: `Bearer ${person.token}` }, (code) => (closedWith = code));
    await eventually(() => closedWith !== undefined, 'the socket to close');
    expect(closedWith).toBe(4403);
  });

  it('streams memberEvents with the token in connectionParams, only for the caller’s tenant', async () => {
    const tenant = await signUpTenant(app);
    const other = await signUpTenant(app);
    const client = wsClient({ authorization: `Bearer ${tenant.admin.token}` });
    const { events, stop } = await liveMemberEvents(tenant, () =>
      client.iterate({ query: print(MemberEventsDocument) }) as AsyncIterableIterator<{ data?: MemberEventsSubscription | null }>,
    );
    await provokeThreeEvents(other); // must not reach this subscriber
    const person = await provokeThreeEvents(tenant);
    await eventually(() => events.length >= 4, 'four events');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await stop();
    expect(events.map((e) => e.kind)).toEqual(['INVITED', 'JOINED', 'ROLE_CHANGED', 'DEACTIVATED']);
    expect(events.slice(1).map((e) => e.member?.id)).toEqual([person.id, person.id, person.id]);
    expect(events[3]?.member).toMatchObject({ role: 'EDITOR', status: 'DEACTIVATED' });
  });

  it('answers FORBIDDEN to a MEMBER subscribing to an ADMIN subscription', async () => {
    const tenant = await signUpTenant(app);
    const member = await addMember(app, tenant, 'MEMBER');
    const client = wsClient({ authorization: `Bearer ${member.token}` });
    const errors: unknown[] = [];
    await new Promise<void>((resolve) => {
      client.subscribe(
        { query: print(MemberEventsDocument) },
        { next: (r) => errors.push(...(r.errors ?? [])), error: (e) => (errors.push(e), resolve()), complete: resolve },
      );
    });
    expect(errors).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
  });
});

describe('GraphQL over SSE', () => {
  it('streams memberEvents to a graphql-sse client with a bearer header', async () => {
    const tenant = await signUpTenant(app);
    const client = createSseClient({
      url,
      headers: { authorization: `Bearer ${tenant.admin.token}` },
      retryAttempts: 0,
    });
    try {
      const { events, stop } = await liveMemberEvents(tenant, () =>
        client.iterate({ query: print(MemberEventsDocument) }) as AsyncIterableIterator<{ data?: MemberEventsSubscription | null }>,
      );
      const person = await provokeThreeEvents(tenant);
      await eventually(() => events.length >= 4, 'four events');
      await stop();
      expect(events.map((e) => e.kind)).toEqual(['INVITED', 'JOINED', 'ROLE_CHANGED', 'DEACTIVATED']);
      expect(events[2]?.member).toMatchObject({ id: person.id, role: 'EDITOR' });
    } finally {
      client.dispose();
    }
  });

  it('refuses an SSE subscription without a token', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: print(MemberEventsDocument) }),
    });
    const body = await response.text();
    expect(body).toContain('UNAUTHENTICATED');
  });
});
