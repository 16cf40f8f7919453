/**
 * File and component hashes computed while the engine compares: one model after the other, concurrently with the
 * engine's reads, so the data the engine pulls into the page cache is hashed from there instead of being read from
 * disk a second time in a later pass. Results go to the hash cache (by path, size, mtime), so later runs and
 * `modeldiff analyze` find them without reading anything.
 */
import { statSync } from 'node:fs';
import { modelHashes, type HashCache } from './analysis/hashes';
import { ModeldiffError } from './errors';
import type { ModelHashSummary } from './result';

export interface HashPassOptions {
  cache: HashCache;
  /** also the per-component content hashes (default true) */
  components?: boolean;
}

export interface HashPass {
  /** resolves to one summary per path (null where the file could not be hashed), in input order */
  done: Promise<(ModelHashSummary | null)[]>;
  bytesDone(): number;
  bytesTotal: number;
  /** stops early (the engine failed); `done` then rejects with CANCELLED */
  stop(): void;
  paths: readonly string[];
}

export function startHashPass(paths: readonly string[], opts: HashPassOptions, signal?: AbortSignal): HashPass {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const sizes = paths.map((p) => {
    try {
      const st = statSync(p);
      return st.isFile() ? st.size : 0;
    } catch {
      return 0;
    }
  });
  // a file is read twice: the whole-file hashes and the per-tensor component hash
  const factor = opts.components === false ? 1 : 2;
  const bytesTotal = sizes.reduce((s, n) => s + n, 0) * factor;
  let finished = 0;
  let current = 0;
  const run = async () => {
    const out: (ModelHashSummary | null)[] = [];
    try {
      for (let i = 0; i < paths.length; i++) {
        if (controller.signal.aborted) throw new ModeldiffError('CANCELLED', 'cancelled');
        // onBytes counts each of the two reads from 0: a count going down starts the second one
        let base = 0;
        let last = 0;
        let lastTotal = 0;
        const h = await modelHashes(paths[i]!, {
          cache: opts.cache,
          components: opts.components !== false,
          signal: controller.signal,
          onBytes: (done, total) => {
            if (done < last) base += lastTotal;
            last = done;
            lastTotal = total;
            current = Math.min(sizes[i]! * factor, base + done);
          },
        });
        finished += sizes[i]! * factor;
        current = 0;
        out.push(
          h.error && !h.hashes && !h.components
            ? null
            : {
                sha256: h.hashes?.sha256 ?? null,
                autov2: h.hashes?.autov2 ?? null,
                legacy: h.hashes?.legacy ?? null,
                autov3: h.hashes?.autov3 ?? null,
                components: h.components ? Object.fromEntries(Object.entries(h.components).map(([c, v]) => [c, v.sha256])) : null,
              },
        );
      }
      opts.cache.save();
      return out;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };
  return {
    done: run(),
    bytesDone: () => Math.min(bytesTotal, finished + current),
    bytesTotal,
    stop: () => controller.abort(),
    paths,
  };
}
