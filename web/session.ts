// Who is signed in, as every panel sees it, and where the token is kept between reloads.
import type { TenantInfoFragment, ViewerFragment } from './__generated__/graphql.ts';
import type { LiveConnection } from './api.ts';

export interface SignedIn {
  token: string;
  user: ViewerFragment;
  tenant: TenantInfoFragment;
  /** The graphql-ws connection, authenticated with the same token. */
  live: LiveConnection;
}

// sessionStorage: the token survives a reload but not the closing of the tab. A real product
// would weigh this against an httpOnly cookie; the API takes bearer tokens only.
const KEY = 'ragchat.token';

export const savedToken = (): string | null => sessionStorage.getItem(KEY);

export function saveToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}
