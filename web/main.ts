// The demo page's entry point: signing in (or creating a tenant), then the documents and
// chat panels, both driven by one graphql-ws connection authenticated with the token.
// Bundled by src/web.ts (esbuild) into /app.js.
import { LogInDocument, MeDocument, SignUpDocument, type SessionInfoFragment } from './__generated__/graphql.ts';
import { connectLive, request } from './api.ts';
import { startChat } from './chat.ts';
import { startDocuments } from './documents.ts';
import { byId, formValues, say } from './dom.ts';
import { savedToken, saveToken, type SignedIn } from './session.ts';

const signedOut = byId('signed-out');
const signedIn = byId('signed-in');
const signInForm = byId<HTMLFormElement>('sign-in-form');
const signUpForm = byId<HTMLFormElement>('sign-up-form');
const authStatus = byId('auth-status');
const whoami = byId('whoami');
const liveBadge = byId('live');

let current: { session: SignedIn; stops: (() => void)[] } | null = null;

async function enter({ token, user, tenant }: SessionInfoFragment): Promise<void> {
  saveToken(token);
  const live = connectLive(token, (state) => {
    liveBadge.dataset.state = state;
    liveBadge.textContent = state === 'connected' ? 'live' : state;
  });
  const session: SignedIn = { token, user, tenant, live };
  current = { session, stops: [] };
  byId('whoami-name').textContent = `${user.name} (${user.role})`;
  byId('whoami-tenant').textContent = `${tenant.name} · ${tenant.slug}`;
  signedOut.hidden = true;
  signedIn.hidden = whoami.hidden = false;
  current.stops.push(await startDocuments(session), await startChat(session));
}

async function leave(): Promise<void> {
  const leaving = current;
  current = null;
  saveToken(null);
  signedOut.hidden = false;
  signedIn.hidden = whoami.hidden = true;
  for (const stop of leaving?.stops ?? []) stop();
  await leaving?.session.live.close();
}

signInForm.onsubmit = async (event) => {
  event.preventDefault();
  say(authStatus, 'Signing in…');
  try {
    const { logIn } = await request(LogInDocument, formValues(signInForm, 'tenantSlug', 'email', 'password'), null);
    say(authStatus, '');
    await enter(logIn);
  } catch (error) {
    say(authStatus, error);
  }
};

signUpForm.onsubmit = async (event) => {
  event.preventDefault();
  say(authStatus, 'Creating the tenant…');
  try {
    const variables = formValues(signUpForm, 'tenantName', 'tenantSlug', 'name', 'email', 'password');
    const { signUp } = await request(SignUpDocument, variables, null);
    say(authStatus, '');
    await enter(signUp);
  } catch (error) {
    say(authStatus, error);
  }
};

// Suggest a slug from the tenant name until the slug is edited by hand.
const tenantName = signUpForm.elements.namedItem('tenantName') as HTMLInputElement;
const tenantSlug = signUpForm.elements.namedItem('tenantSlug') as HTMLInputElement;
tenantName.oninput = () => {
  if (tenantSlug.dataset.edited) return;
  tenantSlug.value = tenantName.value.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
};
tenantSlug.oninput = () => {
  tenantSlug.dataset.edited = 'yes';
};

byId('sign-out').onclick = () => void leave();

// A token kept from before a reload: use it if it is still valid.
const token = savedToken();
if (token) {
  request(MeDocument, {}, token)
    .then(({ me, tenant }) => enter({ token, user: me, tenant }))
    .catch(() => leave());
}
