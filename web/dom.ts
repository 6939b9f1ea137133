// Three small DOM helpers, so the rest reads as what it shows. Text always goes in as text
// nodes (never innerHTML): titles, answers and snippets come from users' documents.
import { ApiError } from './api.ts';

type Child = Node | string | null | undefined | false;

/** An element by id, typed by the caller; a missing id is a bug in index.html. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

/** `h('li', { class: 'doc', 'data-id': id }, 'text', child)` */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

/** Shows a one-line status under a form; errors name the server's code. */
export function say(element: HTMLElement, message: string | unknown, kind: 'info' | 'error' = 'info'): void {
  element.textContent = typeof message === 'string' ? message : describeError(message);
  element.dataset.kind = typeof message === 'string' ? kind : 'error';
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

/** The named text fields of a form, as typed (the server trims what should be trimmed). */
export function formValues<K extends string>(form: HTMLFormElement, ...names: K[]): Record<K, string> {
  const data = new FormData(form);
  return Object.fromEntries(names.map((name) => [name, String(data.get(name) ?? '')])) as Record<K, string>;
}
