/**
 * Fills the hash cache for the models of a result, file by file, under a progress notification with bytes and a
 * Cancel button (no notification when the cache already knows every file). analyze() then finds every hash in the
 * cache. A model that cannot be hashed is skipped here: analyze() tries it again and records why it failed.
 */
import * as vscode from 'vscode';
import { cachedModelHashes, componentHashes, fileHashes, HashCache } from '../../compute/analysis/hashes';
import { throwIfAborted, toModeldiffError } from '../../compute/errors';
import type { ModelInfo } from '../../compute/result';
import { PercentTracker } from '../util/format';
import { HashProgress, type HashPass } from './hashProgress';

export async function hashModelFiles(models: readonly ModelInfo[], cacheFile: string | null, abort: AbortController, log: vscode.LogOutputChannel): Promise<void> {
  const cache = new HashCache(cacheFile);
  const signal = abort.signal;
  const known = (m: ModelInfo) => {
    const c = cachedModelHashes(m.path, cache);
    return !!c?.hashes && !!c.components;
  };
  if (models.every(known)) return;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `modeldiff: computing hashes of ${models.length} model${models.length === 1 ? '' : 's'}`, cancellable: true },
    async (progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      const tracker = new HashProgress(models);
      const pct = new PercentTracker();
      const onBytes = (index: number, pass: HashPass) => (done: number, total: number) => {
        const r = tracker.report(index, pass, done, total);
        const increment = pct.increment(r.percent);
        progress.report({ message: r.message, ...(increment !== undefined ? { increment } : {}) });
      };
      for (const [index, m] of models.entries()) {
        throwIfAborted(signal);
        try {
          await fileHashes(m.path, { cache, signal, onBytes: onBytes(index, 'file') });
          await componentHashes(m.path, { cache, signal, onBytes: onBytes(index, 'components') });
        } catch (e) {
          const err = toModeldiffError(e);
          if (err.code === 'CANCELLED') throw err;
          log.warn(`hashes of ${m.path}: ${err.message}`);
        } finally {
          cache.save();
        }
      }
    },
  );
}
