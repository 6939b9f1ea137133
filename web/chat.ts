// The chat panel. Asking is two steps, the pattern that survives disconnects:
//   1. sendMessage → the pending answer (STREAMING) with its id, at once;
//   2. messageStream(messageId) → the text already written, then live deltas, then the
//      finished message with its citations.
// Step 2 is also how the page joins an answer still being written when a chat is reopened.
import {
  ChatSessionMessagesDocument,
  ChatSessionsDocument,
  CreateChatSessionDocument,
  MessageStreamDocument,
  SendMessageDocument,
  StopGenerationDocument,
  type AnswerFragment,
} from './__generated__/graphql.ts';
import { request } from './api.ts';
import { byId, formValues, h, say } from './dom.ts';
import type { SignedIn } from './session.ts';

const select = byId<HTMLSelectElement>('session-select');
const newChatButton = byId<HTMLButtonElement>('new-chat');
const messages = byId('messages');
const askForm = byId<HTMLFormElement>('ask-form');
const askButton = byId<HTMLButtonElement>('ask-button');
const stopButton = byId<HTMLButtonElement>('stop-button');
const status = byId('chat-status');

interface MessageView {
  /** Shows the text so far (while streaming). */
  setText(text: string): void;
  /** Shows the finished message: final text, status and sources. */
  finish(message: AnswerFragment): void;
}

/** The answer's text, its [n] markers turned into links to the numbered sources. */
function renderText(container: HTMLElement, messageId: string, text: string): void {
  container.replaceChildren(
    ...text.split(/(\[\d+\])/).map((part) => {
      const rank = /^\[(\d+)\]$/.exec(part)?.[1];
      return rank ? h('a', { class: 'cite', href: `#source-${messageId}-${rank}` }, part) : part;
    }),
  );
}

function sourceItem(messageId: string, citation: AnswerFragment['citations'][number]): HTMLLIElement {
  return h(
    'li',
    { id: `source-${messageId}-${citation.rank}` },
    h('span', { class: 'rank' }, `[${citation.rank}]`),
    ' ',
    h('strong', {}, citation.document?.title ?? '(deleted document)'),
    ` · page ${citation.pageNumber}`,
    h('blockquote', {}, citation.snippet),
  );
}

function showMessage(message: AnswerFragment): MessageView {
  const text = h('div', { class: 'text' });
  const meta = h('small', { class: 'meta' });
  const sources = h('ol', { class: 'sources' });
  const article = h('article', { class: `message ${message.role.toLowerCase()}`, 'data-status': message.status }, text, meta, sources);
  messages.append(article);

  const view: MessageView = {
    setText(content) {
      renderText(text, message.id, content);
      article.scrollIntoView({ block: 'end' });
    },
    finish(final) {
      article.dataset.status = final.status;
      view.setText(final.content || (final.errorMessage ?? ''));
      const state = { COMPLETE: '', STREAMING: 'writing…', CANCELLED: 'stopped', FAILED: 'failed' }[final.status];
      meta.textContent = [final.model, state].filter(Boolean).join(' · ');
      sources.replaceChildren(...final.citations.map((citation) => sourceItem(final.id, citation)));
    },
  };
  if (message.status === 'STREAMING') view.setText(message.content);
  else view.finish(message);
  return view;
}

/** Loads the chat list and follows answers until the returned function is called. */
export async function startChat(session: SignedIn): Promise<() => void> {
  let sessionId: string | null = null;
  let following: { messageId: string; stop(): void } | null = null;

  const setAsking = (busy: boolean) => {
    askButton.disabled = busy;
    stopButton.hidden = !busy;
  };

  function stopFollowing() {
    const current = following;
    if (!current) return;
    following = null;
    setAsking(false);
    current.stop();
  }

  function follow(messageId: string, view: MessageView) {
    let text = '';
    // Only the answer being followed may reset the form (not one unsubscribed a moment ago).
    const ended = () => {
      if (following?.messageId === messageId) stopFollowing();
    };
    const unsubscribe = session.live.subscribe(MessageStreamDocument, { messageId }, {
      next: ({ messageStream: event }) => {
        if (event.delta) view.setText((text += event.delta));
        if (event.message) view.finish(event.message);
      },
      error: (error) => {
        say(status, error);
        ended();
      },
      complete: ended,
    });
    following = { messageId, stop: unsubscribe };
    setAsking(true);
  }

  async function loadSessions() {
    const { chatSessions } = await request(ChatSessionsDocument, {}, session.token);
    const placeholder = chatSessions.edges.length ? 'Open a chat…' : 'No chats yet';
    select.replaceChildren(
      h('option', { value: '' }, placeholder),
      ...chatSessions.edges.map(({ node }) => h('option', { value: node.id }, node.title)),
    );
    select.value = sessionId ?? '';
  }

  /** Shows a chat's messages, oldest first, and joins an answer still being written. */
  async function open(id: string | null) {
    stopFollowing();
    sessionId = id;
    messages.replaceChildren();
    say(status, '');
    if (!id) return;
    const { chatSession } = await request(ChatSessionMessagesDocument, { id }, session.token);
    for (const { node } of chatSession.messages.edges.toReversed()) {
      const view = showMessage(node);
      if (node.status === 'STREAMING') follow(node.id, view);
    }
  }

  async function newChat(): Promise<string> {
    const { createChatSession } = await request(CreateChatSessionDocument, {}, session.token);
    await open(createChatSession.id);
    await loadSessions();
    return createChatSession.id;
  }

  async function ask(question: string) {
    askButton.disabled = true; // until the answer ends (see follow), or the request fails
    try {
      const id = sessionId ?? (await newChat());
      showMessage({ id: '', role: 'USER', status: 'COMPLETE', content: question, model: null, errorMessage: null, citations: [] });
      const { sendMessage } = await request(SendMessageDocument, { sessionId: id, content: question }, session.token);
      follow(sendMessage.id, showMessage(sendMessage));
    } catch (error) {
      setAsking(false);
      throw error;
    }
    await loadSessions(); // the first question names the chat
  }

  const guarded = (action: () => Promise<unknown>) => () => {
    action().catch((error: unknown) => say(status, error));
  };
  select.onchange = guarded(() => open(select.value || null));
  newChatButton.onclick = guarded(newChat);
  stopButton.onclick = guarded(async () => {
    if (following) await request(StopGenerationDocument, { messageId: following.messageId }, session.token);
  });
  askForm.onsubmit = (event) => {
    event.preventDefault();
    const { question } = formValues(askForm, 'question');
    if (!question.trim() || askButton.disabled) return;
    askForm.reset();
    say(status, '');
    guarded(() => ask(question))();
  };

  messages.replaceChildren();
  setAsking(false);
  await loadSessions();
  return () => {
    stopFollowing();
    select.onchange = newChatButton.onclick = stopButton.onclick = null;
    askForm.onsubmit = null;
  };
}
