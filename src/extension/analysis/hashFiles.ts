/**
 * Fills the hash cache for the models of a result (the engine's hash pass, in a worker thread of its own) under a
 * progress notification with bytes and a Cancel button; no notification when the cache already knows every file.
 * analyze() then finds every hash in the cache. A model that could not be hashed is left out of the cache:
 * analyze() tries it again and records why it failed.
 */
import * as vscode from 'vscode';
import { cachedModelHashes, HashCache, startHashPass } from '../../compute';
import type { ModelInfo } from '../../shared/result';
import { bytesText, PercentTracker, percentOf } from '../util/progressText';

const REPORT_MS = 250;

export async function hashModelFiles(models: readonly ModelInfo[], cacheFile: string | null, abort: AbortController, opts: { extractWeights?: boolean } = {}): Promise<void> {
  const cache = new HashCache(cacheFile);
  const known = (m: ModelInfo) => {
    const c = cachedModelHashes(m.path, cache);
    return !!c?.hashes && !!c.components;
  };
  if (models.every(known)) return;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `modeldiff: computing hashes of ${models.length} model${models.length === 1 ? '' : 's'}`, cancellable: true },
    async (progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      const pass = startHashPass(
        models.map((m) => m.path),
        { cache, extractWeights: !!opts.extractWeights },
        abort.signal,
      );
      const pct = new PercentTracker();
      const report = () => {
        const p = { phase: 'hashing', bytesDone: pass.bytesDone(), bytesTotal: pass.bytesTotal, etaSeconds: null };
        const percent = percentOf(p) ?? 0;
        const increment = pct.increment(percent);
        progress.report({ message: bytesText(percent, p.bytesDone, p.bytesTotal), ...(increment !== undefined ? { increment } : {}) });
      };
      const timer = setInterval(report, REPORT_MS);
      try {
        await pass.done;
      } finally {
        clearInterval(timer);
      }
    },
  );
}
