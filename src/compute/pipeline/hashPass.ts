/**
 * File and component hashes computed while the engine compares: one model after the other, concurrently with the
 * engine's reads (in a worker thread of its own, or in the calling thread when the engine runs there too), so the data
 * the engine pulls into the page cache is hashed from there instead of being read from disk again in a later pass.
 * Results go to the hash cache (by path, size, mtime): later runs and `modeldiff analyze` find them without reading.
 */
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { cachedModelHashes, modelHashes, type HashCache } from '../analysis/hashes';
import type { ModelHashes } from '../../shared/analysis';
import { cancelled, ModeldiffError } from '../../shared/errors';
import { STOP, type HashWorkerInput, type HashWorkerMessage } from '../workers/messages';
import { fromThread } from '../workers/threadReply';
import { workerFile } from '../workers/workerFiles';
import type { ModelHashSummary } from '../../shared/result';

export interface HashPassOptions {
  cache: HashCache;
  /** also the per-component content hashes (default true) */
  components?: boolean;
  /** PyTorch files: read in extract-weights mode, as the comparison did */
  extractWeights?: boolean;
  /** hash in the calling thread (as the engine does with workers: 0) */
  inThread?: boolean;
}

export interface HashPass {
  paths: readonly string[];
  /** one summary per path (null where the file could not be hashed), in input order; rejects CANCELLED after stop() */
  done: Promise<(ModelHashSummary | null)[]>;
  bytesDone(): number;
  bytesTotal: number;
  /** stops early (the run failed or was cancelled) */
  stop(): void;
}

function summary(h: ModelHashes): ModelHashSummary | null {
  if (!h.hashes && !h.components) return null;
  return {
    sha256: h.hashes?.sha256 ?? null,
    autov2: h.hashes?.autov2 ?? null,
    legacy: h.hashes?.legacy ?? null,
    autov3: h.hashes?.autov3 ?? null,
    components: h.components ? Object.fromEntries(Object.entries(h.components).map(([c, v]) => [c, v.sha256])) : null,
  };
}

function store(cache: HashCache, h: ModelHashes): void {
  let st;
  try {
    st = statSync(h.path);
  } catch {
    return;
  }
  // only what was computed for this very file version; folders (diffusers) are never cached
  if (!st.isFile() || (h.hashes && (h.hashes.size !== st.size || h.hashes.mtimeMs !== st.mtimeMs))) return;
  const { path: _p, size: _s, mtimeMs: _m, ...file } = h.hashes ?? ({} as NonNullable<ModelHashes['hashes']>);
  cache.store(h.path, st.size, st.mtimeMs, { ...(h.hashes ? { file } : {}), ...(h.components ? { components: h.components } : {}) });
}

export function startHashPass(paths: readonly string[], opts: HashPassOptions, signal?: AbortSignal): HashPass {
  const components = opts.components !== false;
  const results: (ModelHashSummary | null)[] = paths.map(() => null);
  // cached files cost nothing; the others are read once (see hashModel in analysis/hashes.ts)
  const todo: number[] = [];
  paths.forEach((p, i) => {
    const c = cachedModelHashes(p, opts.cache);
    if (c && c.hashes && (!components || c.components)) results[i] = summary(c);
    else todo.push(i);
  });
  const sizes = paths.map((p) => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  });
  const bytesTotal = todo.reduce((s, i) => s + sizes[i]!, 0);
  let finished = 0;
  let current = 0;
  let stopped = false;
  let stopWorker = () => {};
  const stop = () => {
    stopped = true;
    stopWorker();
  };
  signal?.addEventListener('abort', stop, { once: true });

  const accept = (i: number, h: ModelHashes) => {
    results[i] = summary(h);
    if (!h.error) store(opts.cache, h);
    finished += sizes[i]!;
    current = 0;
  };

  const inThread = async () => {
    const controller = new AbortController();
    stopWorker = () => controller.abort();
    if (stopped) controller.abort();
    for (const i of todo) {
      if (controller.signal.aborted) throw cancelled();
      const h = await modelHashes(paths[i]!, { components, extractWeights: !!opts.extractWeights, signal: controller.signal, onBytes: (done) => (current = done) });
      accept(i, h);
    }
  };

  const inWorker = () =>
    new Promise<void>((resolve, reject) => {
      const input: HashWorkerInput = { paths: todo.map((i) => paths[i]!), components, extractWeights: !!opts.extractWeights };
      const worker = new Worker(workerFile('hash'), { workerData: input });
      let left = todo.length;
      stopWorker = () => worker.postMessage(STOP);
      if (stopped) stopWorker();
      worker.on('message', (m: HashWorkerMessage) => {
        if (m.type === 'progress') current = m.done;
        else if (m.type === 'result') {
          accept(todo[m.index]!, m.hashes);
          if (--left === 0) void worker.terminate().then(() => resolve());
        } else {
          void worker.terminate();
          const e = fromThread(m.error);
          reject(e.code === 'CANCELLED' ? cancelled() : new ModeldiffError('IO_ERROR', `hashing failed: ${e.message}`, { file: e.file }));
        }
      });
      worker.on('error', reject);
      worker.on('exit', () => (left > 0 ? reject(stopped ? cancelled() : new ModeldiffError('IO_ERROR', 'the hashing thread ended early')) : resolve()));
    });

  const done = (async () => {
    try {
      if (todo.length) await (opts.inThread ? inThread() : inWorker());
      opts.cache.save();
      return results;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  })();
  return { paths, done, bytesDone: () => Math.min(bytesTotal, finished + current), bytesTotal, stop };
}
