/**
 * `modeldiff report`: the self-contained HTML file, checked as text (CSP, embedded data equal to the compare output)
 * and in headless Chromium opened from file:// with every non-file request recorded and refused. Screenshots go to
 * test-artifacts/report/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { pairLayers, readResult, type CompareResult } from '../../src/compute';
import { pairIndex } from '../../src/shared/result';
import { reportCommand } from '../../src/cli/commands/report';
import { pairPriority } from '../../src/compute/output/report';
import { REPORT_DATA_ID, type ReportData } from '../../src/shared/report';
import { base, blockMerge, corruptPositionIds, finetune, layout, swapComponent } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';
import { comparedFolder } from '../unit/analysis/helpers';
import { bodyBackground, chromiumMissingReason, cssRgb, launchBrowser } from '../webview/harness';
import { DARK_THEME_VARS, LIGHT_THEME_VARS } from '../../src/shared/vscodeThemeVars';

const ROOT = resolve(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'report');
const HOSTILE = 'merge <img src=x onerror="window.__pwned=1">.safetensors';
const skipBrowser = chromiumMissingReason();

function embedded(html: string): ReportData {
  const open = `<script type="application/json" id="${REPORT_DATA_ID}">`;
  const at = html.indexOf(open);
  assert.ok(at > 0, 'the data element is present');
  const end = html.indexOf('</script>', at);
  return JSON.parse(html.slice(at + open.length, end)) as ReportData;
}

function decode(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

async function silently<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

describe('modeldiff report', () => {
  const root = tmpDir('modeldiff-report-');
  let out = '';
  let result: CompareResult;
  let html = '';

  before(async () => {
    const L = layout('sd15', { scale: 32 });
    const b = base(L, 1);
    const A = finetune(b, { components: ['unet'], sigma: 0.01, seed: 11 });
    const B = finetune(b, { components: ['unet', 'te'], sigma: 0.01, seed: 12 });
    const vae = finetune(b, { components: ['vae'], sigma: 0.01, seed: 13 });
    const f = await comparedFolder(root, [
      { file: 'a.safetensors', recipe: A },
      { file: 'b.safetensors', recipe: B },
      { file: 'base.safetensors', recipe: b },
      { file: HOSTILE, recipe: blockMerge(A, B, (k) => (k.includes('.input_blocks.') ? 0.25 : 0.75)) },
      { file: 'pos_drift.safetensors', recipe: corruptPositionIds(b) },
      { file: 'vae_swap.safetensors', recipe: swapComponent(A, vae, 'vae') },
    ]);
    out = f.out;
    result = readResult(out);
    const code = await silently(() => reportCommand([out, '--quiet'], new AbortController().signal));
    assert.equal(code, 0);
    html = readFileSync(join(out, 'report.html'), 'utf8');
  });

  test('one file: a strict CSP with hashes, no external reference of any kind', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    const markup = html.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, '$1</script>');
    assert.doesNotMatch(markup, /<(script|link|img|iframe|object|embed)[^>]*\s(src|href|data)=/i, 'no element loads anything');
    assert.equal(html.match(/<\/script>/g)?.length, 2, 'exactly the data and the code blocks');
  });

  test('the embedded result and per-layer values are exactly the compare output', () => {
    const data = embedded(html);
    assert.deepEqual(data.result, result);
    assert.ok(data.analysis, 'the analyses are embedded');
    assert.equal(data.analysis!.resultCreatedAt, result.createdAt);
    const layers = data.layers!;
    assert.equal(layers.omitted, 0);
    assert.deepEqual(layers.pairs, result.pairs.map((_, p) => p));
    const l2 = decode(layers.l2);
    const cos = decode(layers.cosine!);
    const K = result.layers.keys.length;
    for (const p of [0, 7, result.pairs.length - 1]) {
      const { a, b } = result.pairs[p]!;
      const rows = pairLayers(out, result, a, b);
      rows.forEach((r, k) => {
        assert.equal(Number.isNaN(l2[p * K + k]!) ? null : l2[p * K + k], r.l2, `${r.key} l2`);
        assert.equal(Number.isNaN(cos[p * K + k]!) ? null : cos[p * K + k], r.cosine, `${r.key} cosine`);
      });
    }
  });

  test('a layers budget keeps each model nearest neighbours first and says how many pairs it left out', async () => {
    const order = pairPriority(result);
    assert.equal(new Set(order).size, result.pairs.length, 'every pair once');
    const n = result.models.length;
    for (let m = 0; m < n; m++) {
      let best = -1;
      result.pairs.forEach((pr, p) => {
        if ((pr.a === m || pr.b === m) && pr.components.unet!.l2 !== null && (best < 0 || pr.components.unet!.l2! < result.pairs[best]!.components.unet!.l2!)) best = p;
      });
      assert.ok(order.indexOf(best) < n * result.components.length, `model ${m}'s nearest pair comes early`);
    }
    const perPair = result.layers.keys.length * result.layers.planes.length * 4;
    const small = join(root, 'small.html');
    await silently(() => reportCommand([out, '--quiet', '--no-analysis', '--out', small, '--layers-budget', '1'], new AbortController().signal));
    const data = embedded(readFileSync(small, 'utf8'));
    const fit = Math.floor((1024 * 1024) / perPair);
    assert.equal(data.layers!.pairs.length, Math.min(fit, result.pairs.length));
    assert.equal(data.layers!.omitted, result.pairs.length - data.layers!.pairs.length);
    assert.deepEqual(data.layers!.pairs, order.slice(0, data.layers!.pairs.length).sort((x, y) => x - y));
    assert.equal(data.analysis, null);
    assert.match(data.analysisError ?? '', /--no-analysis/);
  });

  describe('in Chromium, from file://', { skip: skipBrowser }, () => {
    let browser: Browser;
    let page: Page;
    const external: string[] = [];
    const errors: string[] = [];

    before(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        external.push(url);
        return route.abort();
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(pathToFileURL(join(out, 'report.html')).href);
      await page.locator('#heatmap canvas').first().waitFor({ timeout: 30_000 });
    });
    after(async () => browser?.close());

    test('renders the comparison without a single request or error', async () => {
      assert.deepEqual(external, []);
      assert.deepEqual(errors, []);
      const summary = await page.locator('#summary-line').textContent();
      assert.match(summary ?? '', new RegExp(`${result.models.length} models`));
      assert.equal(await page.evaluate(() => (globalThis as any).__pwned), undefined, 'the hostile file name stayed text');
      const banner = (await page.locator('.report-banner').textContent()) ?? '';
      assert.match(banner, new RegExp(`per-layer tables of all ${result.pairs.length} pairs · with the analyses`));
      const names = await page.locator('#models-table th[scope="row"]').allTextContents();
      assert.ok(names.includes(HOSTILE), 'the hostile name is shown as it is');
    });

    test('the matrix table shows the result.json values', async () => {
      await page.getByRole('button', { name: 'Table' }).first().click();
      const { a, b } = result.pairs[pairIndex(0, 2, result.models.length)]!;
      const cell = page.locator(`#matrix-table td[data-a="${a}"][data-b="${b}"]`);
      const l2 = result.pairs[pairIndex(a, b, result.models.length)]!.components.unet!.l2!;
      assert.equal(await cell.getAttribute('data-kind'), 'value');
      const shown = Number((await cell.textContent())!.replace(/[^0-9.e+-]/g, ''));
      assert.ok(Math.abs(shown - l2) <= 1e-3 * l2, `${shown} vs ${l2}`);
      await page.getByRole('button', { name: 'Table' }).first().click();
    });

    test('the per-layer table of the selected pair comes from the embedded layers', async () => {
      const status = page.locator('#layers-table .vt-status');
      await status.waitFor();
      assert.equal((await status.textContent())?.trim(), `${result.layers.keys.length.toLocaleString('en-US')} rows`);
      await page.screenshot({ path: join(ARTIFACTS, 'report-light.png') });
    });

    test('the analyses are shown, read-only: health, breakdowns, merge estimate, family', async () => {
      const data = embedded(html);
      const a = data.analysis!;
      await page.locator('#health-table tr[data-model]').first().waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('#health-table tr[data-model]').count(), result.models.length);
      const drift = result.models.findIndex((m) => m.file === 'pos_drift.safetensors');
      assert.equal(await page.locator(`#health-table tr[data-model="${drift}"]`).getAttribute('data-status'), 'error', 'drifted position_ids are an error');
      const groups = await page.locator('#breakdown-table tr[data-group]').evaluateAll((rows) => rows.map((r) => (r as any).dataset.group));
      assert.deepEqual(groups, a.breakdowns.block!.groups);
      await page.locator('#recipe-table tr[data-group="UNET"]').waitFor({ state: 'attached' });
      assert.equal(await page.locator('#recipe-fit').count(), 0, 'no fitting without a host');
      assert.ok((await page.locator('.md-static-note').count()) > 0, 'the report says why');
      assert.ok(await page.locator('#dendrogram canvas').count());
      assert.deepEqual(errors, []);
      await page.locator('#analysis').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, 'report-analysis.png'), fullPage: true });
    });

    test('follows a dark colour scheme: the dark theme colours, a different picture', async () => {
      assert.equal(await bodyBackground(page), cssRgb(LIGHT_THEME_VARS['--vscode-editor-background']!));
      const light = await page.screenshot();
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForFunction(() => (globalThis as any).document.body.classList.contains('vscode-dark'));
      await page.waitForTimeout(300);
      assert.equal(await bodyBackground(page), cssRgb(DARK_THEME_VARS['--vscode-editor-background']!));
      const dark = await page.screenshot({ path: join(ARTIFACTS, 'report-dark.png') });
      assert.ok(!dark.equals(light), 'the dark scheme re-colours the page');
      await page.emulateMedia({ colorScheme: 'light' });
    });
  });
});
