/**
 * The comparison panel: progress while the engine runs, then the heatmap, network, distance-from-one-model line,
 * errors, the selected pair's summary, differences, histograms and per-layer table, and the analyses (analysis/).
 */
import { LoraCard } from './loraCard';
import type { CompareResult } from '../../../shared/result';
import type { HostToWebview, LayerRowMessage, ProgressMessage } from '../../../shared/protocol';
import { buildMatrix, componentsOf } from '../../logic/matrix';
import type { DistanceMatrix } from '../../logic/matrix';
import type { SortSpec } from '../../logic/table';
import type { Metric } from '../../logic/types';
import { METRICS, metricLabel } from '../../logic/types';
import { slug } from '../../logic/labels';
import type { HostIpc } from '../../shared/hostIpc';
import { readTheme, onThemeChange } from '../../shared/theme';
import type { Theme } from '../../shared/theme';
import { ChartCard } from '../../shared/chartCard';
import type { ExportKind, Exporter } from '../../shared/chartCard';
import { ce, h, replaceChildren } from '../../shared/dom';
import { select } from '../../shared/controls';
import { HeatmapCard } from './heatmap';
import type { HeatmapSettings } from './heatmap';
import { seriate } from '../../logic/seriation';
import type { Seriation } from '../../logic/seriation';
import type { EdgeMode } from '../../logic/graph';
import { nearestDifferingPair } from '../../logic/pair';
import { unpackResult } from '../../../shared/packedResult';
import { NetworkCard } from './network';
import { lineOption } from './lineChart';
import { PairView } from './pairView';
import type { PairViewState } from './pairView';
import { AnalysisView } from './analysis/view';
import type { AnalysisState } from './analysis/view';
import { safeText, modelName } from '../../../shared/text';
import { formatBytes, formatCount, formatDuration, formatInt } from '../../../shared/format';

export interface CompareState extends PairViewState {
  component: string;
  metric: Metric;
  pair: { a: number; b: number } | null;
  refModel: number;
  focusModel: number | null;
  threshold: number | null;
  heatmap: HeatmapSettings;
  /** null: by the number of models */
  edgeMode: EdgeMode | null;
  /** the metric was picked in the panel; until then it follows the modeldiff.compare.metric setting */
  metricPicked: boolean;
  analysis: Partial<AnalysisState>;
}

export class CompareApp {
  readonly root: HTMLElement;
  private result: CompareResult | null = null;
  private outDir = '';
  private state: CompareState;
  private theme: Theme;
  private matrix: DistanceMatrix | null = null;
  /** the seriation of `matrix`, computed when a view first needs it */
  private seriation: { matrix: DistanceMatrix; s: Seriation } | null = null;
  /** the host's clustering of the matrix the panel opens on */
  private hint: HostToWebview['result/didChange']['seriation'] | null = null;
  private readonly header = h('header', { class: 'md-header' });
  private readonly progressEl = h('section', { class: 'md-progress', id: 'progress', attrs: { 'aria-live': 'polite' } });
  private readonly errorsEl = h('section', { class: 'md-errors', id: 'errors', role: 'region', attrs: { 'aria-label': 'Problems' } });
  private readonly messages: { message: string; file?: string }[] = [];
  private readonly main = h('div', { class: 'md-main', id: 'main' });
  private readonly modelsEl = h('details', { class: 'md-models', id: 'models' });
  private readonly toast = h('div', { class: 'md-toast', id: 'toast', role: 'status', attrs: { 'aria-live': 'polite' } });
  private readonly compSel;
  private readonly metricSel;
  private readonly refSel;
  private readonly heatmap: HeatmapCard;
  private readonly network: NetworkCard;
  private readonly line: ChartCard;
  private readonly pairView: PairView;
  private readonly analysis: AnalysisView;
  private readonly loraCard = new LoraCard((checkpoint, base, nonNegative) => this.ipc.request('lora/attribute', { checkpoint, base, nonNegative }, 60 * 60_000));
  private layerCache = new Map<string, Promise<LayerRowMessage[]>>();

  constructor(private readonly ipc: HostIpc) {
    const saved = ipc.getState<CompareState>();
    this.state = {
      component: saved.component ?? '',
      metric: saved.metric === 'cosine' ? 'cosine' : 'l2',
      pair: saved.pair ?? null,
      refModel: saved.refModel ?? 0,
      focusModel: saved.focusModel ?? null,
      threshold: saved.threshold ?? null,
      heatmap: {
        order: saved.heatmap?.order === 'cluster' || saved.heatmap?.order === 'file' ? saved.heatmap.order : null,
        scale: saved.heatmap?.scale === 'linear' || saved.heatmap?.scale === 'log' || saved.heatmap?.scale === 'rank' ? saved.heatmap.scale : null,
      },
      edgeMode: saved.edgeMode === 'backbone' || saved.edgeMode === 'nearest' || saved.edgeMode === 'all' ? saved.edgeMode : null,
      metricPicked: saved.metricPicked === true,
      layerFilter: saved.layerFilter ?? '',
      layerComponent: saved.layerComponent ?? '',
      layerSort: (saved.layerSort as SortSpec | null | undefined) ?? null,
      analysis: saved.analysis && typeof saved.analysis === 'object' ? saved.analysis : {},
    };
    this.theme = readTheme();
    const exporter: Exporter = (name, kind, data) => this.exportFile(name, kind, data);
    const theme = () => this.theme;

    this.compSel = select('component', 'Component', [], this.state.component, (v) => this.setComponent(v));
    this.metricSel = select('metric', 'Metric', METRICS.map((m) => ({ value: m, label: m === 'l2' ? 'L2 distance' : 'cosine similarity' })), this.state.metric, (v) =>
      this.setMetric(v === 'cosine' ? 'cosine' : 'l2'),
    );
    this.refSel = select('ref-model', 'Reference model', [], String(this.state.refModel), (v) => this.focusModel(Number(v), false));

    this.heatmap = new HeatmapCard(exporter, theme, (a, b) => this.selectPair(a, b, true), this.state.heatmap, (s) => this.save({ heatmap: s }));
    this.network = new NetworkCard(exporter, theme, (i) => this.focusModel(i, true), (t) => this.save({ threshold: t }), this.state.edgeMode, (mode) => this.save({ edgeMode: mode }));
    this.line = new ChartCard('Distance from one model', () => slug(`distance-from-${this.state.refModel}-${this.state.component}-${this.state.metric}`), exporter, () => this.theme.bg, { id: 'line-card' });
    this.line.chartEl.id = 'line-chart';
    this.line.tools.prepend(this.refSel.field);
    this.pairView = new PairView(
      exporter,
      theme,
      (a, b) => this.layers(a, b),
      (a, b) => this.selectPair(a, b, true),
      (s) => this.save(s),
      this.state,
    );
    this.analysis = new AnalysisView(
      {
        exporter,
        theme,
        fitRecipe: (model, parents) => this.ipc.request('recipe/get', { model, parents }, 10 * 60_000),
        run: (params) => this.ipc.notify('analysis/run', params),
        pickPair: (a, b) => void this.selectPair(a, b, true),
        saveState: (patch) => this.save({ analysis: { ...this.state.analysis, ...patch } }),
      },
      this.state.analysis,
    );

    this.progressEl.hidden = true;
    this.main.hidden = true;
    this.errorsEl.hidden = true;
    this.root = h(
      'div',
      { class: 'md-app md-compare' },
      this.header,
      this.progressEl,
      this.errorsEl,
      this.main,
      this.toast,
    );
    this.renderHeader();
    this.main.append(
      this.modelsEl,
      h('div', { class: 'md-toolbar', id: 'toolbar' }, this.compSel.field, this.metricSel.field),
      h('div', { class: 'md-grid2' }, this.heatmap.card.root, this.network.card.root),
      this.line.root,
      this.pairView.root,
      this.loraCard.card.root,
      this.analysis.root,
    );
    this.renderWaiting();

    ipc.on('result/didChange', (p) => {
      this.hint = p.seriation ?? null;
      this.setResult(p.result && typeof p.result === 'object' ? unpackResult(p.result) : p.result, p.outDir);
    });
    ipc.on('progress/didChange', (p) => this.showProgress(p));
    ipc.on('focus/didChange', (p) => this.applyFocus(p));
    // a whole run failed, was cancelled, or a result could not be opened: its progress is over
    ipc.on('error/didOccur', (p) => {
      this.progressEl.hidden = true;
      this.addMessage(p);
    });
    ipc.on('analysis/didChange', (p) => this.analysis.setAnalysis(p));
    onThemeChange(() => {
      this.theme = readTheme();
      this.renderAll();
    });
  }

  private save(patch: Partial<CompareState>): void {
    this.state = { ...this.state, ...patch };
    this.ipc.setState<CompareState>(this.state);
  }

  private renderHeader(): void {
    const r = this.result;
    replaceChildren(
      this.header,
      h('h1', null, 'Model comparison'),
      r
        ? h(
            'p',
            { class: 'md-muted', id: 'summary-line' },
            `${formatInt(r.models.length)} models · ${r.components.length} components · ${formatInt(r.pairs.length)} pairs · ${formatBytes(r.stats.bytesRead)} read in ${r.stats.seconds.toFixed(1)} s`,
            this.outDir ? ` · ${safeText(this.outDir)}` : '',
          )
        : null,
    );
  }

  private renderWaiting(): void {
    if (this.result) return;
    this.progressEl.hidden = false;
    if (!this.progressEl.firstChild) replaceChildren(this.progressEl, h('p', { class: 'md-muted' }, 'Waiting for the comparison…'), ce('vscode-progress-bar', { attrs: { 'aria-label': 'Waiting' } }));
  }

  showProgress(p: ProgressMessage): void {
    this.progressEl.hidden = false;
    const pct = p.bytesTotal > 0 ? Math.min(100, (100 * p.bytesDone) / p.bytesTotal) : NaN;
    const bar = ce<HTMLElement & { value?: number; max: number }>('vscode-progress-bar', { attrs: { 'aria-label': 'Comparison progress' } });
    bar.max = 100;
    if (Number.isFinite(pct)) bar.value = pct;
    const eta = formatDuration(p.etaSeconds);
    replaceChildren(
      this.progressEl,
      h(
        'div',
        { class: 'md-progress-line' },
        h('strong', { id: 'progress-phase' }, safeText(p.phase)),
        Number.isFinite(pct) ? h('span', { id: 'progress-percent' }, `${pct.toFixed(1)} %`) : null,
        p.bytesTotal > 0 ? h('span', { class: 'md-muted' }, `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`) : null,
        eta ? h('span', { class: 'md-muted' }, `ETA ${eta}`) : null,
      ),
      bar,
      p.message ? h('p', { class: 'md-muted', id: 'progress-message' }, safeText(p.message)) : null,
    );
  }

  private addMessage(p: { message: string; file?: string }): void {
    if (this.messages.some((m) => m.message === p.message && m.file === p.file)) return;
    this.messages.push(p);
    this.renderErrors();
  }

  private renderErrors(): void {
    const fileErrors = this.result?.errors ?? [];
    const total = fileErrors.length + this.messages.length;
    this.errorsEl.hidden = total === 0;
    if (!total) return;
    const items = [
      ...fileErrors.map((e) =>
        h(
          'li',
          { class: 'md-error-item', dataset: { code: e.code } },
          h('span', { class: 'md-error-file', title: safeText(e.path) }, safeText(e.file)),
          h('code', { class: 'md-error-code' }, e.code),
          h('span', { class: 'md-error-msg' }, safeText(e.message)),
        ),
      ),
      ...this.messages.map((m) =>
        h('li', { class: 'md-error-item' }, m.file ? h('span', { class: 'md-error-file' }, safeText(m.file)) : null, h('span', { class: 'md-error-msg' }, safeText(m.message))),
      ),
    ];
    replaceChildren(
      this.errorsEl,
      h('h2', { class: 'md-section-title' }, `${total} ${total === 1 ? 'problem' : 'problems'}`, fileErrors.length ? ` (${fileErrors.length} ${fileErrors.length === 1 ? 'file' : 'files'} could not be compared)` : ''),
      h('ul', { class: 'md-error-list', id: 'error-list' }, ...items),
    );
  }

  private renderModels(r: CompareResult): void {
    const health = (m: CompareResult['models'][number]) => {
      const t = m.tensorHealth;
      if (!t || (!t.nonFiniteCount && !t.allZeroCount)) return h('td', { class: 'md-muted' }, 'ok');
      const parts = [t.nonFiniteCount ? `${formatInt(t.nonFiniteCount)} with NaN/Inf` : '', t.allZeroCount ? `${formatInt(t.allZeroCount)} all-zero` : ''].filter(Boolean);
      const keys = [...t.nonFinite.map((k) => `NaN/Inf: ${safeText(k)}`), ...t.allZero.map((k) => `all zero: ${safeText(k)}`)];
      return h('td', { class: 'md-warn', title: keys.join('\n') }, parts.join(', '));
    };
    const warn = r.models.filter((m) => m.tensorHealth && (m.tensorHealth.nonFiniteCount || m.tensorHealth.allZeroCount)).length;
    replaceChildren(
      this.modelsEl,
      h('summary', null, `Models (${r.models.length})`, warn ? h('span', { class: 'md-warn' }, ` · ${warn} with suspicious tensors`) : null),
      h(
        'table',
        { class: 'md-table', id: 'models-table' },
        h('thead', null, h('tr', null, ...['#', 'File', 'Format', 'Architecture', 'Size', 'Tensors', 'Parameters', 'Tensor health', 'Notes'].map((t) => h('th', { attrs: { scope: 'col' } }, t)))),
        h(
          'tbody',
          null,
          ...r.models.map((m, i) =>
            h(
              'tr',
              { dataset: { model: String(i) } },
              h('td', { class: 'md-num' }, String(i)),
              h('th', { attrs: { scope: 'row' }, title: safeText(m.path) }, safeText(m.file)),
              h('td', null, m.format),
              h('td', null, safeText(m.archDetail || m.arch)),
              h('td', { class: 'md-num' }, formatBytes(m.sizeBytes)),
              h('td', { class: 'md-num' }, formatInt(m.tensorCount)),
              h('td', { class: 'md-num', title: formatInt(m.paramCount) }, formatCount(m.paramCount)),
              health(m),
              h('td', null, (m.notes ?? []).map(safeText).join('; ')),
            ),
          ),
        ),
      ),
    );
  }

  setResult(result: CompareResult, outDir: string): void {
    // when the result arrived and when it was drawn (epoch ms), for the end-to-end tests' open-time check
    document.body.dataset.resultReceived = String(Math.round(performance.timeOrigin + performance.now()));
    if (!result || !Array.isArray(result.models) || !Array.isArray(result.pairs)) {
      this.addMessage({ message: 'The host sent a result this panel cannot read.' });
      return;
    }
    const first = !this.result;
    this.result = result;
    this.outDir = outDir ?? '';
    this.layerCache.clear();
    this.progressEl.hidden = true;
    this.renderHeader();
    this.renderErrors();
    this.renderModels(result);
    this.loraCard.setResult(result);
    const n = result.models.length;
    if (n < 2) {
      this.main.hidden = true;
      this.addMessage({ message: n === 1 ? 'Only one model could be read: there is nothing to compare it with.' : 'No model could be read.' });
      return;
    }
    this.main.hidden = false;
    const comps = componentsOf(result);
    const comp = comps.includes(this.state.component) ? this.state.component : (comps[0] ?? '');
    this.state.component = comp;
    this.compSel.setOptions(comps.map((c) => ({ value: c, label: c })), comp);
    if (!this.state.metricPicked && (result.options?.metric === 'cosine' || result.options?.metric === 'l2')) this.state.metric = result.options.metric;
    this.metricSel.value = this.state.metric;
    if (this.state.refModel >= n) this.state.refModel = 0;
    if (this.state.focusModel !== null && this.state.focusModel >= n) this.state.focusModel = null;
    this.refSel.setOptions(result.models.map((m, i) => ({ value: String(i), label: modelName(i, m.file, 60) })), String(this.state.refModel));
    this.pairView.setResult(result);
    this.analysis.setResult(result);
    if (!first) this.state.threshold = null;
    this.renderAll();
    document.body.dataset.resultDrawn = String(Math.round(performance.timeOrigin + performance.now()));
    this.ipc.notify('result/drawn', { models: n, outDir: this.outDir });
    const p = this.state.pair;
    const pair = p && p.a < n && p.b < n && p.a !== p.b ? p : (nearestDifferingPair(result, this.state.component, this.state.metric) ?? { a: 0, b: 1 });
    void this.selectPair(pair.a, pair.b, false);
  }

  private renderAll(): void {
    const r = this.result;
    if (!r || r.models.length < 2) return;
    const m = buildMatrix(r, this.state.component, this.state.metric);
    this.matrix = m;
    const seriation = () => this.seriationOf(m);
    this.heatmap.card.chartEl.style.height = `${Math.min(760, Math.max(280, 90 + r.models.length * 34))}px`;
    this.heatmap.render(r, m, this.state.focusModel, seriation);
    this.network.render(r, m, this.state.threshold, this.state.focusModel, seriation);
    // below the fold: with many models, drawn once the matrix and the network are on screen
    if (r.models.length > 100) requestAnimationFrame(() => this.renderLine());
    else this.renderLine();
    this.pairView.rerender();
    this.analysis.rerender();
    this.save({});
  }

  private seriationOf(m: DistanceMatrix): Seriation {
    if (this.seriation?.matrix !== m) {
      const hint = this.hint;
      const fits = hint && hint.component === m.component && hint.metric === m.metric && hint.value.order.length === m.n;
      this.seriation = { matrix: m, s: fits ? hint.value : seriate(m) };
    }
    return this.seriation.s;
  }

  private renderLine(): void {
    if (!this.result || !this.matrix) return;
    const ref = this.state.refModel;
    const m = this.result.models[ref];
    this.line.setTitle(`${metricLabel(this.state.metric)} of ${this.state.component} from ${m ? modelName(ref, m.file, 40) : '#' + ref}`);
    this.line.setOption(lineOption(this.result, this.matrix, ref, this.theme));
  }

  setComponent(c: string): void {
    if (!this.result || c === this.state.component) return;
    if (!componentsOf(this.result).includes(c)) return;
    this.save({ component: c, threshold: null });
    this.compSel.value = c;
    this.renderAll();
  }

  setMetric(m: Metric): void {
    if (m === this.state.metric) return;
    this.save({ metric: m, metricPicked: true, threshold: null });
    this.metricSel.value = m;
    this.renderAll();
  }

  focusModel(i: number, notify: boolean): void {
    if (!this.result || i < 0 || i >= this.result.models.length) return;
    this.save({ focusModel: i, refModel: i });
    this.refSel.value = String(i);
    const m = this.matrix;
    if (m) this.heatmap.render(this.result, m, i, () => this.seriationOf(m));
    this.network.focus(i);
    this.renderLine();
    if (notify) this.ipc.notify('focus/changed', { model: i });
  }

  async selectPair(a: number, b: number, notify: boolean): Promise<void> {
    if (!this.result || a === b) return;
    const n = this.result.models.length;
    if (a < 0 || b < 0 || a >= n || b >= n) return;
    this.save({ pair: { a, b } });
    if (notify) this.ipc.notify('focus/changed', { pair: { a, b }, component: this.state.component });
    this.analysis.setPair(a, b);
    await this.pairView.show(a, b);
  }

  private applyFocus(p: HostToWebview['focus/didChange']): void {
    if (!this.result) return;
    if (p.component) this.setComponent(p.component);
    if (p.pair) {
      void this.selectPair(p.pair.a, p.pair.b, false);
      this.pairView.reveal();
    }
    if (p.model !== undefined) this.focusModel(p.model, false);
  }

  private layers(a: number, b: number) {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const key = `${lo},${hi}`;
    let p = this.layerCache.get(key);
    if (!p) {
      p = this.ipc.request('layers/get', { a: lo, b: hi }, 60_000);
      this.layerCache.set(key, p);
      p.catch(() => this.layerCache.delete(key));
    }
    return p;
  }

  private async exportFile(suggestedName: string, kind: ExportKind, data: string): Promise<void> {
    try {
      const r = await this.ipc.request('export/save', { suggestedName, kind, data }, 10 * 60_000);
      this.flash(r.saved ? `Saved ${safeText(r.path ?? suggestedName)}` : 'Export cancelled');
    } catch (e) {
      this.flash(`Export failed: ${e instanceof Error ? e.message : String(e)}`, true);
    }
  }

  private flash(text: string, error = false): void {
    this.toast.textContent = text;
    this.toast.classList.toggle('md-error', error);
    this.toast.classList.add('md-toast-show');
    setTimeout(() => this.toast.classList.remove('md-toast-show'), 3500);
  }

}
