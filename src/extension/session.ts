/**
 * The comparison state of a window: the result on display, the one running comparison (with its AbortController),
 * and where results live (workspace storage, so a reload re-opens the last one).
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { basename, join, relative, isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { HashCache, compareModels, latestResultOf, parseResult, RESULT_FILE, toModeldiffError, type CompareResult, type Progress } from '../compute';
import { Disposable } from './util/disposable';
import { PercentTracker, percentOf, progressText } from './util/progressText';
import { readAnalysisSettings, readCompareSettings, readExtractWeights, type CompareSettings } from './util/settings';

export interface LoadedResult {
  result: CompareResult;
  outDir: string;
}

const LAST_RESULT_KEY = 'modeldiff.lastResultDir';
/** result folders outside our storage that the user opened (Open Comparison Result...), newest first */
const OPENED_RESULTS_KEY = 'modeldiff.openedResultDirs';
const KEEP_OPENED = 20;
const HASH_CACHE_FILE = 'hashes.json';
const KEEP_RESULTS = 5;

export class Session extends Disposable {
  private _current: LoadedResult | undefined;
  private running: { abort: AbortController; inputs: string[]; last?: Progress } | undefined;

  private readonly _onDidChangeResult = this._register(new vscode.EventEmitter<LoadedResult | undefined>());
  readonly onDidChangeResult = this._onDidChangeResult.event;
  private readonly _onProgress = this._register(new vscode.EventEmitter<Progress>());
  readonly onProgress = this._onProgress.event;
  /** a run started (true) or ended (false) */
  private readonly _onDidChangeRunning = this._register(new vscode.EventEmitter<boolean>());
  readonly onDidChangeRunning = this._onDidChangeRunning.event;
  /** a whole run failed or was cancelled (files that could not be read travel inside the result) */
  private readonly _onError = this._register(new vscode.EventEmitter<{ message: string; file?: string }>());
  readonly onError = this._onError.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {
    super();
    void vscode.commands.executeCommand('setContext', 'modeldiff.running', false);
    void vscode.commands.executeCommand('setContext', 'modeldiff.hasResult', false);
  }

  get current(): LoadedResult | undefined {
    return this._current;
  }

  get isRunning(): boolean {
    return !!this.running;
  }

  get lastProgress(): Progress | undefined {
    return this.running?.last;
  }

  /** Workspace storage when a folder is open, else the global storage. */
  get resultsRoot(): string {
    return join((this.context.storageUri ?? this.context.globalStorageUri).fsPath, 'results');
  }

  /** Model hashes by (path, size, mtime), shared by every workspace. */
  get hashCacheFile(): string {
    return join(this.context.globalStorageUri.fsPath, HASH_CACHE_FILE);
  }

  settings(): CompareSettings {
    const cfg = vscode.workspace.getConfiguration('modeldiff.compare');
    return readCompareSettings((k) => cfg.get(k));
  }

  /**
   * True when `dir` is one of our result folders or one the user opened with "Open Comparison Result..." (state
   * coming back from a webview is checked with this).
   */
  isResultDir(dir: unknown): dir is string {
    if (typeof dir !== 'string' || !isAbsolute(dir)) return false;
    if (this.openedDirs().includes(dir)) return true;
    const rel = relative(this.resultsRoot, dir);
    return !!rel && !rel.startsWith('..') && !isAbsolute(rel) && !rel.includes('/') && !rel.includes('\\');
  }

  private openedDirs(): string[] {
    const v = this.context.workspaceState.get<unknown>(OPENED_RESULTS_KEY);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  /** Opens a result folder the user picked (a `modeldiff compare --out` folder, say) and makes it the last result. */
  async openFolder(dir: string): Promise<LoadedResult> {
    const t0 = Date.now();
    const r = await this.open(dir).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new Error(`${dir} holds no ${RESULT_FILE}: pick a folder a comparison wrote (\`modeldiff compare ... --out <folder>\`)`) : e;
    });
    this.log.info(`opened ${join(dir, RESULT_FILE)}: ${r.result.models.length} models, ${r.result.pairs.length} pairs in ${Date.now() - t0} ms`);
    await this.context.workspaceState.update(OPENED_RESULTS_KEY, [dir, ...this.openedDirs().filter((d) => d !== dir)].slice(0, KEEP_OPENED));
    await this.context.workspaceState.update(LAST_RESULT_KEY, dir);
    return r;
  }

  async open(outDir: string): Promise<LoadedResult> {
    const path = join(outDir, RESULT_FILE);
    // checked against the schema and its version; older files get their display names (a RESULT_INVALID error names the file)
    const result = parseResult(await readFile(path), path);
    this.setCurrent({ result, outDir });
    return this._current!;
  }

  private restoring: Promise<LoadedResult | undefined> | undefined;

  /** The last result of this workspace, if it is still on disk (concurrent callers share one read). */
  restoreLast(): Promise<LoadedResult | undefined> {
    if (this._current) return Promise.resolve(this._current);
    this.restoring ??= this.readLast().finally(() => (this.restoring = undefined));
    return this.restoring;
  }

  private async readLast(): Promise<LoadedResult | undefined> {
    const dir = this.context.workspaceState.get<string>(LAST_RESULT_KEY);
    if (!this.isResultDir(dir)) return undefined;
    try {
      return await this.open(dir);
    } catch (e) {
      this.log.warn(`last result in ${dir} could not be re-opened: ${(e as Error).message}`);
      return undefined;
    }
  }

  cancel(): boolean {
    if (!this.running) return false;
    this.log.info('cancelling the running comparison');
    this.running.abort.abort();
    return true;
  }

  /**
   * Compares the models found in `inputs` (files and folders) with a progress notification that has a Cancel
   * button. Resolves to the result, or undefined when cancelled or failed (the failure is logged and shown).
   */
  async run(inputs: string[]): Promise<LoadedResult | undefined> {
    if (this.running) {
      const pick = await vscode.window.showWarningMessage('modeldiff: a comparison is already running.', 'Cancel It', 'Keep It');
      if (pick !== 'Cancel It') return undefined;
      this.cancel();
      while (this.running) await new Promise((r) => setTimeout(r, 50));
    }
    const settings = this.settings();
    const compareCfg = vscode.workspace.getConfiguration('modeldiff.compare');
    const extractWeights = readExtractWeights((k) => compareCfg.get(k));
    const analysisCfg = vscode.workspace.getConfiguration('modeldiff.analysis');
    // hashed while the engine reads (mostly from the page cache), so the analyses find them in the cache
    const withHashes = readAnalysisSettings((k) => analysisCfg.get(k)).computeHashes;
    const abort = new AbortController();
    const run: { abort: AbortController; inputs: string[]; last?: Progress } = { abort, inputs };
    this.running = run;
    this.setRunning(true);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const outDir = join(this.resultsRoot, stamp);
    // the same models compared before: that result is reused (only pairs with a new or changed model are computed)
    const previous = latestResultOf(this.resultsRoot, inputs);
    const what = inputs.length === 1 ? basename(inputs[0]!) : `${inputs.length} models`;
    this.log.info(`comparing ${inputs.join(', ')} -> ${outDir} (workers ${settings.workers ?? 'auto'}, memory ${settings.memoryBudgetMiB} MiB, components ${settings.components?.join(',') ?? 'all'}, EMA ${settings.includeEma}${withHashes ? ', with hashes' : ''}${extractWeights ? ', extract-weights' : ''})`);
    const t0 = Date.now();
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `modeldiff: comparing ${what}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          const pct = new PercentTracker();
          return compareModels(inputs, {
            outDir,
            components: settings.components,
            includeEma: settings.includeEma,
            ...(settings.workers !== undefined ? { workers: settings.workers } : {}),
            memoryBudgetMiB: settings.memoryBudgetMiB,
            extractWeights,
            ...(withHashes ? { hashes: { cache: new HashCache(this.hashCacheFile) } } : {}),
            ...(previous ? { previous } : {}),
            onNotice: (m) => this.log.info(m),
            signal: abort.signal,
            onProgress: (p) => {
              run.last = p;
              const increment = pct.increment(percentOf(p));
              progress.report({ message: progressText(p), ...(increment !== undefined ? { increment } : {}) });
              this._onProgress.fire(p);
            },
          });
        },
      );
      const reused = result.stats.incremental;
      this.log.info(`compared ${result.models.length} models in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${result.pairs.length} pairs${reused ? ` (${reused.pairsComputed} computed, ${reused.pairsKept} kept from ${reused.previous})` : ''}, ${result.errors.length} unreadable files`);
      await this.context.workspaceState.update(LAST_RESULT_KEY, outDir);
      this.setCurrent({ result, outDir });
      // the panel shows these with the result (ComparePanel.postResult)
      for (const e of result.errors) this.log.error(`${e.path}: ${e.code}: ${e.message}`);
      void this.prune(outDir);
      if (result.errors.length) {
        void showWithDetails(this.log, 'warning', `modeldiff: ${result.errors.length} of ${result.errors.length + result.models.length} files could not be read.`);
      }
      if (result.models.length < 2) {
        void showWithDetails(this.log, 'warning', `modeldiff: found ${result.models.length} readable model${result.models.length === 1 ? '' : 's'} in ${what}; nothing to compare.`);
      }
      return this._current;
    } catch (e) {
      const err = toModeldiffError(e);
      void rm(outDir, { recursive: true, force: true }).catch(() => {});
      // a cancelled run keeps its checkpoint beside the folder for the CLI's resume; each panel run has its own folder
      void rm(`${outDir}.partial`, { recursive: true, force: true }).catch(() => {});
      if (err.code === 'CANCELLED') {
        this.log.info(`comparison cancelled after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        this._onError.fire({ message: 'The comparison was cancelled.' });
        void vscode.window.showInformationMessage('modeldiff: comparison cancelled.');
        return undefined;
      }
      this.log.error(`comparison failed: ${err.code}: ${err.message}${err.file ? ` (${err.file})` : ''}`);
      if (err.stack) this.log.debug(err.stack);
      this._onError.fire({ message: `${err.code}: ${err.message}`, ...(err.file ? { file: err.file } : {}) });
      void showWithDetails(this.log, 'error', `modeldiff: ${err.message}`);
      return undefined;
    } finally {
      this.running = undefined;
      this.setRunning(false);
    }
  }

  private setCurrent(r: LoadedResult | undefined): void {
    this._current = r;
    void vscode.commands.executeCommand('setContext', 'modeldiff.hasResult', !!r);
    this._onDidChangeResult.fire(r);
  }

  private setRunning(on: boolean): void {
    void vscode.commands.executeCommand('setContext', 'modeldiff.running', on);
    this._onDidChangeRunning.fire(on);
  }

  /** Keeps the newest KEEP_RESULTS result folders (and always `keep`). */
  private async prune(keep: string): Promise<void> {
    try {
      const names = (await readdir(this.resultsRoot)).sort().reverse();
      for (const name of names.slice(KEEP_RESULTS)) {
        const dir = join(this.resultsRoot, name);
        if (dir !== keep && dir !== this._current?.outDir) await rm(dir, { recursive: true, force: true });
      }
    } catch (e) {
      this.log.warn(`could not prune old results: ${(e as Error).message}`);
    }
  }
}

/** A message with a "Show Details" button that opens the output channel. */
export async function showWithDetails(log: vscode.LogOutputChannel, level: 'error' | 'warning', message: string): Promise<void> {
  const show = level === 'error' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
  if ((await show(message, 'Show Details')) === 'Show Details') log.show(true);
}
