/**
 * The comparison panel at the notebook's scale (232 models, 26,796 pairs: test/fixtures/largeResult.ts) in headless
 * chromium: the heatmap in cluster order with its dendrogram, file order one click away, log / rank / linear colour
 * scales, the cells as one bitmap with pointer tooltips and clicks, the network as a backbone with clusters coloured and
 * names on hover. Screenshots go to test-artifacts/webview/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { artifactPath, chromiumMissingReason, launchBrowser, openWebview, waitFor } from './harness';
import type { Harness, PostedMessage } from './harness';
import { writeLargeResult, type LargeResultManifest } from '../fixtures/largeResult';
import { tmpDir } from '../helpers/tmp';
import type { CompareResult } from '../../src/shared/result';

const skip = chromiumMissingReason();
const N = 232;
const FAMILIES = 8;

/** Picks an option of a vscode-single-select the way a person does. */
async function choose(h: Harness, selectId: string, label: string): Promise<void> {
  await h.page.locator(`#${selectId}`).evaluate((el: any) => el.scrollIntoView({ block: 'center' }));
  await h.page.locator(`#${selectId}`).click();
  await h.page.locator(`#${selectId} li[role="option"]`).filter({ hasText: new RegExp(`^\\s*${label}\\s*$`) }).click();
}

async function attr(h: Harness, sel: string, name: string): Promise<string> {
  return (await h.page.locator(sel).getAttribute(name)) ?? '';
}

/** RGB of the topmost opaque pixel of the heatmap's canvases at (x, y) in CSS px. */
async function pixel(h: Harness, x: number, y: number): Promise<[number, number, number]> {
  return h.page.evaluate(
    ([px, py]) => {
      let out: [number, number, number] = [0, 0, 0];
      for (const c of (globalThis as any).document.querySelectorAll('#heatmap canvas')) {
        const d = c.getContext('2d').getImageData(Math.round(px * (c.width / c.clientWidth)), Math.round(py * (c.height / c.clientHeight)), 1, 1).data;
        if (d[3] > 0) out = [d[0], d[1], d[2]];
      }
      return out;
    },
    [x, y] as const,
  );
}

const dist = (p: number[], q: number[]) => Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!, p[2]! - q[2]!);

describe('compare panel at 232 models (headless chromium, strict CSP)', { skip }, () => {
  let browser: Browser;
  let h: Harness;
  let m: LargeResultManifest;
  let result: CompareResult;
  let openMs = 0;

  before(async () => {
    const dir = tmpDir();
    m = writeLargeResult(dir, { models: N, families: FAMILIES, keyStride: 64 });
    const text = readFileSync(join(dir, 'result.json'), 'utf8');
    result = JSON.parse(text) as CompareResult;
    browser = await launchBrowser();
    h = await openWebview(browser, {
      view: 'compare',
      respond: async (msg: PostedMessage, hh: Harness) => {
        if (msg.method === 'layers/get') await hh.respond(msg.id!, []);
        else if (msg.method === 'export/save') await hh.respond(msg.id!, { saved: true, path: `/tmp/${msg.params.suggestedName}` });
      },
    });
    await h.waitForPosted((x) => x.method === 'ready');
    const payload = JSON.stringify({ result, outDir: dir });
    // the JSON text is put in the page first: what is timed is the panel, not Playwright's transfer
    await h.page.evaluate((t) => ((globalThis as any).__payload = t), payload);
    const t0 = Date.now();
    await h.page.evaluate(() => {
      const g = globalThis as any;
      g.postMessage({ method: 'result/didChange', params: JSON.parse(g.__payload) }, '*');
    });
    await waitFor(async () => !!(await h.page.locator('#heatmap').getAttribute('data-order')) && (await h.page.locator('#network canvas').count()) > 0, 'heatmap and network', 60_000);
    openMs = Date.now() - t0;
  });

  after(async () => {
    await browser?.close();
  });

  test('opens in cluster order: every family one run of rows, the dendrogram beside them', async () => {
    console.log(`232-model result drawn ${openMs} ms after the message (this machine: ${(await import('node:os')).loadavg()[0]!.toFixed(1)} load)`);
    assert.equal(await attr(h, '#heatmap', 'data-order-mode'), 'cluster');
    assert.equal(await attr(h, '#heatmap', 'data-dendrogram'), 'shown');
    assert.equal(await attr(h, '#heatmap', 'data-cells'), 'bitmap');
    const order = (await attr(h, '#heatmap', 'data-order')).split(',').map(Number);
    assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i));
    // file order is shuffled: families interleave there...
    const family = (i: number) => m.models[i]!.family;
    const runs = (o: number[]) => o.map(family).filter((f, k, a) => k === 0 || f !== a[k - 1]).length;
    assert.ok(runs(Array.from({ length: N }, (_, i) => i)) > 100, 'file order shows no structure');
    // ...and in cluster order each family (and the outlier) is one block
    assert.equal(runs(order), FAMILIES + 1, `families along the order: ${order.map(family).join(',')}`);
    assert.match(await h.page.locator('#heatmap-card .md-card-title').innerText(), /unet, L2/);
  });

  test('one outlier would wash out a linear scale: it opens on log; rank and linear are one choice away', async () => {
    assert.equal(await attr(h, '#heatmap', 'data-scale'), 'log');
    assert.match(await h.page.locator('#heatmap-scale-legend').innerText(), /log scale/);
    const order = (await attr(h, '#heatmap', 'data-order')).split(',').map(Number);
    const [ox, oy] = (await attr(h, '#heatmap', 'data-cell-origin')).split(',').map(Number) as [number, number];
    const [sx, sy] = (await attr(h, '#heatmap', 'data-cell-step')).split(',').map(Number) as [number, number];
    // two cells of the first row: its own family (near) and another family (far), neither identical nor the outlier
    const row = order.findIndex((i) => m.models[i]!.kind === 'plain');
    const first = order[row]!;
    const col = (pred: (i: number) => boolean) => order.findIndex((i) => i !== first && pred(i) && m.models[i]!.kind === 'plain');
    const nearCol = col((i) => m.models[i]!.family === m.models[first]!.family);
    const farCol = col((i) => m.models[i]!.family !== m.models[first]!.family);
    assert.ok(nearCol >= 0 && farCol >= 0);
    const at = (c: number) => ({ x: ox + c * sx, y: oy + row * sy });
    const contrast = async () => dist(await pixel(h, at(nearCol).x, at(nearCol).y), await pixel(h, at(farCol).x, at(farCol).y));
    const logContrast = await contrast();
    await choose(h, 'heatmap-scale', 'Linear');
    await waitFor(async () => (await attr(h, '#heatmap', 'data-scale')) === 'linear', 'linear scale');
    await h.page.waitForTimeout(200);
    const linearContrast = await contrast();
    await choose(h, 'heatmap-scale', 'Rank');
    await waitFor(async () => (await attr(h, '#heatmap', 'data-scale')) === 'rank', 'rank scale');
    await h.page.waitForTimeout(200);
    const rankContrast = await contrast();
    assert.match(await h.page.locator('#heatmap-scale-legend').innerText(), /rank scale/);
    assert.ok(logContrast > 2 * linearContrast, `log separates near from far (${logContrast.toFixed(0)}) where linear does not (${linearContrast.toFixed(0)})`);
    assert.ok(rankContrast > 2 * linearContrast, `rank too (${rankContrast.toFixed(0)})`);
    assert.equal((h.states.at(-1) as any).heatmap.scale, 'rank', 'the choice is kept in the state');
    await h.page.locator('#heatmap').screenshot({ path: artifactPath('large-heatmap-rank.png') });
  });

  test('file order is one click away, and back', async () => {
    await choose(h, 'heatmap-order', 'File order');
    await waitFor(async () => (await attr(h, '#heatmap', 'data-order-mode')) === 'file', 'file order');
    assert.equal(await attr(h, '#heatmap', 'data-order'), Array.from({ length: N }, (_, i) => i).join(','));
    assert.equal(await attr(h, '#heatmap', 'data-dendrogram'), 'none');
    await h.page.locator('#heatmap').screenshot({ path: artifactPath('large-heatmap-file-order.png') });
    await choose(h, 'heatmap-order', 'Clustered');
    await waitFor(async () => (await attr(h, '#heatmap', 'data-order-mode')) === 'cluster', 'cluster order');
    assert.equal((h.states.at(-1) as any).heatmap.order, 'cluster');
  });

  test('the bitmap answers the pointer: a tooltip naming the pair, a click selects it', async () => {
    const order = (await attr(h, '#heatmap', 'data-order')).split(',').map(Number);
    const [ox, oy] = (await attr(h, '#heatmap', 'data-cell-origin')).split(',').map(Number) as [number, number];
    const [sx, sy] = (await attr(h, '#heatmap', 'data-cell-step')).split(',').map(Number) as [number, number];
    const r = 40;
    const c = 180;
    await h.page.locator('#heatmap').hover({ position: { x: ox + c * sx, y: oy + r * sy } });
    const tip = h.page.locator('#heatmap .md-bitmap-tip');
    await waitFor(async () => (await tip.isVisible()) && (await tip.innerText()).length > 0, 'bitmap tooltip', 5000);
    const text = await tip.innerText();
    assert.ok(text.includes(`#${order[r]} ${m.models[order[r]!]!.file}`), text);
    assert.ok(text.includes(`#${order[c]} ${m.models[order[c]!]!.file}`), text);
    await h.page.locator('#heatmap').click({ position: { x: ox + c * sx, y: oy + r * sy } });
    const lo = Math.min(order[r]!, order[c]!);
    const hi = Math.max(order[r]!, order[c]!);
    const req = await h.waitForPosted((x) => x.method === 'layers/get' && Math.min(x.params.a, x.params.b) === lo && Math.max(x.params.a, x.params.b) === hi);
    assert.ok(req.id);
  });

  test('the network is a backbone: one edge fewer than models, clusters coloured, names on hover', async () => {
    const net = '#network';
    assert.equal(await attr(h, net, 'data-edge-mode'), 'backbone');
    assert.equal(await attr(h, net, 'data-edges'), String(N - 1));
    assert.equal(await attr(h, net, 'data-labels'), 'hover');
    assert.ok(Number(await attr(h, net, 'data-clusters')) >= FAMILIES, 'a cluster per family at least');
    const clusters = (await attr(h, net, 'data-node-clusters')).split(',').map(Number);
    // the clusters are the families: two plain models share a cluster exactly when they share a family
    const plain = m.models.map((x, i) => ({ x, i })).filter(({ x }) => x.kind === 'plain');
    for (const { x: a, i } of plain.slice(0, 30)) for (const { x: b, i: j } of plain.slice(0, 60)) assert.equal(clusters[i] === clusters[j], a.family === b.family, `#${i} and #${j}`);
    assert.equal(clusters[m.special.outlier![0]!], -1, 'the outlier is alone');
    assert.match(await h.page.locator('#network-colors').innerText(), /clusters of the average-linkage dendrogram/);
    // a node's name shows on hover
    const positions = JSON.parse((await h.page.locator(net).getAttribute('data-node-positions')) ?? '{}') as Record<string, [number, number]>;
    const [x, y] = positions['7']!;
    await h.page.locator(net).hover({ position: { x, y } });
    const tip = h.page.locator('#network div.vis-tooltip');
    await waitFor(async () => (await tip.count()) > 0 && (await tip.evaluate((el: any) => el.style.visibility)) !== 'hidden', 'node tooltip', 5000);
    assert.ok((await tip.innerText()).startsWith(`#7 ${m.models[7]!.file}`));
    // every pair still one choice away
    await choose(h, 'network-edges', 'All pairs');
    await waitFor(async () => (await attr(h, net, 'data-edges')) === String(result.pairs.length), 'all edges', 30_000);
    await choose(h, 'network-edges', 'Backbone \\(spanning tree\\)');
    await waitFor(async () => (await attr(h, net, 'data-edges')) === String(N - 1), 'backbone again', 30_000);
  });

  test('bit-identical and equal-valued groups are named apart', async () => {
    const ident = await h.page.locator('#identical-group-line').innerText();
    const copy = m.special.copy![0]!;
    assert.match(ident, new RegExp(`#${Math.min(copy, m.models[copy]!.source!)} = #${Math.max(copy, m.models[copy]!.source!)}`));
    const fp32 = m.special.fp32![0]!;
    assert.doesNotMatch(ident, new RegExp(`#${fp32}\\b`), 'the fp32 copy is not bit-identical to anything');
    assert.match(await h.page.locator('#equal-group-line').innerText(), new RegExp(`#${fp32}\\b`));
  });

  test('exports: the bitmap heatmap as SVG (the cells one embedded image) and PNG, the matrix as CSV', async () => {
    await h.page.locator('#heatmap-card vscode-button[title="Export as SVG"]').click();
    const svg = await h.waitForPosted((x) => x.method === 'export/save' && x.params.kind === 'svg' && x.params.suggestedName.startsWith('matrix'));
    assert.ok(svg.params.data.startsWith('<svg'));
    assert.equal((svg.params.data.match(/<image /g) ?? []).length, 1, 'one image holds the cells');
    assert.match(svg.params.data, /href="data:image\/png;base64,/);
    assert.ok(svg.params.data.length < 8e6, `${svg.params.data.length} characters`);
    await h.page.locator('#heatmap-card vscode-button[title="Export as PNG"]').click();
    const png = await h.waitForPosted((x) => x.method === 'export/save' && x.params.kind === 'png' && x.params.suggestedName.startsWith('matrix'));
    assert.ok(png.params.data.startsWith('iVBORw0KGgo'));
    await h.page.locator('#heatmap-card vscode-button[title="Export the matrix as CSV"]').click();
    const csv = await h.waitForPosted((x) => x.method === 'export/save' && x.params.kind === 'csv' && x.params.suggestedName.startsWith('matrix'));
    assert.equal(csv.params.data.trim().split('\r\n').length, N + 1);
  });

  test('screenshots, dark and light', async () => {
    await h.page.mouse.move(1, 1);
    await h.page.waitForTimeout(1500);
    for (const theme of ['dark', 'light'] as const) {
      await h.setTheme(theme);
      await h.page.waitForTimeout(1500);
      await h.page.locator('#main').screenshot({ path: artifactPath(`large-${theme}.png`) });
      for (const card of ['heatmap', 'network', 'line']) await h.page.locator(`#${card}-card`).screenshot({ path: artifactPath(`large-${card}-${theme}.png`) });
    }
    await h.setTheme('dark');
  });

  test('no console errors, no page errors, no CSP violations', async () => {
    assert.deepEqual(h.pageErrors, []);
    assert.deepEqual(h.consoleErrors, []);
    assert.deepEqual(await h.cspViolations(), []);
  });
});
