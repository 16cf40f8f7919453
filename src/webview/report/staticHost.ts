/**
 * The host of a standalone HTML report: stands in for VS Code's `acquireVsCodeApi()` so the panel's own bundle runs
 * unchanged in any browser. It answers from the ReportData embedded in the page (src/shared/report.ts): the result
 * and the analyses after `ready`, per-layer rows for the pairs the report carries, and exports as downloads.
 * Nothing is fetched; the page's CSP forbids it anyway.
 */
import { pairIndex } from '../../shared/result';
import { REPORT_DATA_ID, type ReportData, type ReportLayers } from '../../shared/report';
import type { HostMessage, LayerRowMessage, WebviewMessage } from '../../shared/protocol';
import { decodeColumn } from '../logic/layerColumns';

class LayerColumns {
  private readonly column = new Map<number, number>();

  constructor(
    private readonly data: ReportLayers,
    private readonly keys: number,
  ) {
    data.pairs.forEach((p, i) => this.column.set(p, i));
  }

  has(pair: number): boolean {
    return this.column.has(pair);
  }

  rows(pair: number, keys: string[], components: string[]): LayerRowMessage[] {
    const c = this.column.get(pair)!;
    const l2 = decodeColumn(this.data.l2, c, this.keys);
    const cosine = this.data.cosine ? decodeColumn(this.data.cosine, c, this.keys) : null;
    const val = (plane: Float32Array | null, k: number) => {
      const v = plane ? plane[k]! : NaN;
      return Number.isNaN(v) ? null : v;
    };
    return keys.map((key, k) => ({ key, component: components[k]!, l2: val(l2, k), cosine: val(cosine, k) }));
  }
}

function download(name: string, kind: string, data: string): void {
  const types: Record<string, string> = { png: 'image/png', svg: 'image/svg+xml', csv: 'text/csv', json: 'application/json' };
  const blob =
    kind === 'png'
      ? new Blob([Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0))], { type: types.png })
      : new Blob([data], { type: `${types[kind] ?? 'text/plain'};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function followColorScheme(): void {
  const dark = matchMedia('(prefers-color-scheme: dark)');
  const apply = () => {
    document.body.classList.toggle('vscode-dark', dark.matches);
    document.body.classList.toggle('vscode-light', !dark.matches);
  };
  if (document.body) apply();
  else document.addEventListener('DOMContentLoaded', apply, { once: true });
  dark.addEventListener('change', apply);
}

export function installStaticHost(): void {
  let state: unknown = undefined;
  let data: ReportData | null = null;
  let layers: LayerColumns | null = null;
  const load = (): ReportData => {
    if (data) return data;
    const el = document.getElementById(REPORT_DATA_ID);
    if (!el?.textContent) throw new Error('this report has no data');
    data = JSON.parse(el.textContent) as ReportData;
    if (data.layers) layers = new LayerColumns(data.layers, data.result.layers.keys.length);
    return data;
  };
  const reply = (m: HostMessage) => window.dispatchEvent(new MessageEvent('message', { data: m }));
  const answer = (id: number, fn: () => unknown) => {
    try {
      reply({ method: 'response', id, ok: true, value: fn() });
    } catch (e) {
      reply({ method: 'response', id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  };

  const handle = (m: WebviewMessage): void => {
    switch (m.method) {
      case 'ready': {
        let d: ReportData;
        try {
          d = load();
        } catch (e) {
          reply({ method: 'error/didOccur', params: { message: `This report cannot be shown: ${e instanceof Error ? e.message : String(e)}` } });
          return;
        }
        reply({ method: 'result/didChange', params: { result: d.result, outDir: d.outDir } });
        reply({
          method: 'analysis/didChange',
          params: d.analysis
            ? { state: 'done', analysis: d.analysis, static: true }
            : { state: 'failed', analysis: null, error: d.analysisError ?? 'this report was written without the analyses', static: true },
        });
        return;
      }
      case 'layers/get': {
        const { a, b } = m.params;
        answer(m.id!, () => {
          const d = load();
          const n = d.result.models.length;
          if (a === b || a >= n || b >= n) throw new Error(`no pair ${a}-${b} in this report`);
          const p = pairIndex(a, b, n);
          if (!layers?.has(p)) {
            const kept = d.layers ? `it carries ${d.layers.pairs.length} of ${d.result.pairs.length} pairs` : 'it carries none';
            throw new Error(`the per-layer table of this pair is not in this report (${kept}); \`modeldiff layers ${d.outDir} ${a} ${b}\` prints it`);
          }
          return layers.rows(p, d.result.layers.keys, d.result.layers.keyComponents);
        });
        return;
      }
      case 'export/save':
        answer(m.id!, () => {
          download(m.params.suggestedName, m.params.kind, m.params.data);
          return { saved: true, path: m.params.suggestedName };
        });
        return;
      case 'recipe/get':
        answer(m.id!, () => {
          throw new Error('a report cannot fit new parents; use the VS Code panel or `modeldiff recipe`');
        });
        return;
      case 'lora/attribute':
        answer(m.id!, () => {
          throw new Error('a report cannot read model files; use the VS Code panel or `modeldiff attribute <checkpoint> --base <base> <loras...>`');
        });
        return;
      default:
        return;
    }
  };

  followColorScheme();
  (globalThis as unknown as { acquireVsCodeApi: () => unknown }).acquireVsCodeApi = () => ({
    // asynchronous like VS Code's postMessage, so the panel is never re-entered from its own call
    postMessage: (m: unknown) => queueMicrotask(() => handle(m as WebviewMessage)),
    getState: () => state,
    setState: (s: unknown) => (state = s),
  });
}
