/**
 * The HTML shell of every modeldiff webview (comparison panel and model inspector) and its Content Security Policy.
 * Pure: no vscode import, so it is unit-tested directly. All URIs come in already converted with asWebviewUri.
 */
import { randomBytes } from 'node:crypto';
import type { WebviewView } from '../../shared/protocol';
import { NO_NETWORK_DIRECTIVES } from '../../shared/csp';

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
  const links = o.styleUris.map((u) => `  <link rel="stylesheet" href="${escapeAttr(u)}">`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(buildCsp(o))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
  <title>${escapeText(o.title)}</title>
</head>
<body data-view="${escapeAttr(o.view)}">
  <div id="app"></div>
  <script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
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
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
  <style nonce="${escapeAttr(nonce)}">body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:1em 2em}
  pre{white-space:pre-wrap;color:var(--vscode-errorForeground)}</style>
  <title>${escapeText(o.title)}</title>
</head>
<body data-view="error">
  <h2 id="error-title">${escapeText(o.title)}</h2>
  <p id="error-message">${escapeText(o.message)}</p>
${o.detail ? `  <pre id="error-detail">${escapeText(o.detail)}</pre>\n` : ''}</body>
</html>`;
}

export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
