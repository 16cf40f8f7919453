/** Options and HTML for the webviews (comparison panel, model inspector): one bundle, chosen by body data-view. */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { WebviewView } from '../../shared/protocol';
import { buildErrorHtml, buildWebviewHtml, makeNonce } from './html';

export const WEBVIEW_DIR = ['dist', 'webview'] as const;
export const WEBVIEW_SCRIPT = 'webview.js';

/**
 * No 'unsafe-inline' for styles: the bundle applies its stylesheet as a constructed sheet (adoptedStyleSheets), Lit
 * does the same, vis-network is its peer build (no injected <style>) and echarts tooltips are DOM elements without
 * style="" attributes (contract in src/webview/main.ts). The e2e test hovers the charts and asserts zero CSP violations.
 */
export const ALLOW_INLINE_STYLES = false;

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, ...WEBVIEW_DIR), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

async function cssFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.css')).sort();
  } catch {
    return [];
  }
}

/**
 * Sets the webview's HTML: the bundle with a fresh nonce, or, when dist/webview/webview.js is missing,
 * a static page saying so. Returns false in that case.
 */
export async function renderWebview(webview: vscode.Webview, extensionUri: vscode.Uri, view: WebviewView, title: string, log: vscode.LogOutputChannel): Promise<boolean> {
  const root = extensionUri.fsPath;
  const bundleDir = join(root, ...WEBVIEW_DIR);
  try {
    await access(join(bundleDir, WEBVIEW_SCRIPT));
  } catch {
    const message = `The modeldiff webview bundle is missing: ${join(bundleDir, WEBVIEW_SCRIPT)} was not found.`;
    log.error(message);
    webview.html = buildErrorHtml({
      cspSource: webview.cspSource,
      title,
      message,
      detail: 'Fix: run `npm run build` in the extension folder (or reinstall the extension), then reopen this view.',
    });
    void vscode.window.showErrorMessage(`modeldiff: ${message} Fix: run \`npm run build\`.`);
    return false;
  }
  const uri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  const styleUris = [
    ...(await cssFiles(bundleDir)).map((n) => uri(...WEBVIEW_DIR, n)),
    ...(await cssFiles(join(root, 'media'))).map((n) => uri('media', n)),
  ];
  webview.html = buildWebviewHtml({
    view,
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    scriptUri: uri(...WEBVIEW_DIR, WEBVIEW_SCRIPT),
    styleUris,
    title,
    allowInlineStyles: ALLOW_INLINE_STYLES,
  });
  return true;
}
