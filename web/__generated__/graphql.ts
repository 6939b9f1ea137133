/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** QUEUED → PROCESSING → READY, or FAILED with an errorCode. */
export type DocumentStatus =
  | 'FAILED'
  | 'PROCESSING'
  | 'QUEUED'
  | 'READY';

export type MessageRole =
  | 'ASSISTANT'
  | 'USER';

/** An answer is STREAMING until it is COMPLETE, FAILED or CANCELLED (stopped; the text so far is kept). */
export type MessageStatus =
  | 'CANCELLED'
  | 'COMPLETE'
  | 'FAILED'
  | 'STREAMING';

/** Role inside a tenant. ADMIN ⊃ EDITOR ⊃ MEMBER. */
export type Role =
  | 'ADMIN'
  | 'EDITOR'
  | 'MEMBER';

export type SessionInfoFragment = { token: string, user: { id: string, name: string, email: string, role: Role }, tenant: { id: string, name: string, slug: string } };

export type ViewerFragment = { id: string, name: string, email: string, role: Role };

export type TenantInfoFragment = { id: string, name: string, slug: string };

export type SignUpMutationVariables = Exact<{
  tenantName: string;
  tenantSlug: string;
  name: string;
  email: string;
  password: string;
}>;


export type SignUpMutation = { signUp: { token: string, user: { id: string, name: string, email: string, role: Role }, tenant: { id: string, name: string, slug: string } } };

export type LogInMutationVariables = Exact<{
  tenantSlug: string;
  email: string;
  password: string;
}>;


export type LogInMutation = { logIn: { token: string, user: { id: string, name: string, email: string, role: Role }, tenant: { id: string, name: string, slug: string } } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, name: string, email: string, role: Role }, tenant: { id: string, name: string, slug: string } };

export type AnswerFragment = { id: string, role: MessageRole, status: MessageStatus, content: string, model: string | null, errorMessage: string | null, citations: Array<{ rank: number, pageNumber: number, snippet: string, document: { id: string, title: string } | null }> };

export type ChatSessionsQueryVariables = Exact<{ [key: string]: never; }>;


export type ChatSessionsQuery = { chatSessions: { edges: Array<{ node: { id: string, title: string } }> } };

export type ChatSessionMessagesQueryVariables = Exact<{
  id: string | number;
}>;


export type ChatSessionMessagesQuery = { chatSession: { id: string, messages: { edges: Array<{ node: { id: string, role: MessageRole, status: MessageStatus, content: string, model: string | null, errorMessage: string | null, citations: Array<{ rank: number, pageNumber: number, snippet: string, document: { id: string, title: string } | null }> } }> } } };

export type CreateChatSessionMutationVariables = Exact<{ [key: string]: never; }>;


export type CreateChatSessionMutation = { createChatSession: { id: string, title: string } };

export type SendMessageMutationVariables = Exact<{
  sessionId: string | number;
  content: string;
}>;


export type SendMessageMutation = { sendMessage: { id: string, role: MessageRole, status: MessageStatus, content: string, model: string | null, errorMessage: string | null, citations: Array<{ rank: number, pageNumber: number, snippet: string, document: { id: string, title: string } | null }> } };

export type StopGenerationMutationVariables = Exact<{
  messageId: string | number;
}>;


export type StopGenerationMutation = { stopGeneration: { id: string, status: MessageStatus } };

export type MessageStreamSubscriptionVariables = Exact<{
  messageId: string | number;
}>;


export type MessageStreamSubscription = { messageStream: { delta: string | null, done: boolean, message: { id: string, role: MessageRole, status: MessageStatus, content: string, model: string | null, errorMessage: string | null, citations: Array<{ rank: number, pageNumber: number, snippet: string, document: { id: string, title: string } | null }> } | null } };

export type DocumentItemFragment = { id: string, title: string, contentType: string, status: DocumentStatus, pageCount: number | null, chunkCount: number | null, errorCode: string | null, errorMessage: string | null };

export type DocumentsQueryVariables = Exact<{
  first?: number | null | undefined;
}>;


export type DocumentsQuery = { documents: { edges: Array<{ node: { id: string, title: string, contentType: string, status: DocumentStatus, pageCount: number | null, chunkCount: number | null, errorCode: string | null, errorMessage: string | null } }> } };

export type UploadDocumentMutationVariables = Exact<{
  file: File;
}>;


export type UploadDocumentMutation = { uploadDocument: { deduplicated: boolean, document: { id: string, title: string, contentType: string, status: DocumentStatus, pageCount: number | null, chunkCount: number | null, errorCode: string | null, errorMessage: string | null } } };

export type DocumentStatusSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type DocumentStatusSubscription = { documentStatus: { status: DocumentStatus, progress: number | null, errorCode: string | null, document: { id: string, title: string, contentType: string, status: DocumentStatus, pageCount: number | null, chunkCount: number | null, errorCode: string | null, errorMessage: string | null } | null } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ViewerFragmentDoc = new TypedDocumentString(`
    fragment Viewer on User {
  id
  name
  email
  role
}
    `, {"fragmentName":"Viewer"}) as unknown as TypedDocumentString<ViewerFragment, unknown>;
export const TenantInfoFragmentDoc = new TypedDocumentString(`
    fragment TenantInfo on Tenant {
  id
  name
  slug
}
    `, {"fragmentName":"TenantInfo"}) as unknown as TypedDocumentString<TenantInfoFragment, unknown>;
export const SessionInfoFragmentDoc = new TypedDocumentString(`
    fragment SessionInfo on AuthPayload {
  token
  user {
    ...Viewer
  }
  tenant {
    ...TenantInfo
  }
}
    fragment Viewer on User {
  id
  name
  email
  role
}
fragment TenantInfo on Tenant {
  id
  name
  slug
}`, {"fragmentName":"SessionInfo"}) as unknown as TypedDocumentString<SessionInfoFragment, unknown>;
export const AnswerFragmentDoc = new TypedDocumentString(`
    fragment Answer on ChatMessage {
  id
  role
  status
  content
  model
  errorMessage
  citations {
    rank
    pageNumber
    snippet
    document {
      id
      title
    }
  }
}
    `, {"fragmentName":"Answer"}) as unknown as TypedDocumentString<AnswerFragment, unknown>;
export const DocumentItemFragmentDoc = new TypedDocumentString(`
    fragment DocumentItem on Document {
  id
  title
  contentType
  status
  pageCount
  chunkCount
  errorCode
  errorMessage
}
    `, {"fragmentName":"DocumentItem"}) as unknown as TypedDocumentString<DocumentItemFragment, unknown>;
export const SignUpDocument = new TypedDocumentString(`
    mutation SignUp($tenantName: String!, $tenantSlug: String!, $name: String!, $email: String!, $password: String!) {
  signUp(
    tenantName: $tenantName
    tenantSlug: $tenantSlug
    name: $name
    email: $email
    password: $password
  ) {
    ...SessionInfo
  }
}
    fragment SessionInfo on AuthPayload {
  token
  user {
    ...Viewer
  }
  tenant {
    ...TenantInfo
  }
}
fragment Viewer on User {
  id
  name
  email
  role
}
fragment TenantInfo on Tenant {
  id
  name
  slug
}`) as unknown as TypedDocumentString<SignUpMutation, SignUpMutationVariables>;
export const LogInDocument = new TypedDocumentString(`
    mutation LogIn($tenantSlug: String!, $email: String!, $password: String!) {
  logIn(tenantSlug: $tenantSlug, email: $email, password: $password) {
    ...SessionInfo
  }
}
    fragment SessionInfo on AuthPayload {
  token
  user {
    ...Viewer
  }
  tenant {
    ...TenantInfo
  }
}
fragment Viewer on User {
  id
  name
  email
  role
}
fragment TenantInfo on Tenant {
  id
  name
  slug
}`) as unknown as TypedDocumentString<LogInMutation, LogInMutationVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    ...Viewer
  }
  tenant {
    ...TenantInfo
  }
}
    fragment Viewer on User {
  id
  name
  email
  role
}
fragment TenantInfo on Tenant {
  id
  name
  slug
}`) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const ChatSessionsDocument = new TypedDocumentString(`
    query ChatSessions {
  chatSessions(first: 20) {
    edges {
      node {
        id
        title
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ChatSessionsQuery, ChatSessionsQueryVariables>;
export const ChatSessionMessagesDocument = new TypedDocumentString(`
    query ChatSessionMessages($id: ID!) {
  chatSession(id: $id) {
    id
    messages(first: 50) {
      edges {
        node {
          ...Answer
        }
      }
    }
  }
}
    fragment Answer on ChatMessage {
  id
  role
  status
  content
  model
  errorMessage
  citations {
    rank
    pageNumber
    snippet
    document {
      id
      title
    }
  }
}`) as unknown as TypedDocumentString<ChatSessionMessagesQuery, ChatSessionMessagesQueryVariables>;
export const CreateChatSessionDocument = new TypedDocumentString(`
    mutation CreateChatSession {
  createChatSession {
    id
    title
  }
}
    `) as unknown as TypedDocumentString<CreateChatSessionMutation, CreateChatSessionMutationVariables>;
export const SendMessageDocument = new TypedDocumentString(`
    mutation SendMessage($sessionId: ID!, $content: String!) {
  sendMessage(sessionId: $sessionId, content: $content) {
    ...Answer
  }
}
    fragment Answer on ChatMessage {
  id
  role
  status
  content
  model
  errorMessage
  citations {
    rank
    pageNumber
    snippet
    document {
      id
      title
    }
  }
}`) as unknown as TypedDocumentString<SendMessageMutation, SendMessageMutationVariables>;
export const StopGenerationDocument = new TypedDocumentString(`
    mutation StopGeneration($messageId: ID!) {
  stopGeneration(messageId: $messageId) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<StopGenerationMutation, StopGenerationMutationVariables>;
export const MessageStreamDocument = new TypedDocumentString(`
    subscription MessageStream($messageId: ID!) {
  messageStream(messageId: $messageId) {
    delta
    done
    message {
      ...Answer
    }
  }
}
    fragment Answer on ChatMessage {
  id
  role
  status
  content
  model
  errorMessage
  citations {
    rank
    pageNumber
    snippet
    document {
      id
      title
    }
  }
}`) as unknown as TypedDocumentString<MessageStreamSubscription, MessageStreamSubscriptionVariables>;
export const DocumentsDocument = new TypedDocumentString(`
    query Documents($first: Int) {
  documents(first: $first) {
    edges {
      node {
        ...DocumentItem
      }
    }
  }
}
    fragment DocumentItem on Document {
  id
  title
  contentType
  status
  pageCount
  chunkCount
  errorCode
  errorMessage
}`) as unknown as TypedDocumentString<DocumentsQuery, DocumentsQueryVariables>;
export const UploadDocumentDocument = new TypedDocumentString(`
    mutation UploadDocument($file: File!) {
  uploadDocument(file: $file) {
    deduplicated
    document {
      ...DocumentItem
    }
  }
}
    fragment DocumentItem on Document {
  id
  title
  contentType
  status
  pageCount
  chunkCount
  errorCode
  errorMessage
}`) as unknown as TypedDocumentString<UploadDocumentMutation, UploadDocumentMutationVariables>;
export const DocumentStatusDocument = new TypedDocumentString(`
    subscription DocumentStatus {
  documentStatus {
    status
    progress
    errorCode
    document {
      ...DocumentItem
    }
  }
}
    fragment DocumentItem on Document {
  id
  title
  contentType
  status
  pageCount
  chunkCount
  errorCode
  errorMessage
}`) as unknown as TypedDocumentString<DocumentStatusSubscription, DocumentStatusSubscriptionVariables>;