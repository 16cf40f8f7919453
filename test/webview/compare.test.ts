/**
 * The comparison panel in headless chromium (standalone harness: real bundle, strict CSP, stubbed VS Code API).
 * Screenshots go to test-artifacts/webview/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator } from 'playwright-core';
import { artifactPath, choose, chromiumMissingReason, CSP, launchBrowser, openWebview, THEMES, waitFor } from './harness';
import type { Harness, PostedMessage } from './harness';
import { HOSTILE_KEY, HOSTILE_SCRIPT, layerRows, makeResult, MODEL_FILES } from './fixture';

const skip = chromiumMissingReason();

/** The pair the panel opens on: the nearest pair whose UNet differs (worked out here from the fixture). */
const FIRST_PAIR = (() => {
  const changed = makeResult().pairs.filter((p) => p.components.unet!.status === 'changed');
  const p = changed.reduce((x, y) => (y.components.unet!.l2! < x.components.unet!.l2! ? y : x));
  return { a: p.a, b: p.b };
})();

/** Six significant digits, as the panel prints an L2 value. */
const six = (v: number) => String(Number(v.toPrecision(6)));

/** Answers like the extension host: the result after `ready`, rows for `layers/get`, "saved" for `export/save`. */
function hostResponder(opts: { progressFirst?: boolean } = {}) {
  return async (m: PostedMessage, h: Harness) => {
    if (m.method === 'ready') {
      if (opts.progressFirst) {
        await h.send('progress/didChange', { phase: 'comparing <b>unet</b>', bytesDone: 1_610_612_736, bytesTotal: 4_294_967_296, etaSeconds: 63, message: `reading ${MODEL_FILES[0]}` });
      } else {
        await h.send('result/didChange', { result: makeResult(), outDir: '/out/<b>bold</b>' });
      }
    } else if (m.method === 'layers/get') {
      await h.respond(m.id!, layerRows(m.params.a, m.params.b));
    } else if (m.method === 'export/save') {
      await h.respond(m.id!, { saved: true, path: `/tmp/${m.params.suggestedName}` });
    }
  };
}

async function cellGeometry(hm: Locator): Promise<{ at: (row: number, col: number, dx?: number, dy?: number) => { x: number; y: number } }> {
  await hm.locator('canvas').first().waitFor();
  const origin = await waitAttr(hm, 'data-cell-origin');
  const step = await waitAttr(hm, 'data-cell-step');
  const [ox, oy] = origin.split(',').map(Number) as [number, number];
  const [sx, sy] = step.split(',').map(Number) as [number, number];
  return { at: (row, col, dx = 0, dy = 0) => ({ x: ox + col * sx + dx * sx, y: oy + row * sy + dy * sy }) };
}

async function waitAttr(l: Locator, name: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const v = await l.getAttribute(name);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} never set`);
}

/** RGB of one pixel of the heatmap as drawn: the topmost opaque pixel over echarts' canvas layers (CSS px, scale 1). */
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

function near(a: [number, number, number], hex: string, tol = 6): boolean {
  const v = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return a.every((c, i) => Math.abs(c - v[i]!) <= tol);
}

async function tooltipText(h: Harness, chart: string): Promise<string> {
  const tip = h.page.locator(`${chart} .md-echarts-tooltip`);
  await tip.locator('.md-tip').waitFor({ state: 'visible', timeout: 5000 });
  return tip.innerText();
}

async function visibleFirstCells(h: Harness, table: string): Promise<string[]> {
  return h.page.locator(`${table} .vt-row:not([hidden]) .vt-td:nth-child(1)`).allInnerTexts();
}

async function status(h: Harness, table: string): Promise<string> {
  return h.page.locator(`${table} .vt-status`).innerText();
}

describe('compare panel (headless chromium, strict CSP)', { skip }, () => {
  let browser: Browser;
  let h: Harness;

  before(async () => {
    browser = await launchBrowser();
    h = await openWebview(browser, { view: 'compare', respond: hostResponder() });
    await h.page.locator('#heatmap canvas').first().waitFor({ timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
  });

  test('sends ready first, then asks for the first pair: the nearest that differs, not an identical one', async () => {
    await h.waitForPosted((m) => m.method === 'layers/get');
    assert.equal(h.posted[0]!.method, 'ready');
    assert.deepEqual(h.posted[0]!.params, { protocolVersion: 1 });
    const req = h.posted.find((m) => m.method === 'layers/get')!;
    assert.deepEqual(FIRST_PAIR, { a: 1, b: 4 }, 'the fixture: (0, 3) is identical, (1, 4) the nearest changed pair');
    assert.deepEqual(req.params, FIRST_PAIR);
    assert.equal(typeof req.id, 'number');
  });

  test('heatmap: canvas drawn; the identical cell is marked "=" and drawn in the identical colour, not as 0', async () => {
    const hm = h.page.locator('#heatmap');
    const box = await hm.locator('canvas').first().boundingBox();
    assert.ok(box && box.width > 200 && box.height > 200, 'heatmap canvas has a size');
    // the accessible twin of the canvas
    const cell = h.page.locator('#matrix-table td[data-a="0"][data-b="3"]');
    assert.equal(await cell.getAttribute('data-kind'), 'identical');
    assert.equal(await cell.innerText(), '=');
    // the canvas: colour of the cell away from its label, and the tooltip
    const g = await cellGeometry(hm);
    const p = g.at(0, 3, 0.35, 0.3);
    assert.ok(near(await pixel(h, p.x, p.y), THEMES.dark.vars['--vscode-charts-green']!), 'identical cell is drawn in charts-green');
    await hm.hover({ position: g.at(0, 3) });
    const tip = await tooltipText(h, '#heatmap');
    assert.match(tip, /^= identical/);
    assert.match(tip, /status\s+identical \(bit for bit\)/);
    // a changed cell shows its exact value in the tooltip
    await hm.hover({ position: g.at(0, 1) });
    const unet01 = makeResult().pairs[0]!.components.unet!.l2!;
    assert.ok((await tooltipText(h, '#heatmap')).includes(`L2\t${six(unet01)}`), 'six significant digits in the tooltip, not 17');
  });

  test('heatmap: switching to the text encoder shows the not-comparable cell as grey "n/a", never 0', async () => {
    // use the component switcher like a person would
    await choose(h, 'component', 'te');
    await waitFor(async () => (await h.page.locator('#heatmap-card .md-card-title').innerText()).includes('te,'), 'te heatmap');
    const cell = h.page.locator('#matrix-table td[data-a="0"][data-b="4"]');
    assert.equal(await cell.getAttribute('data-kind'), 'na');
    assert.equal(await cell.innerText(), 'n/a');
    const hm = h.page.locator('#heatmap');
    const g = await cellGeometry(hm);
    const px = await pixel(h, g.at(0, 4, 0.35, 0.3).x, g.at(0, 4, 0.35, 0.3).y);
    assert.ok(Math.max(...px) - Math.min(...px) < 12, `n/a cell is grey, got rgb(${px.join(',')})`);
    await hm.hover({ position: g.at(0, 4) });
    const tip = await tooltipText(h, '#heatmap');
    assert.match(tip, /^n\/a: not comparable/);
    assert.match(tip, /L2\tn\/a/);
    assert.doesNotMatch(tip, /L2\t0\b/);
    const last = h.states.at(-1) as { component?: string };
    assert.equal(last.component, 'te', 'component persisted with setState');
  });

  test('per-layer table lists the expected keys after layers/get (3,200 rows, virtualized)', async () => {
    await waitFor(async () => (await status(h, '#layers-table')) === '3,200 rows', 'layer rows');
    const first = await visibleFirstCells(h, '#layers-table');
    assert.equal(first[0], 'model.diffusion_model.blocks.0.attn1.to_q.weight');
    assert.ok(first.includes(HOSTILE_KEY), 'markup in a key is shown as text');
    const rendered = await h.page.locator('#layers-table .vt-row').count();
    assert.ok(rendered < 80, `only the rows in view are in the DOM (${rendered})`);
    // scrolling far down renders the rows there
    await h.page.locator('#layers-table .vt-scroll').evaluate((el: any) => (el.scrollTop = 22 * 3200));
    await waitFor(async () => (await visibleFirstCells(h, '#layers-table')).some((t) => t.startsWith('alphas_cumprod_')), 'rows at the end');
  });

  test('per-layer table: filter by name and by component, sort by L2', async () => {
    await h.page.locator('#layer-filter input').fill('attn2');
    await waitFor(async () => /^\d[\d,]* of 3,200 rows$/.test(await status(h, '#layers-table')), 'filtered status');
    const names = await visibleFirstCells(h, '#layers-table');
    assert.ok(names.length > 0 && names.every((n) => n.includes('attn2')), 'every row matches the filter');
    const expected = layerRows(FIRST_PAIR.a, FIRST_PAIR.b).filter((r) => r.key.includes('attn2')).length;
    assert.equal(await status(h, '#layers-table'), `${expected.toLocaleString('en-US')} of 3,200 rows`);

    await h.page.locator('#layer-filter input').fill('');
    await waitFor(async () => (await status(h, '#layers-table')) === '3,200 rows', 'filter cleared');
    await choose(h, 'layer-component', 'vae');
    await waitFor(async () => (await status(h, '#layers-table')) === '300 of 3,200 rows', 'component filter');
    assert.ok((await visibleFirstCells(h, '#layers-table')).every((n) => n.startsWith('first_stage_model.')));

    await h.page.locator('#layers-table .vt-th[data-col="l2"]').click();
    assert.equal(await h.page.locator('#layers-table .vt-th[data-col="l2"]').getAttribute('aria-sort'), 'descending');
    const maxVae = Math.max(...layerRows(FIRST_PAIR.a, FIRST_PAIR.b).filter((r) => r.component === 'vae').map((r) => r.l2 ?? -Infinity));
    const firstL2 = h.page.locator('#layers-table .vt-row:not([hidden]) .vt-td:nth-child(3)').first();
    assert.equal(await firstL2.innerText(), six(maxVae));
    // numbers sit right-aligned under their right-aligned headers
    for (const sel of ['#layers-table .vt-row:not([hidden]) .vt-td.vt-num', '#summary-table td.md-num']) {
      const align = await h.page.locator(sel).first().evaluate((el: any) => (globalThis as any).getComputedStyle(el).textAlign);
      assert.equal(align, 'right', sel);
    }
    const th = await h.page.locator('#layers-table .vt-th[data-col="l2"]').evaluate((el: any) => (globalThis as any).getComputedStyle(el).justifyContent);
    assert.equal(th, 'flex-end');
    // the summary: six digits for L2, a cosine near 1 with the digits that tell it from 1, the exact value on hover
    const l2Cell = h.page.locator('#summary-table tr[data-component="unet"] td.md-num').first();
    const pair = makeResult().pairs.find((p) => p.a === FIRST_PAIR.a && p.b === FIRST_PAIR.b)!;
    assert.equal(await l2Cell.innerText(), six(pair.components.unet!.l2!));
    assert.equal(await l2Cell.getAttribute('title'), String(pair.components.unet!.l2!));
    assert.ok((await l2Cell.innerText()).replace(/[^0-9]/g, '').length <= 6);
  });

  test('clicking a heatmap cell selects that pair: summary, histograms and a new layers/get', async () => {
    // back to unet so the heatmap cell (0, 2) is a changed one
    await h.send('focus/didChange', { component: 'unet' });
    await waitFor(async () => (await h.page.locator('#heatmap-card .md-card-title').innerText()).includes('unet,'), 'unet heatmap');
    const hm = h.page.locator('#heatmap');
    const g = await cellGeometry(hm);
    await hm.click({ position: g.at(0, 2) });
    const req = await h.waitForPosted((m) => m.method === 'layers/get' && m.params.a === 0 && m.params.b === 2);
    assert.ok(req.id);
    const focus = await h.waitForPosted((m) => m.method === 'focus/changed' && m.params.pair?.b === 2);
    assert.deepEqual(focus.params, { pair: { a: 0, b: 2 }, component: 'unet' });
    await waitFor(async () => (await h.page.locator('#summary-table tr[data-component="te"]').getAttribute('data-status')) === 'identical', 'summary of 0-2');
    assert.match(await h.page.locator('#summary-table tr[data-component="te"]').innerText(), /= identical/);
    assert.ok(await h.page.locator('#histograms canvas').first().isVisible());
  });

  test('network: canvas, identical group, threshold slider; focus/didChange focuses a model', async () => {
    assert.ok(await h.page.locator('#network canvas').first().isVisible());
    assert.match(await h.page.locator('#identical-groups').innerText(), /#0 = #3/);
    assert.match(await h.page.locator('#threshold-value').innerText(), /all · 10\/10 edges/);
    await h.page.locator('#threshold').fill('45');
    await waitFor(async () => /≤ 45 · \d+\/10 edges/.test(await h.page.locator('#threshold-value').innerText()), 'threshold applied');
    const shown = Number(/(\d+)\/10/.exec(await h.page.locator('#threshold-value').innerText())![1]);
    assert.ok(shown < 10 && shown >= 1, 'far edges hidden, identical ones kept');
    await h.send('focus/didChange', { model: 2 });
    await waitFor(async () => (await h.page.locator('#line-card .md-card-title').innerText()).includes('from #2 finetune-a'), 'line chart re-referenced');
    // clicking a node focuses that model and tells the host
    const net = h.page.locator('#network');
    const positions = JSON.parse(await waitAttr(net, 'data-node-positions')) as Record<string, [number, number]>;
    const [x, y] = positions['4']!;
    await net.click({ position: { x, y } });
    const focus = await h.waitForPosted((m) => m.method === 'focus/changed' && m.params.model === 4);
    assert.deepEqual(focus.params, { model: 4 });
    await waitFor(async () => (await h.page.locator('#line-card .md-card-title').innerText()).includes('from #4 sd2-te-swap.ckpt'), 'line chart follows the clicked node');
    await h.send('focus/didChange', { model: 2 });
  });

  test('exports: PNG and escaped SVG of charts, CSV of tables, through export/save', async () => {
    const before = h.posted.length;
    await h.page.locator('#heatmap-card vscode-button[title="Export as SVG"]').click();
    const svg = await h.waitForPosted((m) => m.method === 'export/save' && m.params.kind === 'svg' && h.posted.indexOf(m) >= before);
    assert.match(svg.params.suggestedName, /^matrix-unet-l2\.svg$/);
    assert.ok(svg.params.data.startsWith('<svg'), 'svg text');
    assert.ok(svg.params.data.includes('#0 base &lt;scri'), 'model names escaped in the SVG');
    assert.ok(!/<scri|<img/.test(svg.params.data), 'no script or img element in the SVG');

    await h.page.locator('#heatmap-card vscode-button[title="Export as PNG"]').click();
    const png = await h.waitForPosted((m) => m.method === 'export/save' && m.params.kind === 'png');
    assert.ok(png.params.data.startsWith('iVBORw0KGgo'), 'base64 PNG');

    await h.page.locator('#network-card vscode-button[title="Export as SVG"]').click();
    const nsvg = await h.waitForPosted((m) => m.method === 'export/save' && m.params.kind === 'svg' && m.params.suggestedName.startsWith('network'));
    assert.ok(nsvg.params.data.includes('#0 base &lt;scri'), 'network SVG escapes labels');
    assert.ok(!/<scri|<img/.test(nsvg.params.data));
    await h.page.locator('#network-card vscode-button[title="Export as PNG"]').click();
    const npng = await h.waitForPosted((m) => m.method === 'export/save' && m.params.kind === 'png' && m.params.suggestedName.startsWith('network'));
    assert.ok(npng.params.data.startsWith('iVBORw0KGgo'));

    await h.page.locator('#layers-card vscode-button[title="Export the rows shown as CSV"]').click();
    const csv = await h.waitForPosted((m) => m.method === 'export/save' && m.params.kind === 'csv' && m.params.suggestedName.startsWith('layers'));
    const lines = csv.params.data.trim().split('\r\n');
    assert.equal(lines[0], 'key,component,l2,cosine');
    assert.equal(lines.length, 1 + 300, 'the rows shown (vae filter) are exported');
    await waitFor(async () => (await h.page.locator('#toast').innerText()).startsWith('Saved'), 'saved toast');
  });

  test('markup and script in file names, keys and paths stay inert text', async () => {
    const pwned = await h.page.evaluate(() => (globalThis as any).__pwned);
    assert.equal(pwned, undefined);
    const counts = await h.page.evaluate(() => {
      const d = (globalThis as any).document;
      return { scripts: d.querySelectorAll('script').length, imgs: d.querySelectorAll('img').length, svgs: d.querySelectorAll('svg').length, b: d.querySelectorAll('b').length };
    });
    assert.deepEqual(counts, { scripts: 2, imgs: 0, svgs: 0, b: 0 });
    assert.ok((await h.page.locator('#errors').innerText()).includes('broken"><svg onload=alert(1)>.safetensors'));
    assert.ok((await h.page.locator('#matrix-table').innerText()).includes(`#0 base ${HOSTILE_SCRIPT}.safetensors`));
    assert.ok((await h.page.locator('#summary-line').innerText()).includes('/out/<b>bold</b>'));
    // the models list (collapsed) names the files as text and flags the suspicious tensors
    const row2 = h.page.locator('#models-table tr[data-model="2"]');
    assert.match(await row2.textContent() ?? '', /1 with NaN\/Inf, 1 all-zero/);
    assert.ok(((await row2.locator('td.md-warn').getAttribute('title')) ?? '').includes(`NaN/Inf: model.diffusion_model.<img src=x`));
    assert.ok(((await h.page.locator('#models-table tr[data-model="1"]').textContent()) ?? '').includes(MODEL_FILES[1]!));
  });

  test('themes: dark, light and high contrast re-colour the charts; screenshots', async () => {
    await h.page.mouse.move(1, 1);
    await h.page.evaluate(() => (globalThis as any).getSelection()?.removeAllRanges());
    await h.page.screenshot({ path: artifactPath('compare-dark.png'), fullPage: true });
    const hm = h.page.locator('#heatmap');
    for (const theme of ['light', 'hc'] as const) {
      await h.setTheme(theme);
      await h.page.waitForTimeout(150);
      const g = await cellGeometry(hm);
      const p = g.at(0, 3, 0.35, 0.3);
      await waitFor(async () => near(await pixel(h, p.x, p.y), THEMES[theme].vars['--vscode-charts-green']!), `${theme} identical colour`, 5000);
      await h.page.screenshot({ path: artifactPath(`compare-${theme}.png`), fullPage: true });
    }
    await h.setTheme('dark');
  });

  test('no console errors, no page errors, no CSP violations', async () => {
    assert.deepEqual(h.pageErrors, []);
    assert.deepEqual(h.consoleErrors, []);
    assert.deepEqual(await h.cspViolations(), []);
  });
});

describe('compare panel: progress, reload with saved state, failing request', { skip }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('progress/didChange is shown before the result, then replaced by it', async () => {
    const h = await openWebview(browser, { view: 'compare', respond: hostResponder({ progressFirst: true }) });
    await h.page.locator('#progress-phase').waitFor();
    assert.equal(await h.page.locator('#progress-phase').innerText(), 'comparing <b>unet</b>');
    assert.equal(await h.page.locator('#progress-percent').innerText(), '37.5 %');
    assert.match(await h.page.locator('#progress').innerText(), /1\.50 GiB of 4\.00 GiB/);
    assert.match(await h.page.locator('#progress').innerText(), /ETA 1m 03s/);
    assert.ok(await h.page.locator('#main').isHidden());
    await h.page.screenshot({ path: artifactPath('compare-progress.png') });
    await h.send('result/didChange', { result: makeResult(), outDir: '/out' });
    await h.page.locator('#heatmap canvas').first().waitFor();
    assert.ok(await h.page.locator('#progress').isHidden());
    assert.deepEqual(h.consoleErrors, []);
    assert.deepEqual(await h.cspViolations(), []);
    await h.page.close();
  });

  test('a reload restores component, metric and pair from setState', async () => {
    const state = { component: 'vae', metric: 'cosine', metricPicked: true, pair: { a: 1, b: 3 }, refModel: 1, focusModel: 1, threshold: null, layerFilter: 'norm', layerComponent: '', layerSort: null };
    const h = await openWebview(browser, { view: 'compare', initialState: state, respond: hostResponder() });
    const req = await h.waitForPosted((m) => m.method === 'layers/get');
    assert.deepEqual(req.params, { a: 1, b: 3 });
    await waitFor(async () => (await h.page.locator('#heatmap-card .md-card-title').innerText()) === 'Distance matrix: vae, cosine', 'restored heatmap');
    assert.equal(await h.page.locator('#layer-filter').evaluate((el: any) => el.value), 'norm');
    await waitFor(async () => /of 3,200 rows$/.test(await status(h, '#layers-table')), 'restored filter applied');
    await h.page.close();
  });

  test('the panel opens on the metric of the modeldiff.compare.metric setting until one is picked in it', async () => {
    const h = await openWebview(browser, {
      view: 'compare',
      respond: async (m: PostedMessage, hh: Harness) => {
        if (m.method === 'ready') {
          const r = makeResult();
          await hh.send('result/didChange', { result: { ...r, options: { ...r.options, metric: 'cosine' } }, outDir: '/out' });
        } else if (m.method === 'layers/get') await hh.respond(m.id!, []);
      },
    });
    await waitFor(async () => (await h.page.locator('#heatmap-card .md-card-title').innerText()) === 'Distance matrix: unet, cosine', 'the setting\'s metric');
    await h.page.close();
  });

  test('an even stricter CSP (style-src without nonce, img-src none) still renders with no violation', async () => {
    const strict = CSP.replace(/style-src [^;]+/, "style-src 'self'").replace(/img-src [^;]+/, "img-src 'none'");
    assert.ok(!strict.includes('unsafe'));
    const h = await openWebview(browser, { view: 'compare', csp: strict, respond: hostResponder() });
    const hm = h.page.locator('#heatmap');
    const g = await cellGeometry(hm);
    await hm.hover({ position: g.at(1, 2) });
    assert.match(await tooltipText(h, '#heatmap'), /^L2 /);
    await waitFor(async () => (await status(h, '#layers-table')) === '3,200 rows', 'layer rows');
    // vis-network's node tooltip: plain text, styled by our sheet
    const net = h.page.locator('#network');
    const positions = JSON.parse(await waitAttr(net, 'data-node-positions')) as Record<string, [number, number]>;
    const [x, y] = positions['0']!;
    await net.hover({ position: { x, y } });
    const tip = h.page.locator('#network div.vis-tooltip');
    await waitFor(async () => (await tip.count()) > 0 && (await tip.evaluate((el: any) => el.style.visibility)) !== 'hidden', 'network tooltip', 5000);
    assert.ok((await tip.innerText()).includes(`#0 base ${HOSTILE_SCRIPT}.safetensors`));
    // innerText turns our line breaks into <br>; nothing else may appear
    assert.deepEqual(await tip.evaluate((el: any) => [...new Set([...el.children].map((c: any) => c.tagName))]), ['BR'], 'tooltip holds text only');
    assert.equal(await tip.evaluate((el: any) => (globalThis as any).getComputedStyle(el).position), 'absolute');
    assert.deepEqual(await h.cspViolations(), []);
    assert.deepEqual(h.consoleErrors, []);
    await h.page.close();
  });

  test('a failing layers/get is reported in the panel, not thrown', async () => {
    const h = await openWebview(browser, {
      view: 'compare',
      respond: async (m, hh) => {
        if (m.method === 'ready') await hh.send('result/didChange', { result: makeResult(), outDir: '' });
        if (m.method === 'layers/get') await hh.respond(m.id!, 'layers.bin is missing', false);
      },
    });
    await waitFor(async () => (await h.page.locator('#layers-status').innerText()).includes('layers.bin is missing'), 'error shown');
    assert.deepEqual(h.pageErrors, []);
    await h.send('error/didOccur', { message: 'worker crashed <i>hard</i>', file: 'x<img src=y>.ckpt' });
    await waitFor(async () => (await h.page.locator('#errors').innerText()).includes('worker crashed <i>hard</i>'), 'host error listed');
    assert.equal(await h.page.evaluate(() => (globalThis as any).document.querySelectorAll('img, i').length), 0);
    await h.page.close();
  });

  test('a result that cannot be opened: the "Opening" line gives way to the reason', async () => {
    const h = await openWebview(browser, { view: 'compare', respond: async () => {} });
    await h.waitForPosted((m) => m.method === 'ready');
    await h.send('progress/didChange', { phase: 'Opening the result', bytesDone: 0, bytesTotal: 0, etaSeconds: null, message: '/data/run1' });
    await waitFor(async () => (await h.page.locator('#progress-phase').innerText()) === 'Opening the result', 'opening shown');
    await h.send('error/didOccur', { message: '/data/run1 holds no result.json: pick a folder a comparison wrote' });
    await waitFor(async () => (await h.page.locator('#errors').innerText()).includes('holds no result.json'), 'reason listed');
    assert.ok(await h.page.locator('#progress').isHidden(), 'no progress line left behind');
    assert.deepEqual(h.pageErrors, []);
    await h.page.close();
  });
});
