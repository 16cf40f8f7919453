/**
 * The analyses of the session's result: run after every comparison and whenever a stored result is re-opened
 * (re-using its analysis.json when it matches), again on request (the panel's analysis/run, the Compute Model
 * Hashes command) and when the time_embed setting changes. Hashes are cached in the extension's global storage
 * (Session.hashCacheFile), and computed during the comparison itself when modeldiff.analysis.computeHashes is on.
 */
import * as vscode from 'vscode';
import { readAnalysis, writeAnalysis, analyzeInWorker, estimateRecipe } from '../../compute';
import type { RecipeEstimate, TimeEmbedPlacement } from '../../shared/analysis';
import type { LoadedResult, Session } from '../session';
import { Disposable } from '../util/disposable';
import { readAnalysisSettings, type AnalysisSettings } from '../util/settings';
import { hashModelFiles } from './hashFiles';
import { AnalysisRunner, type AnalysisState } from './runner';

/** The analyses of a newly shown result wait for the panel to draw it, at most this long. */
export const PANEL_FIRST_MS = 5000;

export class AnalysisService extends Disposable {
  private readonly runner: AnalysisRunner;
  /** while a panel draws a new result: resolves when it has (release) or after PANEL_FIRST_MS */
  private gate: { done: Promise<void>; open: () => void } | null = null;
  /** the automatic analysis of a new result, until it has started (settled() waits for it) */
  private starting: Promise<unknown> | null = null;
  private readonly _onDidChange = this._register(new vscode.EventEmitter<AnalysisState>());
  readonly onDidChange = this._onDidChange.event;

  constructor(private readonly session: Session) {
    super();
    const log = session.log;
    const hashCache = session.hashCacheFile;
    this.runner = new AnalysisRunner({
      analyze: analyzeInWorker,
      read: readAnalysis,
      write: (dir, a) => void writeAnalysis(dir, a),
      hashFiles: async (models, abort) => {
        try {
          await hashModelFiles(models, hashCache, abort, { extractWeights: !!session.current?.result.options.extractWeights });
        } catch (e) {
          if (abort.signal.aborted) void vscode.window.showInformationMessage('modeldiff: computing the model hashes was cancelled.');
          throw e;
        }
      },
      hashCache,
      log: (level, line) => log[level](line),
    });
    this._register(this.runner);
    this._register(this.runner.onDidChange((s) => this._onDidChange.fire(s)));
    this._register(
      session.onDidChangeResult((r) => {
        // after this event has reached the panel too (it may hold the analyses until it has drawn the result)
        if (!r) return this.runner.clear();
        const starting = new Promise<void>((resolve) => setTimeout(resolve, 0))
          .then(() => this.afterPanel())
          .then(() => {
            if (this.session.current === r) void this.runFor(r, { reuse: true });
          });
        this.starting = starting;
        void starting.finally(() => {
          if (this.starting === starting) this.starting = null;
        });
      }),
    );
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        const r = session.current;
        if (r && e.affectsConfiguration('modeldiff.analysis.timeEmbed')) void this.runFor(r, { reuse: true });
      }),
    );
  }

  /**
   * Holds the next automatic analysis until the panel has drawn the result (`release`), or PANEL_FIRST_MS: on two
   * cores the analysis worker would otherwise take half the machine while the panel opens a large result.
   */
  holdForPanel(): void {
    this.gate?.open();
    let open!: () => void;
    const done = new Promise<void>((resolve) => (open = resolve));
    const timer = setTimeout(() => open(), PANEL_FIRST_MS);
    this.gate = {
      done,
      open: () => {
        clearTimeout(timer);
        open();
      },
    };
  }

  /** The panel has drawn the result: the analyses may start. */
  release(): void {
    this.gate?.open();
    this.gate = null;
  }

  private afterPanel(): Promise<void> {
    return this.gate?.done ?? Promise.resolve();
  }

  settings(): AnalysisSettings {
    const cfg = vscode.workspace.getConfiguration('modeldiff.analysis');
    return readAnalysisSettings((k) => cfg.get(k));
  }

  /** The analysis state of a result folder (undefined when the analyses are about another one). */
  stateOf(outDir: string): AnalysisState | undefined {
    const s = this.runner.state;
    return s.outDir === outDir ? s : undefined;
  }

  /** The analysis state of a result folder once no analysis of it is running (for exports). */
  async settled(outDir: string): Promise<AnalysisState | undefined> {
    if (this.starting) await this.starting;
    const now = this.stateOf(outDir);
    if (now?.state !== 'running') return Promise.resolve(now);
    return new Promise((resolve) => {
      const sub = this.runner.onDidChange((s) => {
        if (s.outDir === outDir && s.state === 'running') return;
        sub.dispose();
        resolve(s.outDir === outDir ? s : undefined);
      });
    });
  }

  /** Analyses the current result again (never re-using analysis.json); options default to the settings. */
  async rerun(opts: { computeHashes?: boolean; timeEmbed?: TimeEmbedPlacement } = {}): Promise<AnalysisState | undefined> {
    const r = this.session.current;
    if (!r) return undefined;
    return this.runFor(r, { reuse: false, ...opts });
  }

  /** A merge-recipe estimate of `model` from the given parents, with the time_embed placement on display. */
  recipe(model: number, parents: number[]): RecipeEstimate {
    const r = this.session.current;
    if (!r) throw new Error('no comparison result is loaded');
    const timeEmbed = this.stateOf(r.outDir)?.analysis?.timeEmbed ?? this.settings().timeEmbed;
    return estimateRecipe({ dir: r.outDir, result: r.result }, model, { parents, timeEmbed });
  }

  private runFor(r: LoadedResult, o: { reuse: boolean; computeHashes?: boolean; timeEmbed?: TimeEmbedPlacement }): Promise<AnalysisState> {
    const s = this.settings();
    const shown = this.stateOf(r.outDir)?.analysis?.timeEmbed;
    // an explicit re-run keeps the placement on display; automatic runs follow the setting
    const timeEmbed = o.timeEmbed ?? (o.reuse ? s.timeEmbed : (shown ?? s.timeEmbed));
    return this.runner.run({ dir: r.outDir, result: r.result }, { reuse: o.reuse, timeEmbed, computeHashes: o.computeHashes ?? s.computeHashes });
  }
}
