/**
 * modeldiff webview entry: one bundle (dist/webview/webview.js) for both views; <body data-view="compare|inspect">
 * picks the app.
 *
 * ── Contract with the extension host (it builds the HTML shell) ─────────────────────────────────────────────────────
 * Assets to load: ONLY `dist/webview/webview.js`, as `<script nonce="${nonce}" src="${asWebviewUri(dist/webview/webview.js)}">`
 * (at the end of <body>, or with `defer`). There is NO CSS file to link: the panel's own stylesheet is bundled into
 * the script and applied as a constructed stylesheet (document.adoptedStyleSheets), @vscode-elements uses Lit's
 * adoptedStyleSheets, vis-network is the *peer* build (no injected <style>; its tooltip is styled by our sheet) and
 * echarts tooltips are DOM elements (no style="" attributes). So no 'unsafe-inline' is needed for styles or scripts.
 * `localResourceRoots`: `dist/webview` (and `media` if you add anything there).
 *
 * Required CSP (this, or stricter; it is what src/extension/panels/html.ts buildCsp gives with allowInlineStyles=false):
 *   default-src 'none'; script-src 'nonce-${nonce}'; style-src ${webview.cspSource} 'nonce-${nonce}';
 *   img-src ${webview.cspSource} data:; font-src ${webview.cspSource}; connect-src 'none'; frame-src 'none';
 *   worker-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'
 * i.e. style-src WITHOUT 'unsafe-inline' (the nonce in style-src is optional: nothing here needs it). Nonce from
 * crypto.randomBytes per render. Nothing is fetched; PNG exports are read from canvases, not loaded as images.
 *
 * Body: `<body data-view="compare">` for the comparison panel, `<body data-view="inspect">` for the custom editor.
 * The app mounts into `#app` when present (else <body>). The webview posts `ready` first; answer with
 * `result/didChange` (or `progress/didChange` first) / `inspect/didChange`.
 *
 * Stable selectors for end-to-end tests (all inside the webview frame):
 *   compare: `#heatmap canvas`; `#matrix-table td[data-a="0"][data-b="3"]` with data-kind = identical|equal|value|na|
 *   absent|self and text "=", "=v", the value, "n/a", "–"; `#network canvas`; `#layers-table .vt-row` (rendered rows;
 *   first cell = key) and `#layers-table .vt-status` ("3,200 rows", "12 of 3,200 rows"); `#layer-filter input`;
 *   `#summary-table tr[data-component="vae"][data-status]`; `#errors`; `#progress`; `#models-table`.
 *   inspect: `#model-name`, `#arch-line`, `#components-table`, `#tensor-table .vt-row`, `#tensor-filter input`,
 *   `#metadata-table`.
 *   analyses (compare view, after `analysis/didChange`; `static: true` = the HTML report): `section#analysis`;
 *   `#analysis-status` ("Analysing…" while running, the error when failed, hidden when done); `#analysis-notes li`.
 *   Breakdown `#breakdown-card`: `#breakdown-scheme` (vscode-single-select: block|type|vae|te), `#breakdown-convention`
 *   (the matrix description; holds `#breakdown-time-embed` BASE|IN00, which sends `analysis/run {timeEmbed}`, unless
 *   static), `#breakdown-bars canvas` (the selected pair), `#breakdown-table tr[data-group="IN04"]` (group, L2 exact,
 *   share %, changed keys / keys; "n/a" for null), `#breakdown-heatmap canvas` + `#breakdown-heatmap-note` (at most 60
 *   pairs drawn, those of the selected pair first; click a cell to select its pair; `#breakdown-heatmap` carries
 *   data-cell-origin="x,y" (centre of the first cell) and data-cell-step="dx,dy" like `#heatmap`).
 *   Recipe `#recipe-card`: `#recipe-model`, `#recipe-parents-line`, `#recipe-table` (data-parents-from, data-parents)
 *   with `tr[data-group="UNET"|"IN04"|"TE"|"VAE"...]` (UNET: the whole UNet as one group) (weights per parent with 4 decimals, residual, rel. residual,
 *   identifiable yes/no, keys), `#recipe-chart canvas`, `#recipe-notes`; unless static `#recipe-parents
 *   input[type=checkbox][value="i"]` and `#recipe-fit` (sends `recipe/get`; errors in `#recipe-status.md-error`).
 *   Hashes `#hashes-card`: `#hashes-table tr[data-model="i"]` (#, file, SHA-256 short with the full one in title,
 *   AutoV2, legacy, AutoV3), `#shared-table tbody tr` (members as `li` "file (component)"); when hashes are null and
 *   not static `#hashes-compute` (sends `analysis/run {computeHashes: true}`).
 *   Lineage `#lineage-card`: `#lineage-table tr[data-model="i"]`. Health `#health-card` (title "Health: N problems"):
 *   `#health-table tr[data-model="i"][data-status="ok|warning|error"] li[data-severity]`. Family `#family-card`:
 *   `#family-component`, `#dendrogram canvas`, `#mst-chart canvas`, `#mst-table tbody tr[data-parent][data-child]`.
 *   Static mode shows `.md-static-note` lines instead of the controls that would ask the host to compute.
 *   Every analysis chart sits in a nested card (`#breakdown-bars-card`, `#breakdown-heatmap-card`,
 *   `#recipe-chart-card`, `#dendrogram-card`, `#mst-card`) with PNG, SVG and CSV buttons.
 * ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import styles from './styles.css';
import { HostIpc } from './shared/hostIpc';
import { CompareApp } from './apps/compare/app';
import { InspectApp } from './apps/inspect/app';
import { h } from './shared/dom';
import type { WebviewView } from '../shared/protocol';

function adoptStyles(css: string): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

function showFatal(message: string): void {
  document.body.append(h('p', { class: 'md-fatal', role: 'alert' }, message));
}

function boot(): void {
  document.body.dataset.booted = String(Math.round(performance.timeOrigin + performance.now()));
  adoptStyles(styles);
  let api: ReturnType<typeof acquireVsCodeApi>;
  try {
    api = acquireVsCodeApi();
  } catch (e) {
    showFatal(`This page must run inside VS Code (${e instanceof Error ? e.message : String(e)}).`);
    return;
  }
  const ipc = new HostIpc(api, window);
  const view = (document.body.dataset.view ?? 'compare') as WebviewView;
  const app = view === 'inspect' ? new InspectApp(ipc) : new CompareApp(ipc);
  (document.getElementById('app') ?? document.body).append(app.root);
  ipc.start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();
