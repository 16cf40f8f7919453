/**
 * Standalone webview harness: the real bundle (dist/webview/webview.js) in headless Debian chromium, served from a
 * fake origin through page.route (no server, no DNS) under the same strict CSP the extension host sets, with
 * acquireVsCodeApi stubbed. The stub forwards every message to a Node handler (page.exposeFunction), which answers
 * through window.postMessage like VS Code does.
 *
 * No DOM types here on purpose (the repository's root tsconfig has no DOM lib): page-side code is passed as strings
 * or as functions over `globalThis as any`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { NO_NETWORK_DIRECTIVES } from '../../src/shared/csp';
import { DARK_THEME_VARS, LIGHT_THEME_VARS, THEME_FONT_VARS } from '../../src/shared/vscodeThemeVars';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const BUNDLE = join(ROOT, 'dist', 'webview', 'webview.js');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'webview');
export const ORIGIN = 'http://webview.test';
export const NONCE = 'dGVzdC1ub25jZS0xMjM0NQ==';

/** The CSP the host sets (src/extension/panels/html.ts buildCsp, allowInlineStyles=false), with 'self' as cspSource. */
export const CSP = [
  "default-src 'none'",
  `script-src 'nonce-${NONCE}'`,
  `style-src 'self' 'nonce-${NONCE}'`,
  "img-src 'self' data:",
  "font-src 'self'",
  ...NO_NETWORK_DIRECTIVES,
].join('; ');

export type ThemeName = 'dark' | 'light' | 'hc';

/** A subset of the variables VS Code puts on <html> for each theme kind. */
export const THEMES: Record<ThemeName, { bodyClass: string; vars: Record<string, string> }> = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: { ...THEME_FONT_VARS, ...DARK_THEME_VARS },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: { ...THEME_FONT_VARS, ...LIGHT_THEME_VARS },
  },
  hc: {
    bodyClass: 'vscode-high-contrast',
    vars: {
      '--vscode-settings-textInputBackground': '#000000',
      '--vscode-settings-textInputForeground': '#ffffff',
      '--vscode-settings-textInputBorder': '#6fc3df',
      '--vscode-button-secondaryBackground': '#000000',
      '--vscode-button-secondaryForeground': '#ffffff',
      '--vscode-button-secondaryHoverBackground': '#000000',
      '--vscode-input-placeholderForeground': 'rgba(255, 255, 255, 0.7)',
      '--vscode-list-activeSelectionBackground': '#000000',
      '--vscode-list-activeSelectionForeground': '#ffffff',
      '--vscode-list-hoverBackground': 'rgba(255, 255, 255, 0.1)',
      '--vscode-foreground': '#ffffff',
      '--vscode-editor-background': '#000000',
      '--vscode-sideBar-background': '#000000',
      '--vscode-descriptionForeground': 'rgba(255, 255, 255, 0.7)',
      '--vscode-contrastBorder': '#6fc3df',
      '--vscode-contrastActiveBorder': '#f38518',
      '--vscode-panel-border': '#6fc3df',
      '--vscode-focusBorder': '#f38518',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-red': '#f48771',
      '--vscode-charts-yellow': '#ffd700',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-purple': '#b180d7',
      '--vscode-errorForeground': '#f48771',
      '--vscode-button-background': '#000000',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-border': '#6fc3df',
      '--vscode-settings-dropdownBackground': '#000000',
      '--vscode-settings-dropdownForeground': '#ffffff',
      '--vscode-settings-dropdownBorder': '#6fc3df',
      '--vscode-input-background': '#000000',
      '--vscode-input-foreground': '#ffffff',
      '--vscode-editorHoverWidget-background': '#0c141f',
      '--vscode-editorHoverWidget-border': '#6fc3df',
      '--vscode-font-family': '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-font-family': '"Droid Sans Mono", "monospace", monospace',
    },
  },
};

export function chromiumMissingReason(): string | false {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install -y chromium); the headless webview tests need it`;
  if (!existsSync(BUNDLE)) return `${BUNDLE} is missing: run npm run build first`;
  return false;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The stub that plays VS Code in the page: theme variables via CSSOM, acquireVsCodeApi (once), CSP listener. */
function stubScript(theme: ThemeName, initialState: unknown): string {
  const t = THEMES[theme];
  return `(() => {
  const vars = ${JSON.stringify(t.vars)};
  for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
  document.body.classList.add(${JSON.stringify(t.bodyClass)});
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  });
  let state = ${JSON.stringify(initialState ?? null)};
  let calls = 0;
  window.acquireVsCodeApi = () => {
    if (calls++) throw new Error('An instance of the VS Code API has already been acquired');
    return Object.freeze({
      postMessage: (m) => window.__host(JSON.parse(JSON.stringify(m))),
      getState: () => state,
      setState: (s) => { state = s; window.__hostState(JSON.parse(JSON.stringify(s))); return s; },
    });
  };
})();`;
}

function shell(view: 'compare' | 'inspect', csp: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>modeldiff harness</title>
</head>
<body data-view="${view}">
  <div id="app"></div>
  <script nonce="${NONCE}" src="${ORIGIN}/stub.js"></script>
  <script nonce="${NONCE}" src="${ORIGIN}/dist/webview/webview.js"></script>
</body>
</html>`;
}

export interface PostedMessage {
  method: string;
  params?: any;
  id?: number;
}

export type Responder = (msg: PostedMessage, h: Harness) => void | Promise<void>;

export interface Harness {
  page: Page;
  posted: PostedMessage[];
  states: unknown[];
  consoleErrors: string[];
  pageErrors: string[];
  /** host -> webview */
  send(method: string, params: unknown): Promise<void>;
  /** host -> webview, params given as JSON text and parsed in the page (Playwright's own transfer of a large object
   *  is far slower than VS Code's postMessage) */
  sendJson(method: string, paramsJson: string): Promise<void>;
  respond(id: number, value: unknown, ok?: boolean): Promise<void>;
  waitForPosted(pred: (m: PostedMessage) => boolean, timeoutMs?: number): Promise<PostedMessage>;
  cspViolations(): Promise<unknown[]>;
  setTheme(theme: ThemeName): Promise<void>;
}

export async function openWebview(
  browser: Browser,
  opts: { view: 'compare' | 'inspect'; theme?: ThemeName; initialState?: unknown; respond: Responder; viewport?: { width: number; height: number }; csp?: string },
): Promise<Harness> {
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const bundle = readFileSync(BUNDLE);
  const posted: PostedMessage[] = [];
  const states: unknown[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  page.on('console', (m) => {
    // the pixel checks of the tests themselves read canvases back; chromium hints about that, the app does not cause it
    if (m.type() === 'warning' && /willReadFrequently/.test(m.text())) return;
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // nothing may leave the fake origin
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== ORIGIN) return route.abort();
    if (url.pathname === '/index.html') return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: shell(opts.view, opts.csp ?? CSP) });
    if (url.pathname === '/stub.js') return route.fulfill({ status: 200, contentType: 'text/javascript', body: stubScript(opts.theme ?? 'dark', opts.initialState) });
    if (url.pathname === '/dist/webview/webview.js') return route.fulfill({ status: 200, contentType: 'text/javascript', body: bundle });
    return route.fulfill({ status: 404, body: '' });
  });
  const waiters: { pred: (m: PostedMessage) => boolean; resolve: (m: PostedMessage) => void }[] = [];
  const h: Harness = {
    page,
    posted,
    states,
    consoleErrors,
    pageErrors,
    send: async (method, params) => {
      await page.evaluate(([m]) => (globalThis as any).postMessage(m, '*'), [{ method, params }] as const);
    },
    sendJson: async (method, paramsJson) => {
      await page.evaluate(([m, text]) => (globalThis as any).postMessage({ method: m, params: JSON.parse(text) }, '*'), [method, paramsJson] as const);
    },
    respond: async (id, value, ok = true) => {
      const msg = ok ? { method: 'response', id, ok: true, value } : { method: 'response', id, ok: false, error: String(value) };
      await page.evaluate(([m]) => (globalThis as any).postMessage(m, '*'), [msg] as const);
    },
    waitForPosted: (pred, timeoutMs = 10_000) => {
      const found = posted.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timed out waiting for a message from the webview')), timeoutMs);
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
      });
    },
    cspViolations: () => page.evaluate(() => (globalThis as any).__csp as unknown[]),
    setTheme: async (theme) => {
      const t = THEMES[theme];
      await page.evaluate(
        ([vars, cls]) => {
          const g = globalThis as any;
          for (const [k, v] of Object.entries(vars)) g.document.documentElement.style.setProperty(k, v);
          g.document.body.classList.remove('vscode-dark', 'vscode-light', 'vscode-high-contrast', 'vscode-high-contrast-light');
          g.document.body.classList.add(cls);
        },
        [t.vars, t.bodyClass] as const,
      );
    },
  };
  await page.exposeFunction('__host', async (m: PostedMessage) => {
    posted.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
    await opts.respond(m, h);
  });
  await page.exposeFunction('__hostState', (s: unknown) => {
    states.push(s);
  });
  await page.goto(`${ORIGIN}/index.html`);
  return h;
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Polls `fn` every 50 ms until it holds; throws naming `what` after the timeout. */
export async function waitFor(fn: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Picks an option of a vscode-single-select the way a person does: open it, click the entry labelled `label`. */
export async function choose(h: Harness, selectId: string, label: string): Promise<void> {
  // room below for the dropdown, which opens downwards
  await h.page.locator(`#${selectId}`).evaluate((el: any) => el.scrollIntoView({ block: 'center' }));
  await h.page.locator(`#${selectId}`).click();
  const exact = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  await h.page.locator(`#${selectId} li[role="option"]`).filter({ hasText: exact }).click();
}

/** "#1f1f1f" as the browser computes it: "rgb(31, 31, 31)". */
export function cssRgb(hex: string): string {
  const n = Number.parseInt(hex.replace('#', ''), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

/** The page's background colour as computed (what a screenshot shows behind everything). */
export function bodyBackground(page: Page): Promise<string> {
  return page.evaluate(() => {
    const g = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } };
    return g.getComputedStyle(g.document.body).backgroundColor;
  });
}
