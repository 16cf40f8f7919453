/**
 * Runs the analyses of the result on display (src/compute/analysis/analyze.ts) one at a time: re-uses a matching
 * analysis.json, otherwise analyses (optionally hashing every file first) and writes analysis.json. A newer run
 * aborts the older one (AbortController), so only the newest result's analysis ever reaches the state.
 * Pure: no vscode import; the host hands in the file operations and the hashing (with its progress notification).
 */
import { type AnalyzeOptions, type ResultSource, canReuse, type AnalysisWanted } from '../../compute';
import type { AnalysisFile } from '../../shared/analysis';
import { throwIfAborted, toModeldiffError } from '../../shared/errors';
import type { ModelInfo } from '../../shared/result';
import type { HostToWebview } from '../../shared/protocol';

export interface AnalysisState {
  /** the result folder this state is about (null: no result) */
  outDir: string | null;
  state: 'idle' | 'running' | 'done' | 'failed';
  analysis: AnalysisFile | null;
  error?: string;
  /** failed because it was cancelled (nothing to report) */
  cancelled?: boolean;
}

export interface RunRequest extends AnalysisWanted {
  /** show a matching analysis.json instead of analysing again */
  reuse: boolean;
}

export interface RunnerDeps {
  analyze(src: ResultSource, opts: AnalyzeOptions): Promise<AnalysisFile>;
  /** the stored analysis.json of a folder; throws when there is none this version reads */
  read(dir: string): AnalysisFile;
  write(dir: string, a: AnalysisFile): void;
  /** fills the hash cache for these models; aborts `abort` when the user cancels */
  hashFiles(models: readonly ModelInfo[], abort: AbortController): Promise<void>;
  /** the hash cache file (null: none) */
  hashCache: string | null;
  log(level: 'info' | 'warn', line: string): void;
  /** lets what is queued (the result itself) reach the panel before the analysis starts */
  yieldFirst?: () => Promise<void>;
}

const IDLE: AnalysisState = { outDir: null, state: 'idle', analysis: null };

export class AnalysisRunner {
  private _state: AnalysisState = IDLE;
  private generation = 0;
  private running: AbortController | undefined;
  private readonly listeners = new Set<(s: AnalysisState) => void>();

  constructor(private readonly deps: RunnerDeps) {}

  get state(): AnalysisState {
    return this._state;
  }

  onDidChange(fn: (s: AnalysisState) => void): { dispose(): void } {
    this.listeners.add(fn);
    return { dispose: () => this.listeners.delete(fn) };
  }

  /** Analyses `src`; resolves to the state it left (the newer run's state when it was superseded). */
  async run(src: ResultSource, req: RunRequest): Promise<AnalysisState> {
    this.running?.abort();
    const generation = ++this.generation;
    const abort = new AbortController();
    this.running = abort;
    const previous = this._state.outDir === src.dir && this._state.state === 'done' ? this._state.analysis : null;
    this.set({ outDir: src.dir, state: 'running', analysis: null });
    const current = () => generation === this.generation;
    const t0 = Date.now();
    try {
      await (this.deps.yieldFirst ?? (() => new Promise<void>((r) => setImmediate(r))))();
      throwIfAborted(abort.signal);
      if (req.reuse) {
        const stored = this.stored(src.dir);
        if (stored && canReuse(stored, src.result, req)) {
          this.deps.log('info', `analysis of ${src.dir}: re-used analysis.json`);
          this.set({ outDir: src.dir, state: 'done', analysis: stored });
          return this._state;
        }
      }
      if (req.computeHashes) await this.deps.hashFiles(src.result.models, abort);
      const analysis = await this.deps.analyze(src, { timeEmbed: req.timeEmbed, hashCache: this.deps.hashCache, computeHashes: req.computeHashes, signal: abort.signal });
      if (!current()) return this._state;
      try {
        this.deps.write(src.dir, analysis);
      } catch (e) {
        this.deps.log('warn', `analysis.json could not be written to ${src.dir}: ${(e as Error).message}`);
      }
      this.deps.log('info', `analysed ${src.dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s (time_embed ${req.timeEmbed}${req.computeHashes ? ', with hashes' : ''})`);
      this.set({ outDir: src.dir, state: 'done', analysis });
    } catch (e) {
      if (!current()) return this._state;
      const err = toModeldiffError(e);
      if (err.code === 'CANCELLED') {
        this.deps.log('info', `analysis of ${src.dir} cancelled`);
        this.set(previous ? { outDir: src.dir, state: 'done', analysis: previous } : { outDir: src.dir, state: 'failed', analysis: null, error: 'The analysis was cancelled.', cancelled: true });
      } else {
        this.deps.log('warn', `analysis of ${src.dir} failed: ${err.code}: ${err.message}`);
        this.set({ outDir: src.dir, state: 'failed', analysis: null, error: err.message });
      }
    } finally {
      if (this.running === abort) this.running = undefined;
    }
    return this._state;
  }

  /** Stops the running analysis; false when none runs. */
  cancel(): boolean {
    if (!this.running) return false;
    this.running.abort();
    return true;
  }

  /** No result any more: stop and forget. */
  clear(): void {
    this.generation++;
    this.cancel();
    this.set(IDLE);
  }

  dispose(): void {
    this.clear();
    this.listeners.clear();
  }

  private stored(dir: string): AnalysisFile | null {
    try {
      return this.deps.read(dir);
    } catch {
      return null; // none yet, or from another schema version
    }
  }

  private set(s: AnalysisState): void {
    this._state = s;
    for (const fn of [...this.listeners]) fn(s);
  }
}

/** The panel message for a state; null when there is nothing to say (no result). */
export function analysisMessage(s: AnalysisState): HostToWebview['analysis/didChange'] | null {
  switch (s.state) {
    case 'idle':
      return null;
    case 'running':
      return { state: 'running', analysis: null };
    case 'done':
      return { state: 'done', analysis: s.analysis };
    case 'failed':
      return { state: 'failed', analysis: null, error: s.error ?? 'the analysis failed' };
  }
}
