/**
 * The only way this webview builds DOM: elements from tag names, text through text nodes. There is no innerHTML
 * anywhere in src/webview (a unit test checks), so strings from model files can never become markup.
 */

import { isRefusedAttribute } from '../logic/attrs';

export type Child = Node | string | number | null | undefined | false | readonly Child[];

export interface Props {
  class?: string;
  id?: string;
  title?: string;
  role?: string;
  /** plain attributes; event handlers, style and URL-bearing attributes are refused */
  attrs?: Record<string, string | number | boolean | null | undefined>;
  dataset?: Record<string, string>;
  on?: Record<string, (ev: Event) => void>;
}

export function setAttrs(el: Element, attrs: Props['attrs']): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (isRefusedAttribute(k)) throw new Error(`refused attribute ${k}`);
    if (v === null || v === undefined || v === false) el.removeAttribute(k);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, ...(c as readonly Child[]));
    else if (typeof c === 'string' || typeof c === 'number') el.appendChild(document.createTextNode(String(c)));
    else el.appendChild(c as Node);
  }
}

function apply(el: HTMLElement, props: Props | null | undefined): void {
  if (!props) return;
  if (props.class) el.className = props.class;
  if (props.id) el.id = props.id;
  if (props.title !== undefined) el.title = props.title;
  if (props.role) el.setAttribute('role', props.role);
  setAttrs(el, props.attrs);
  if (props.dataset) for (const [k, v] of Object.entries(props.dataset)) el.dataset[k] = v;
  if (props.on) for (const [k, fn] of Object.entries(props.on)) el.addEventListener(k, fn);
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, ...children);
  return el;
}

/** Custom elements (vscode-elements) by tag name. */
export function ce<T extends HTMLElement = HTMLElement>(tag: string, props?: Props | null, ...children: Child[]): T {
  const el = document.createElement(tag) as T;
  apply(el, props);
  append(el, ...children);
  return el;
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replaceChildren(el: Node, ...children: Child[]): void {
  clear(el);
  append(el, ...children);
}

/** Sets text (never markup). */
export function setText(el: Node, s: string): void {
  el.textContent = s;
}
