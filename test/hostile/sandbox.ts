/**
 * Runs the readers on crafted files in a worker thread with a heap limit and a per-file timeout, so a hang or an
 * unbounded allocation fails one case instead of the test process, and anything thrown comes back as data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ErrorCode } from '../../src/shared/errors';

export const CASE_TIMEOUT_MS = 20_000;
export const HEAP_LIMIT_MB = 512;

export type Outcome =
  | {
      ok: true;
      format: string;
      tensors: { name: string; dtype: string; shape: number[]; strides?: number[]; numel: number; sha256?: string }[];
      notes: string[];
      metadata: Record<string, string>;
      prototypeClean: boolean;
    }
  | { ok: false; error: { modeldiff: boolean; name: string; code?: string; message: string; file?: string; stack?: string } }
  | { ok: false; timeout: true }
  | { ok: false; crashed: string };

const BOOT = `require('tsx/cjs/api').register(); require(require('node:worker_threads').workerData.entry);`;

export class Sandbox {
  private worker: Worker | undefined;
  private nextId = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'modeldiff-hostile-'));
  private files = 0;

  /** A fresh path in the sandbox's temporary folder. */
  path(name: string): string {
    return join(this.dir, `${this.files++}-${name}`);
  }

  /** Writes bytes to a fresh file and returns its path. */
  file(name: string, bytes: Uint8Array | string): string {
    const p = this.path(name);
    writeFileSync(p, bytes);
    return p;
  }

  private start(): Worker {
    this.worker ??= new Worker(BOOT, {
      eval: true,
      workerData: { entry: require.resolve('./sandboxWorker.ts') },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB, maxYoungGenerationSizeMb: 64 },
      stdout: false,
      stderr: false,
    });
    return this.worker;
  }

  async open(path: string, opts: { readTensors?: boolean; extractWeights?: boolean; timeoutMs?: number } = {}): Promise<Outcome> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Outcome>((resolve) => {
      const done = (o: Outcome) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(o);
      };
      const onMessage = (m: { id: number } & Outcome) => {
        if (m.id === id) done(m);
      };
      const onError = (e: Error) => {
        this.worker = undefined;
        done({ ok: false, crashed: `${e.name}: ${e.message}` });
      };
      const onExit = (code: number) => {
        this.worker = undefined;
        done({ ok: false, crashed: `worker exited with code ${code}` });
      };
      const timer = setTimeout(() => {
        this.worker = undefined;
        void worker.terminate();
        done({ ok: false, timeout: true });
      }, opts.timeoutMs ?? CASE_TIMEOUT_MS);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ id, path, readTensors: opts.readTensors ?? false, extractWeights: opts.extractWeights ?? false });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The file must be refused with a ModeldiffError of one of `codes` whose message matches `message`. */
export async function expectRefused(sb: Sandbox, path: string, codes: ErrorCode | ErrorCode[], message?: RegExp, opts: { extractWeights?: boolean } = {}): Promise<string> {
  const o = await sb.open(path, opts);
  if (o.ok) assert.fail(`expected a refusal (${[codes].flat().join('/')}) but the file opened as ${o.format} with ${o.tensors.length} tensors`);
  if ('timeout' in o) assert.fail('the reader did not finish in time');
  if ('crashed' in o) assert.fail(`the reader crashed the worker: ${o.crashed}`);
  const e = o.error;
  assert.ok(e.modeldiff, `expected a ModeldiffError, got ${e.name}: ${e.message}\n${e.stack}`);
  assert.ok([codes].flat().includes(e.code as ErrorCode), `expected ${[codes].flat().join('/')}, got ${e.code}: ${e.message}`);
  assert.equal(e.file, path, 'the error names the file');
  assertReadable(e.message);
  if (message) assert.match(e.message, message);
  return e.message;
}

/** The file must open; returns what the reader saw. */
export async function expectOpened(sb: Sandbox, path: string, opts: { readTensors?: boolean; extractWeights?: boolean } = {}): Promise<Extract<Outcome, { ok: true }>> {
  const o = await sb.open(path, opts);
  if (!o.ok) {
    if ('timeout' in o) assert.fail('the reader did not finish in time');
    if ('crashed' in o) assert.fail(`the reader crashed the worker: ${o.crashed}`);
    assert.fail(`expected the file to open, got ${o.error.code}: ${o.error.message}`);
  }
  assert.ok(o.prototypeClean, 'Object.prototype was not touched');
  return o;
}

/** One short sentence for a person: lowercase start, no stack trace, no JS internals. */
export function assertReadable(message: string): void {
  assert.ok(message.length > 10 && message.length < 400, `message length ${message.length}: ${message}`);
  assert.ok(!/\n|TypeError|RangeError|undefined|\[object /.test(message), `message looks internal: ${message}`);
  assert.doesNotMatch(message[0]!, /[A-Z]/, `message starts lowercase: ${message}`);
}
