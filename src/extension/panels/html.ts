/**
 * The HTML shell of every modeldiff webview (comparison panel and model inspector) and its Content Security Policy.
 * Pure: no vscode import, so it is unit-tested directly. All URIs come in already converted with asWebviewUri.
 */
import { randomBytes } from 'node:crypto';
import type { WebviewView } from '../../shared/protocol';
import { NO_NETWORK_DIRECTIVES } from '../../shared/csp';
import { escapeHtml } from '../../shared/text';

export interface WebviewHtmlOptions {
  view: WebviewView;
  /** webview.cspSource */
  cspSource: string;
  /** per-render nonce from makeNonce() */
  nonce: string;
  /** asWebviewUri(dist/webview/webview.js) */
  scriptUri: string;
  /** asWebviewUri of the stylesheets to link (dist/webview/*.css, media/*.css) */
  styleUris: string[];
  title: string;
  /**
   * echarts writes style="" attributes into its tooltips and vis-network's standalone build injects a <style>
   * element: both need 'unsafe-inline' in style-src. Scripts stay nonce-only whatever this says.
   */
  allowInlineStyles: boolean;
}

/** 128 bits from the OS CSPRNG, base64 (valid in a CSP nonce-source). */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function buildCsp(o: Pick<WebviewHtmlOptions, 'cspSource' | 'nonce' | 'allowInlineStyles'>): string {
  // With a nonce in style-src browsers ignore 'unsafe-inline', so the two are exclusive.
  const style = o.allowInlineStyles ? `${o.cspSource} 'unsafe-inline'` : `${o.cspSource} 'nonce-${o.nonce}'`;
  return [
    "default-src 'none'",
    `script-src 'nonce-${o.nonce}'`,
    `style-src ${style}`,
    `img-src ${o.cspSource} data:`,
    `font-src ${o.cspSource}`,
    ...NO_NETWORK_DIRECTIVES,
  ].join('; ');
}

export function buildWebviewHtml(o: WebviewHtmlOptions): string {
  const links = o.styleUris.map((u) => `  <link rel="stylesheet" href="${escapeHtml(u)}">`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeHtml(buildCsp(o))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
  <title>${escapeHtml(o.title)}</title>
</head>
<body data-view="${escapeHtml(o.view)}">
  <div id="app"></div>
  <script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>`;
}

/** A page without any script, for when the webview bundle is missing or the view cannot start. */
export function buildErrorHtml(o: { cspSource: string; title: string; message: string; detail?: string }): string {
  const nonce = makeNonce();
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; img-src ${o.cspSource}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
  <style nonce="${escapeHtml(nonce)}">body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:1em 2em}
  pre{white-space:pre-wrap;color:var(--vscode-errorForeground)}</style>
  <title>${escapeHtml(o.title)}</title>
</head>
<body data-view="error">
  <h2 id="error-title">${escapeHtml(o.title)}</h2>
  <p id="error-message">${escapeHtml(o.message)}</p>
${o.detail ? `  <pre id="error-detail">${escapeHtml(o.detail)}</pre>\n` : ''}</body>
</html>`;
}
