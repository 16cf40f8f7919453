// Helpers for the end-to-end scenarios: Debian chromium through playwright-core against a running code-server.
// Env (set by scripts/e2e.mjs): CS_URL, WS_DIR, OUT_DIR, MANIFEST (JSON from fixtures.ts), CHROMIUM, PROFILE_DIR.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const CS_URL = process.env.CS_URL ?? 'http://127.0.0.1:18080';
export const WS_DIR = process.env.WS_DIR ?? '';
export const OUT_DIR = path.resolve(process.env.OUT_DIR ?? 'test-artifacts/e2e');
export const MANIFEST = process.env.MANIFEST ? JSON.parse(fs.readFileSync(process.env.MANIFEST, 'utf8')) : {};
fs.mkdirSync(OUT_DIR, { recursive: true });

const t0 = Date.now();
export const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

export class Checks {
  constructor(scenario) {
    this.scenario = scenario;
    this.passed = 0;
    this.failed = 0;
    this.results = [];
  }
  check(name, ok, detail = '') {
    this.results.push({ name, ok: !!ok, detail: ok ? '' : String(detail).slice(0, 2000) });
    if (ok) {
      this.passed++;
      log(`PASS ${name}`);
    } else {
      this.failed++;
      log(`FAIL ${name} ${String(detail).slice(0, 2000)}`);
    }
    return !!ok;
  }
  /** Runs a step; an exception counts as one failed check and the scenario goes on. */
  async step(name, fn) {
    try {
      return await fn();
    } catch (e) {
      this.check(name, false, e?.stack ?? e);
      return undefined;
    }
  }
  finish() {
    fs.writeFileSync(path.join(OUT_DIR, `${this.scenario}.results.json`), JSON.stringify(this.results, null, 1));
    console.log(`${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed ? 1 : 0);
  }
}

/** A fresh chromium profile; every console message of every frame (webviews included) is watched. */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(process.env.PROFILE_DIR ?? OUT_DIR, 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const watch = { csp: [], dialogs: [], pageErrors: [] };
  page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy|Refused to (load|apply|execute|evaluate|connect|frame)/i.test(text)) watch.csp.push(`${m.location().url}: ${text}`);
  });
  page.on('pageerror', (e) => watch.pageErrors.push(e.message));
  page.on('dialog', (d) => {
    watch.dialogs.push(d.message());
    void d.dismiss().catch(() => {});
  });
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, watch, close };
}

export async function openWorkbench(page) {
  await page.goto(`${CS_URL}/?folder=${encodeURIComponent(WS_DIR)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  // extension contributions (menus, views) arrive once the extension host has scanned the extensions
  await page.locator('.activitybar .action-item [aria-label="modeldiff"]').first().waitFor({ timeout: 60_000 });
  log('workbench rendered, modeldiff contributions present');
}

export async function shot(page, name) {
  const file = path.join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path: file }).catch((e) => log(`screenshot ${name} failed: ${e.message}`));
  return file;
}

export async function runFromPalette(page, title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  log(`ran "${title}" from the command palette`);
}

/** Right-clicks an explorer row (a top-level name of the workspace) and picks a context-menu entry. */
export async function explorerContext(page, name, entry, { screenshot } = {}) {
  if (!(await page.locator('.explorer-folders-view').isVisible().catch(() => false))) {
    await page.locator('.activitybar .action-item [aria-label^="Explorer"]').first().click();
  }
  const row = page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact(name) }) }).first();
  await row.waitFor({ timeout: 20_000 });
  const item = page.locator('.monaco-menu .action-item', { hasText: entry }).first();
  for (let attempt = 1; ; attempt++) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ timeout: 5_000 });
      break;
    } catch (e) {
      await page.keyboard.press('Escape');
      if (attempt === 3) throw e;
      await page.waitForTimeout(1000);
    }
  }
  await page.waitForTimeout(300);
  if (screenshot) await shot(page, screenshot);
  await item.click();
  log(`explorer: "${entry}" on ${name}`);
}

/**
 * Polls every frame for one where `fn(arg)` (evaluated in the frame) returns a truthy value. Webviews are
 * iframe.webview > iframe#active-frame, and hidden older ones stay in the DOM, so frames are polled by content.
 */
export async function waitForFrame(page, fn, arg, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue;
      try {
        const v = await frame.evaluate(fn, arg);
        if (v) return { frame, value: v };
        last = v;
      } catch {
        /* detached or navigating */
      }
    }
    await page.waitForTimeout(250);
  }
  return { frame: null, value: last };
}

/** The inner webview frame whose body has data-view=`view` (and, optionally, a text). */
export function webviewFrame(page, view, text, timeoutMs) {
  return waitForFrame(
    page,
    ([v, t]) => document.body?.dataset.view === v && (!t || (document.body.innerText ?? '').includes(t)),
    [view, text],
    timeoutMs,
  );
}

/** Polls `fn` (in the frame) until truthy or timeout; returns the last value. */
export async function pollFrame(frame, fn, arg, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let v;
  while (Date.now() < deadline) {
    v = await frame.evaluate(fn, arg).catch((e) => ({ error: e.message }));
    if (v && !v.error) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  return v;
}

/** Texts of the visible rows of the tree view with the given title ("Models"). */
export async function treeRows(page) {
  return page.locator('.pane:has(.pane-header:has-text("Models")) .monaco-list-row').evaluateAll((rows) =>
    rows.map((r) => ({
      label: r.querySelector('.label-name')?.textContent ?? '',
      description: r.querySelector('.label-description')?.textContent ?? '',
      expanded: r.getAttribute('aria-expanded'),
      level: Number(r.getAttribute('aria-level')),
    })),
  );
}

export function treeRow(page, label) {
  return page.locator('.pane:has(.pane-header:has-text("Models")) .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact(label) }) }).first();
}

/** A regex matching exactly `text` (Playwright's :text-is does not match VS Code's label anchors). */
export function exact(text) {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

/** Text shown in notifications (toasts and the center). */
export async function notificationTexts(page) {
  return page.locator('.notification-toast, .notifications-center .notification-list-item').allInnerTexts().catch(() => []);
}

/** The extension's output channel log, if code-server wrote it yet. */
export function extensionLog() {
  const dir = process.env.LOG_DIR;
  if (!dir || !fs.existsSync(dir)) return '';
  const out = [];
  const walk = (d) => {
    for (const n of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, n.name);
      if (n.isDirectory()) walk(p);
      else if (/modeldiff\.log$/.test(n.name)) out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out.join('\n');
}

/**
 * Answers VS Code's simple file dialog (a quick input) with a path, then accepts it (Enter, or its OK button).
 * Waits for the dialog itself (its title contains `titlePart` and its box holds a path), not the palette before it.
 */
export async function answerFileDialog(page, fullPath, titlePart, okLabel) {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('input').first();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const title = await widget.locator('.quick-input-title').innerText().catch(() => '');
    const value = await input.inputValue().catch(() => '');
    if ((await widget.isVisible().catch(() => false)) && title.includes(titlePart) && value.startsWith('/')) break;
    if (Date.now() > deadline) throw new Error(`file dialog "${titlePart}" did not open (title ${JSON.stringify(title)}, value ${JSON.stringify(value)})`);
    await page.waitForTimeout(200);
  }
  await input.fill(fullPath);
  await page.waitForTimeout(400);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(600);
  if (okLabel && (await widget.isVisible().catch(() => false))) {
    const ok = widget.locator('.monaco-button', { hasText: okLabel }).first();
    if (await ok.isVisible().catch(() => false)) await ok.click();
  }
}

// Page-side functions for frame.evaluate: self-contained (no closure), so they serialise.

/** Deep text of the document, shadow roots included (vscode-elements render into shadow DOM). */
export const deepTextFn = () => {
  const out = [];
  const walk = (n) => {
    if (n.nodeType === 3) out.push(n.nodeValue);
    if (n.shadowRoot) walk(n.shadowRoot);
    for (const ch of n.childNodes ?? []) walk(ch);
  };
  walk(document.body);
  return out.join(' ');
};

/** Elements a successful injection would have created, in the light DOM and in shadow roots. */
export const injectedFn = () => {
  const found = [];
  const scan = (root) => {
    for (const el of root.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], #injected, script:not([nonce]):not(#_vscodeApiScript)')) found.push(el.outerHTML.slice(0, 120));
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) scan(el.shadowRoot);
  };
  scan(document);
  return { found, pwned: window.__pwned ?? null };
};
