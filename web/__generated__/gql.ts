/* eslint-disable */
import * as types from './graphql.ts';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment SessionInfo on AuthPayload {\n  token\n  user {\n    ...Viewer\n  }\n  tenant {\n    ...TenantInfo\n  }\n}\n\nfragment Viewer on User {\n  id\n  name\n  email\n  role\n}\n\nfragment TenantInfo on Tenant {\n  id\n  name\n  slug\n}\n\nmutation SignUp($tenantName: String!, $tenantSlug: String!, $name: String!, $email: String!, $password: String!) {\n  signUp(\n    tenantName: $tenantName\n    tenantSlug: $tenantSlug\n    name: $name\n    email: $email\n    password: $password\n  ) {\n    ...SessionInfo\n  }\n}\n\nmutation LogIn($tenantSlug: String!, $email: String!, $password: String!) {\n  logIn(tenantSlug: $tenantSlug, email: $email, password: $password) {\n    ...SessionInfo\n  }\n}\n\nquery Me {\n  me {\n    ...Viewer\n  }\n  tenant {\n    ...TenantInfo\n  }\n}": typeof types.SessionInfoFragmentDoc,
    "fragment Answer on ChatMessage {\n  id\n  role\n  status\n  content\n  model\n  errorMessage\n  citations {\n    rank\n    pageNumber\n    snippet\n    document {\n      id\n      title\n    }\n  }\n}\n\nquery ChatSessions {\n  chatSessions(first: 20) {\n    edges {\n      node {\n        id\n        title\n      }\n    }\n  }\n}\n\nquery ChatSessionMessages($id: ID!) {\n  chatSession(id: $id) {\n    id\n    messages(first: 50) {\n      edges {\n        node {\n          ...Answer\n        }\n      }\n    }\n  }\n}\n\nmutation CreateChatSession {\n  createChatSession {\n    id\n    title\n  }\n}\n\nmutation SendMessage($sessionId: ID!, $content: String!) {\n  sendMessage(sessionId: $sessionId, content: $content) {\n    ...Answer\n  }\n}\n\nmutation StopGeneration($messageId: ID!) {\n  stopGeneration(messageId: $messageId) {\n    id\n    status\n  }\n}\n\nsubscription MessageStream($messageId: ID!) {\n  messageStream(messageId: $messageId) {\n    delta\n    done\n    message {\n      ...Answer\n    }\n  }\n}": typeof types.AnswerFragmentDoc,
    "fragment DocumentItem on Document {\n  id\n  title\n  contentType\n  status\n  pageCount\n  chunkCount\n  errorCode\n  errorMessage\n}\n\nquery Documents($first: Int) {\n  documents(first: $first) {\n    edges {\n      node {\n        ...DocumentItem\n      }\n    }\n  }\n}\n\nmutation UploadDocument($file: File!) {\n  uploadDocument(file: $file) {\n    deduplicated\n    document {\n      ...DocumentItem\n    }\n  }\n}\n\nsubscription DocumentStatus {\n  documentStatus {\n    status\n    progress\n    errorCode\n    document {\n      ...DocumentItem\n    }\n  }\n}": typeof types.DocumentItemFragmentDoc,
};
const documents: Documents = {
    "fragment SessionInfo on AuthPayload {\n  token\n  user {\n    ...Viewer\n  }\n  tenant {\n    ...TenantInfo\n  }\n}\n\nfragment Viewer on User {\n  id\n  name\n  email\n  role\n}\n\nfragment TenantInfo on Tenant {\n  id\n  name\n  slug\n}\n\nmutation SignUp($tenantName: String!, $tenantSlug: String!, $name: String!, $email: String!, $password: String!) {\n  signUp(\n    tenantName: $tenantName\n    tenantSlug: $tenantSlug\n    name: $name\n    email: $email\n    password: $password\n  ) {\n    ...SessionInfo\n  }\n}\n\nmutation LogIn($tenantSlug: String!, $email: String!, $password: String!) {\n  logIn(tenantSlug: $tenantSlug, email: $email, password: $password) {\n    ...SessionInfo\n  }\n}\n\nquery Me {\n  me {\n    ...Viewer\n  }\n  tenant {\n    ...TenantInfo\n  }\n}": types.SessionInfoFragmentDoc,
    "fragment Answer on ChatMessage {\n  id\n  role\n  status\n  content\n  model\n  errorMessage\n  citations {\n    rank\n    pageNumber\n    snippet\n    document {\n      id\n      title\n    }\n  }\n}\n\nquery ChatSessions {\n  chatSessions(first: 20) {\n    edges {\n      node {\n        id\n        title\n      }\n    }\n  }\n}\n\nquery ChatSessionMessages($id: ID!) {\n  chatSession(id: $id) {\n    id\n    messages(first: 50) {\n      edges {\n        node {\n          ...Answer\n        }\n      }\n    }\n  }\n}\n\nmutation CreateChatSession {\n  createChatSession {\n    id\n    title\n  }\n}\n\nmutation SendMessage($sessionId: ID!, $content: String!) {\n  sendMessage(sessionId: $sessionId, content: $content) {\n    ...Answer\n  }\n}\n\nmutation StopGeneration($messageId: ID!) {\n  stopGeneration(messageId: $messageId) {\n    id\n    status\n  }\n}\n\nsubscription MessageStream($messageId: ID!) {\n  messageStream(messageId: $messageId) {\n    delta\n    done\n    message {\n      ...Answer\n    }\n  }\n}": types.AnswerFragmentDoc,
    "fragment DocumentItem on Document {\n  id\n  title\n  contentType\n  status\n  pageCount\n  chunkCount\n  errorCode\n  errorMessage\n}\n\nquery Documents($first: Int) {\n  documents(first: $first) {\n    edges {\n      node {\n        ...DocumentItem\n      }\n    }\n  }\n}\n\nmutation UploadDocument($file: File!) {\n  uploadDocument(file: $file) {\n    deduplicated\n    document {\n      ...DocumentItem\n    }\n  }\n}\n\nsubscription DocumentStatus {\n  documentStatus {\n    status\n    progress\n    errorCode\n    document {\n      ...DocumentItem\n    }\n  }\n}": types.DocumentItemFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment SessionInfo on AuthPayload {\n  token\n  user {\n    ...Viewer\n  }\n  tenant {\n    ...TenantInfo\n  }\n}\n\nfragment Viewer on User {\n  id\n  name\n  email\n  role\n}\n\nfragment TenantInfo on Tenant {\n  id\n  name\n  slug\n}\n\nmutation SignUp($tenantName: String!, $tenantSlug: String!, $name: String!, $email: String!, $password: String!) {\n  signUp(\n    tenantName: $tenantName\n    tenantSlug: $tenantSlug\n    name: $name\n    email: $email\n    password: $password\n  ) {\n    ...SessionInfo\n  }\n}\n\nmutation LogIn($tenantSlug: String!, $email: String!, $password: String!) {\n  logIn(tenantSlug: $tenantSlug, email: $email, password: $password) {\n    ...SessionInfo\n  }\n}\n\nquery Me {\n  me {\n    ...Viewer\n  }\n  tenant {\n    ...TenantInfo\n  }\n}"): typeof import('./graphql.ts').SessionInfoFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment Answer on ChatMessage {\n  id\n  role\n  status\n  content\n  model\n  errorMessage\n  citations {\n    rank\n    pageNumber\n    snippet\n    document {\n      id\n      title\n    }\n  }\n}\n\nquery ChatSessions {\n  chatSessions(first: 20) {\n    edges {\n      node {\n        id\n        title\n      }\n    }\n  }\n}\n\nquery ChatSessionMessages($id: ID!) {\n  chatSession(id: $id) {\n    id\n    messages(first: 50) {\n      edges {\n        node {\n          ...Answer\n        }\n      }\n    }\n  }\n}\n\nmutation CreateChatSession {\n  createChatSession {\n    id\n    title\n  }\n}\n\nmutation SendMessage($sessionId: ID!, $content: String!) {\n  sendMessage(sessionId: $sessionId, content: $content) {\n    ...Answer\n  }\n}\n\nmutation StopGeneration($messageId: ID!) {\n  stopGeneration(messageId: $messageId) {\n    id\n    status\n  }\n}\n\nsubscription MessageStream($messageId: ID!) {\n  messageStream(messageId: $messageId) {\n    delta\n    done\n    message {\n      ...Answer\n    }\n  }\n}"): typeof import('./graphql.ts').AnswerFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment DocumentItem on Document {\n  id\n  title\n  contentType\n  status\n  pageCount\n  chunkCount\n  errorCode\n  errorMessage\n}\n\nquery Documents($first: Int) {\n  documents(first: $first) {\n    edges {\n      node {\n        ...DocumentItem\n      }\n    }\n  }\n}\n\nmutation UploadDocument($file: File!) {\n  uploadDocument(file: $file) {\n    deduplicated\n    document {\n      ...DocumentItem\n    }\n  }\n}\n\nsubscription DocumentStatus {\n  documentStatus {\n    status\n    progress\n    errorCode\n    document {\n      ...DocumentItem\n    }\n  }\n}"): typeof import('./graphql.ts').DocumentItemFragmentDoc;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
