// GraphQL over real HTTP (fetch) against a server in another process: JSON requests and
// the multipart request spec for uploads.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';

export interface GraphQLResult<R> {
  data?: R | null;
  errors?: GraphQLFormattedError[];
}

function headers(token: string | null | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function postGraphQL<R, V>(
  url: string,
  document: TypedDocumentNode<R, V>,
  variables: V,
  token?: string | null,
): Promise<GraphQLResult<R>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers(token) },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as GraphQLResult<R>;
}

/** Like postGraphQL, but throws on any GraphQL error and returns the data. */
export async function okGraphQL<R, V>(
  url: string,
  document: TypedDocumentNode<R, V>,
  variables: V,
  token?: string | null,
): Promise<R> {
  const result = await postGraphQL(url, document, variables, token);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors from ${url}: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** One file in `variables.<file.variable>`, sent as a GraphQL multipart request. */
export async function uploadGraphQL<R, V, K extends keyof V & string>(
  url: string,
  document: TypedDocumentNode<R, V>,
  variables: Omit<V, K>,
  file: { variable: K; bytes: Uint8Array; name: string },
  token: string,
): Promise<R> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: print(document), variables: { ...variables, [file.variable]: null } }));
  form.set('map', JSON.stringify({ 0: [`variables.${file.variable}`] }));
  form.set('0', new File([file.bytes as Uint8Array<ArrayBuffer>], file.name));
  const response = await fetch(url, { method: 'POST', headers: headers(token), body: form });
  const result = (await response.json()) as GraphQLResult<R>;
  if (result.errors?.length || !result.data) throw new Error(`upload errors from ${url}: ${JSON.stringify(result.errors)}`);
  return result.data;
}
