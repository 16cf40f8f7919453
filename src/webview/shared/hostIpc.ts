/**
 * The webview's side of the host protocol (src/shared/protocol.ts). `acquireVsCodeApi()` may be called once per page:
 * main.ts calls it and hands the api here. `start()` sends `ready` first; nothing else is posted before it (earlier
 * calls are queued). Requests carry an id and are answered by `{ method: 'response', id, ok, value | error }`, or
 * rejected after a timeout. UI state survives reloads through getState/setState.
 *
 * Free of DOM types on purpose, so it can be unit-tested in Node with a fake api and event target.
 */
import { PROTOCOL_VERSION } from '../../shared/protocol';
import type { HostToWebview, RequestResults, WebviewMessage, WebviewToHost } from '../../shared/protocol';

export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): unknown;
}

export interface MessageSource {
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
}

type Handler<M extends keyof HostToWebview> = (params: HostToWebview[M]) => void;

export const DEFAULT_TIMEOUT_MS = 30_000;

export class RequestError extends Error {
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export class HostIpc {
  private nextId = 1;
  private started = false;
  private queue: WebviewMessage[] = [];
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout>; method: string }>();
  private handlers = new Map<string, Set<(p: unknown) => void>>();

  constructor(
    private readonly api: VsCodeApi,
    source: MessageSource,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    source.addEventListener('message', (ev) => this.receive(ev.data));
  }

  /** Sends `ready` (first message of the page) and then whatever was queued. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.api.postMessage({ method: 'ready', params: { protocolVersion: PROTOCOL_VERSION } } satisfies WebviewMessage);
    const q = this.queue;
    this.queue = [];
    for (const m of q) this.api.postMessage(m);
  }

  on<M extends keyof HostToWebview>(method: M, handler: Handler<M>): () => void {
    let set = this.handlers.get(method);
    if (!set) this.handlers.set(method, (set = new Set()));
    const h = handler as (p: unknown) => void;
    set.add(h);
    return () => set!.delete(h);
  }

  notify<M extends Exclude<keyof WebviewToHost, 'ready'>>(method: M, params: WebviewToHost[M]): void {
    this.post({ method, params } as WebviewMessage);
  }

  request<M extends keyof RequestResults & keyof WebviewToHost>(method: M, params: WebviewToHost[M], timeoutMs = this.timeoutMs): Promise<RequestResults[M]> {
    const id = this.nextId++;
    return new Promise<RequestResults[M]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError(method, `${method} timed out after ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, method });
      this.post({ method, params, id } as WebviewMessage);
    });
  }

  getState<T extends object>(): Partial<T> {
    const s = this.api.getState();
    return s && typeof s === 'object' ? (s as Partial<T>) : {};
  }

  /** Merges a patch into the persisted state. */
  setState<T extends object>(patch: Partial<T>): void {
    this.api.setState({ ...this.getState<T>(), ...patch });
  }

  private post(m: WebviewMessage): void {
    if (this.started) this.api.postMessage(m);
    else this.queue.push(m);
  }

  /** Dispatches one message from the host; malformed messages are ignored. */
  receive(data: unknown): void {
    if (!data || typeof data !== 'object') return;
    const msg = data as { method?: unknown; id?: unknown; ok?: unknown; value?: unknown; error?: unknown; params?: unknown };
    if (typeof msg.method !== 'string') return;
    if (msg.method === 'response') {
      if (typeof msg.id !== 'number') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok === true) p.resolve(msg.value);
      else p.reject(new RequestError(p.method, typeof msg.error === 'string' ? msg.error : `${p.method} failed`));
      return;
    }
    const set = this.handlers.get(msg.method);
    if (!set) return;
    for (const h of [...set]) {
      try {
        h(msg.params);
      } catch (e) {
        console.error(`modeldiff webview: handler for ${msg.method} failed`, e);
      }
    }
  }

  /** Pending request count (for tests). */
  get inFlight(): number {
    return this.pending.size;
  }
}
