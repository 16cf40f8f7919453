/**
 * The comparison panel: one webview panel per window showing the session's current result (and the progress of a
 * running comparison), then its analyses. Survives reloads through a WebviewPanelSerializer.
 */
import * as vscode from 'vscode';
import { pairLayers } from '../../compute';
import type { HostToWebview, LayerRowMessage, RequestResults, WebviewToHost } from '../../shared/protocol';
import { packResult } from '../../shared/packedResult';
import { seriate } from '../../shared/clustering';
import { componentDistances } from '../../shared/distanceCell';
import { analysisMessage, type AnalysisState } from '../analysis/runner';
import type { AnalysisService } from '../analysis/service';
import type { Session, LoadedResult } from '../session';
import { Disposable } from '../util/disposable';
import type { FocusTarget } from '../views/treeModel';
import { HostIpc } from './ipc';
import { loraAttribution } from './loraAttribution';
import { safeExportName } from './exportName';
import { renderWebview, webviewOptions } from './webviewContent';

export const COMPARE_VIEW_TYPE = 'modeldiff.compare';
const TITLE = 'modeldiff';
/** From this many models the panel opens in cluster order: its clustering is worked out here, while the panel loads. */
const SERIATE_FROM = 16;

export interface PanelDeps {
  ctx: vscode.ExtensionContext;
  session: Session;
  analysis: AnalysisService;
  /** the panel focused a model or pair (the tree may reveal it) */
  onFocus: (f: FocusTarget) => void;
}

export class ComparePanel extends Disposable {
  private static current: ComparePanel | undefined;
  private readonly ipc: HostIpc;
  private shown: LoadedResult | undefined;
  private readies = 0;

  /** Reveals the panel (creating it if needed). */
  static show(deps: PanelDeps, preserveFocus = false): ComparePanel {
    if (ComparePanel.current) {
      ComparePanel.current.panel.reveal(undefined, preserveFocus);
      return ComparePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      COMPARE_VIEW_TYPE,
      TITLE,
      { viewColumn: vscode.ViewColumn.Active, preserveFocus },
      { ...webviewOptions(deps.ctx.extensionUri), retainContextWhenHidden: true },
    );
    return new ComparePanel(panel, deps);
  }

  static get instance(): ComparePanel | undefined {
    return ComparePanel.current;
  }

  /** After a reload: the restored panel gets fresh HTML and the last result. */
  static async revive(panel: vscode.WebviewPanel, deps: PanelDeps, state: unknown): Promise<void> {
    const { session } = deps;
    ComparePanel.current?.dispose();
    panel.webview.options = webviewOptions(deps.ctx.extensionUri);
    const p = new ComparePanel(panel, deps);
    const dir = state && typeof state === 'object' ? (state as { outDir?: unknown }).outDir : undefined;
    if (!session.current && session.isResultDir(dir)) {
      try {
        await session.open(dir);
      } catch (e) {
        session.log.warn(`panel state ${dir}: ${(e as Error).message}`);
      }
    }
    if (!session.current) await session.restoreLast();
    if (!session.current && !session.isRunning) p.ipc.notify('error/didOccur', { message: 'No comparison result to show yet. Run "modeldiff: Compare Models" on a folder.' });
  }

  private readonly session: Session;
  private readonly analysis: AnalysisService;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    deps: PanelDeps,
  ) {
    super();
    const { ctx, session, analysis } = deps;
    this.session = session;
    this.analysis = analysis;
    ComparePanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(ctx.extensionUri, 'media', 'modeldiff.svg');
    this.ipc = new HostIpc(
      (m) => panel.webview.postMessage(m),
      {
        'layers/get': (p) => this.layers(p),
        'export/save': (p) => saveExport(p, session),
        'recipe/get': (p) => analysis.recipe(p.model, p.parents),
        'lora/attribute': (p) => {
          const r = this.shown ?? session.current;
          if (!r) throw new Error('no comparison result is loaded');
          return loraAttribution(r.result, p);
        },
      },
      {
        ready: () => this.onReady(),
        'focus/changed': (f) => deps.onFocus(f),
        'analysis/run': (p) => void analysis.rerun(p),
        'result/drawn': (p) => {
          if (p.outDir !== this.shown?.outDir) return;
          session.log.info(`the panel drew the result of ${p.models} models`);
          analysis.release();
        },
      },
      (line) => session.log.warn(`compare panel: ${line}`),
    );
    this._register(panel.onDidDispose(() => this.dispose()));
    this._register(panel.webview.onDidReceiveMessage((m) => void this.ipc.receive(m)));
    this._register(session.onDidChangeResult((r) => r && this.postResult(r)));
    this._register(
      session.onProgress((p) => this.ipc.notify('progress/didChange', { phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, etaSeconds: p.etaSeconds, ...(p.message ? { message: p.message } : {}) })),
    );
    this._register(session.onError((e) => this.ipc.notify('error/didOccur', e)));
    this._register(analysis.onDidChange((s) => this.postAnalysis(s)));
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('modeldiff.compare.metric') && this.shown) this.postResult(this.shown);
      }),
    );
    void renderWebview(panel.webview, ctx.extensionUri, 'compare', TITLE, session.log);
    const p = session.lastProgress;
    if (session.isRunning && p) this.ipc.notify('progress/didChange', { phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, etaSeconds: p.etaSeconds });
    if (session.current) this.postResult(session.current);
  }

  /** Says a result is being read (until it arrives). */
  opening(dir: string): void {
    this.ipc.notify('progress/didChange', { phase: 'Opening the result', bytesDone: 0, bytesTotal: 0, etaSeconds: null, message: dir });
  }

  /** Says the result could not be opened (the panel drops its "Opening" line and lists the reason). */
  openFailed(message: string): void {
    this.ipc.notify('error/didOccur', { message });
  }

  focus(f: FocusTarget, preserveFocus = true): void {
    this.panel.reveal(undefined, preserveFocus);
    const params: HostToWebview['focus/didChange'] = {};
    if (f.model !== undefined) params.model = f.model;
    if (f.pair) params.pair = f.pair;
    if (f.component !== undefined) params.component = f.component;
    this.ipc.notify('focus/didChange', params);
  }

  /** The result, with the metric setting as the one to show first. */
  private postResult(r: LoadedResult): void {
    this.shown = r;
    // the analyses start once the panel has drawn the result (or after a while), not while it does
    if (!this.panel.visible) this.analysis.release();
    else this.analysis.holdForPanel();
    const metric = this.session.settings().metric;
    const t0 = Date.now();
    const result = packResult({ ...r.result, options: { ...r.result.options, metric } });
    this.session.log.info(`packed the ${r.result.pairs.length} pairs for the panel in ${Date.now() - t0} ms`);
    this.panel.title = `modeldiff: ${r.result.models.length} models`;
    // files that could not be read travel in result.errors (the panel lists them); error/didOccur is for whole-run failures
    const n = r.result.models.length;
    const component = r.result.components[0];
    let seriation: HostToWebview['result/didChange']['seriation'];
    if (n >= SERIATE_FROM && component) {
      const t = Date.now();
      seriation = { component, metric, value: seriate(n, componentDistances(r.result, component, metric)) };
      this.session.log.info(`clustered the ${component} matrix for the panel in ${Date.now() - t} ms`);
    }
    const t1 = Date.now();
    this.ipc.notify('result/didChange', { result, outDir: r.outDir, ...(seriation ? { seriation } : {}) });
    this.session.log.info(`result of ${r.result.models.length} models ${this.ipc.isReady ? `posted to the panel in ${Date.now() - t1} ms` : 'queued until the panel is ready'}`);
    const s = this.analysis.stateOf(r.outDir);
    if (s) this.postAnalysis(s);
  }

  /** Analyses of the result on display only (a state about another folder is stale or early). */
  private postAnalysis(s: AnalysisState): void {
    if (!this.shown || s.outDir !== this.shown.outDir) return;
    const msg = analysisMessage(s);
    if (msg) this.ipc.notify('analysis/didChange', msg);
  }

  /** The first `ready` flushes what was queued; a later one is a reloaded webview, which starts empty. */
  private onReady(): void {
    this.session.log.info('compare panel ready');
    if (++this.readies > 1 && this.shown) this.postResult(this.shown);
  }

  private async layers(p: WebviewToHost['layers/get']): Promise<LayerRowMessage[]> {
    const r = this.shown ?? this.session.current;
    if (!r) throw new Error('no comparison result is loaded');
    const n = r.result.models.length;
    if (p.a >= n || p.b >= n || p.a === p.b) throw new Error(`no pair ${p.a}-${p.b} in this result of ${n} models`);
    return pairLayers(r.outDir, r.result, p.a, p.b);
  }

  override dispose(): void {
    if (ComparePanel.current === this) ComparePanel.current = undefined;
    this.ipc.dispose();
    super.dispose();
    this.panel.dispose();
  }
}

const EXPORT_FILTERS: Record<WebviewToHost['export/save']['kind'], Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { CSV: ['csv'] },
  json: { JSON: ['json'] },
};

async function saveExport(p: WebviewToHost['export/save'], session: Session): Promise<RequestResults['export/save']> {
  const name = safeExportName(p.suggestedName, p.kind);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}),
    filters: EXPORT_FILTERS[p.kind],
    saveLabel: 'Export',
    title: `modeldiff: export ${p.kind.toUpperCase()}`,
  });
  if (!target) return { saved: false };
  const bytes = p.kind === 'png' ? Buffer.from(p.data, 'base64') : Buffer.from(p.data, 'utf8');
  await vscode.workspace.fs.writeFile(target, bytes);
  session.log.info(`exported ${target.fsPath} (${bytes.length} bytes)`);
  return { saved: true, path: target.fsPath };
}
