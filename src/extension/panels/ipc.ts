/**
 * The host side of the webview protocol (src/shared/protocol.ts): validates what the webview sends, holds every
 * host message back until the webview's `ready`, dispatches requests to handlers and answers them.
 * Pure: no vscode import (the panel hands in `post`), so it is unit-tested directly.
 */
import {
  PROTOCOL_VERSION,
  type HostMessage,
  type HostToWebview,
  type RequestResults,
  type WebviewMessage,
  type WebviewToHost,
} from '../../shared/protocol';

export type PostFn = (msg: HostMessage) => PromiseLike<boolean> | boolean | void;

export type RequestHandlers = {
  [M in keyof RequestResults]?: (params: WebviewToHost[M]) => Promise<RequestResults[M]> | RequestResults[M];
};

export interface NotificationHandlers {
  /** after the queue was flushed */
  ready?: (params: WebviewToHost['ready']) => void;
  'focus/changed'?: (params: WebviewToHost['focus/changed']) => void;
  'analysis/run'?: (params: WebviewToHost['analysis/run']) => void;
  'result/drawn'?: (params: WebviewToHost['result/drawn']) => void;
}

const REQUESTS: ReadonlySet<string> = new Set<keyof RequestResults>(['layers/get', 'export/save', 'recipe/get', 'lora/attribute']);
/** Host messages where only the newest matters: a queued older one is replaced. */
const LATEST_ONLY: ReadonlySet<string> = new Set<keyof HostToWebview>(['progress/didChange', 'result/didChange', 'inspect/didChange', 'focus/didChange', 'analysis/didChange']);
const EXPORT_KINDS: ReadonlySet<string> = new Set(['png', 'svg', 'csv', 'json']);

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

function isPair(x: unknown): boolean {
  return isObj(x) && isIndex(x.a) && isIndex(x.b);
}

/** Structural check of a message from the webview (it is not trusted more than any other input). */
export function parseWebviewMessage(raw: unknown): WebviewMessage | string {
  if (!isObj(raw)) return 'message is not an object';
  const { method, params, id } = raw;
  if (typeof method !== 'string') return 'message has no method';
  if (id !== undefined && !isIndex(id)) return `${method}: bad id`;
  if (!isObj(params)) return `${method}: params is not an object`;
  switch (method) {
    case 'ready':
      if (typeof params.protocolVersion !== 'number') return 'ready: protocolVersion is not a number';
      break;
    case 'layers/get':
      if (!isPair(params)) return 'layers/get: a and b must be model indexes';
      break;
    case 'export/save':
      if (typeof params.suggestedName !== 'string' || typeof params.data !== 'string' || typeof params.kind !== 'string' || !EXPORT_KINDS.has(params.kind)) {
        return 'export/save: needs suggestedName, kind (png|svg|csv|json) and data';
      }
      break;
    case 'focus/changed':
      if (params.model !== undefined && !isIndex(params.model)) return 'focus/changed: bad model';
      if (params.pair !== undefined && !isPair(params.pair)) return 'focus/changed: bad pair';
      if (params.component !== undefined && typeof params.component !== 'string') return 'focus/changed: bad component';
      break;
    case 'recipe/get':
      if (!isIndex(params.model)) return 'recipe/get: model must be a model index';
      if (!Array.isArray(params.parents) || params.parents.length < 2 || params.parents.length > 4 || !params.parents.every(isIndex)) {
        return 'recipe/get: parents must be 2 to 4 model indexes';
      }
      if (new Set([params.model, ...params.parents]).size !== params.parents.length + 1) return 'recipe/get: the model and its parents must all differ';
      break;
    case 'result/drawn':
      if (!isIndex(params.models) || typeof params.outDir !== 'string') return 'result/drawn: needs models (a count) and outDir';
      break;
    case 'analysis/run':
      if (params.computeHashes !== undefined && typeof params.computeHashes !== 'boolean') return 'analysis/run: computeHashes must be a boolean';
      if (params.timeEmbed !== undefined && params.timeEmbed !== 'BASE' && params.timeEmbed !== 'IN00') return 'analysis/run: timeEmbed must be BASE or IN00';
      break;
    case 'lora/attribute':
      if (!isIndex(params.checkpoint) && params.checkpoint !== 'choose') return 'lora/attribute: checkpoint must be a model index or "choose"';
      if (!isIndex(params.base) && params.base !== 'choose' && params.base !== 'comparison-base') return 'lora/attribute: base must be a model index, "comparison-base" or "choose"';
      if (isIndex(params.base) && params.base === params.checkpoint) return 'lora/attribute: the checkpoint and the base must differ';
      if (typeof params.nonNegative !== 'boolean') return 'lora/attribute: nonNegative must be a boolean';
      break;
    default:
      return `unknown method ${JSON.stringify(method.slice(0, 60))}`;
  }
  if (REQUESTS.has(method) && id === undefined) return `${method}: a request needs an id`;
  return raw as WebviewMessage;
}

export class HostIpc {
  private ready = false;
  private queue: HostMessage[] = [];
  private disposed = false;

  constructor(
    private readonly post: PostFn,
    private readonly requests: RequestHandlers,
    private readonly notifications: NotificationHandlers = {},
    private readonly log: (line: string) => void = () => {},
  ) {}

  get isReady(): boolean {
    return this.ready;
  }

  /** Sends now if the webview said `ready`, else queues (keeping only the newest of the LATEST_ONLY kinds). */
  notify<M extends keyof HostToWebview>(method: M, params: HostToWebview[M]): void {
    if (this.disposed) return;
    const msg = { method, params } as HostMessage;
    if (this.ready) {
      this.send(msg);
      return;
    }
    if (LATEST_ONLY.has(method)) this.queue = this.queue.filter((m) => m.method !== method);
    this.queue.push(msg);
  }

  /** The webview's document was replaced (new html): wait for a new `ready`; queued messages are kept. */
  reset(): void {
    this.ready = false;
  }

  dispose(): void {
    this.disposed = true;
    this.queue = [];
  }

  async receive(raw: unknown): Promise<void> {
    if (this.disposed) return;
    const msg = parseWebviewMessage(raw);
    if (typeof msg === 'string') {
      this.log(`webview message ignored: ${msg}`);
      // a malformed request still gets an answer so the webview does not wait for its timeout
      if (isObj(raw) && isIndex(raw.id)) this.send({ method: 'response', id: raw.id, ok: false, error: msg });
      return;
    }
    if (msg.method === 'ready') {
      if (msg.params.protocolVersion !== PROTOCOL_VERSION) {
        this.log(`webview speaks protocol ${msg.params.protocolVersion}, host ${PROTOCOL_VERSION}`);
      }
      this.ready = true;
      const queued = this.queue;
      this.queue = [];
      for (const m of queued) this.send(m);
      this.notifications.ready?.(msg.params);
      return;
    }
    if (msg.method === 'focus/changed') {
      this.notifications['focus/changed']?.(msg.params);
      return;
    }
    if (msg.method === 'result/drawn') {
      this.notifications['result/drawn']?.(msg.params);
      return;
    }
    if (msg.method === 'analysis/run') {
      this.notifications['analysis/run']?.(msg.params);
      return;
    }
    const id = msg.id!;
    const handler = this.requests[msg.method] as ((p: unknown) => unknown) | undefined;
    if (!handler) {
      this.send({ method: 'response', id, ok: false, error: `${msg.method} is not available in this view` });
      return;
    }
    try {
      const value = await handler(msg.params);
      this.send({ method: 'response', id, ok: true, value });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.log(`${msg.method} failed: ${error}`);
      this.send({ method: 'response', id, ok: false, error });
    }
  }

  private send(msg: HostMessage): void {
    if (this.disposed) return;
    try {
      const r = this.post(msg);
      if (r && typeof (r as PromiseLike<boolean>).then === 'function') {
        (r as PromiseLike<boolean>).then(undefined, (e: unknown) => this.log(`postMessage failed: ${String(e)}`));
      }
    } catch (e) {
      this.log(`postMessage failed: ${String(e)}`);
    }
  }
}
