/**
 * The analysis section of the comparison panel in headless chromium (real bundle, strict CSP, stubbed VS Code API):
 * the fake host sends result/didChange then analysis/didChange with the AnalysisFile of analysisFixture.ts, answers
 * recipe/get and analysis/run. Screenshots go to test-artifacts/webview/analysis-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { AnalysisFile } from '../../src/shared/analysis';
import { artifactPath, bodyBackground, chromiumMissingReason, cssRgb, launchBrowser, openWebview, THEMES, waitFor } from './harness';
import type { Harness, PostedMessage } from './harness';
import { layerRows, makeResult, MODEL_FILES } from './fixture';
import { BLOCK_GROUPS, HOSTILE_PARENT, makeAnalysis, recipe, sha } from './analysisFixture';

const skip = chromiumMissingReason();

function fullPrecision(v: number | null): string {
  return v === null ? 'n/a' : String(v);
}

function percent(v: number): string {
  return `${(v * 100).toFixed(1)} %`;
}

/** Picks an option of a vscode-single-select as a person does: open it, click the entry holding `text`. */
async function choose(h: Harness, selectId: string, text: string): Promise<void> {
  await h.page.locator(`#${selectId}`).evaluate((el: any) => el.scrollIntoView({ block: 'center' }));
  await h.page.locator(`#${selectId}`).click();
  await h.page.locator(`#${selectId} li[role="option"]`).filter({ hasText: text }).first().click();
}

async function cells(h: Harness, row: string): Promise<string[]> {
  return h.page.locator(`${row} > th, ${row} > td`).allInnerTexts();
}

/** The same analysis placed with time_embed in IN00 (what the engine sends after `analysis/run {timeEmbed: 'IN00'}`). */
function inIn00(a: AnalysisFile): AnalysisFile {
  const block = a.breakdowns.block!;
  return { ...a, timeEmbed: 'IN00', breakdowns: { ...a.breakdowns, block: { ...block, timeEmbed: 'IN00', description: block.description.replace('in BASE (sd-mecha convention)', 'in IN00 (SuperMerger/meh convention)') } } };
}

interface HostOptions {
  isStatic?: boolean;
  withHashes?: boolean;
  failRecipe?: () => boolean;
  /** answer recipe/get with a fit whose parents do not explain the model (relative residual 0.89) */
  poorRecipe?: () => boolean;
}

/** Plays the extension host: result then analysis after `ready`, answers layers/get, recipe/get, analysis/run, export/save. */
function analysisHost(opts: HostOptions = {}) {
  return async (m: PostedMessage, h: Harness) => {
    if (m.method === 'ready') {
      await h.send('result/didChange', { result: makeResult(), outDir: '/out' });
      await h.send('analysis/didChange', { state: 'running', analysis: null, ...(opts.isStatic ? { static: true } : {}) });
      await h.send('analysis/didChange', { state: 'done', analysis: makeAnalysis({ withHashes: opts.withHashes ?? false }), ...(opts.isStatic ? { static: true } : {}) });
    } else if (m.method === 'layers/get') {
      await h.respond(m.id!, layerRows(m.params.a, m.params.b));
    } else if (m.method === 'recipe/get') {
      if (opts.failRecipe?.()) await h.respond(m.id!, 'parents <b>#3</b> and #4 have no comparable UNet', false);
      else {
        const r = recipe(m.params.model, m.params.parents, 'user');
        if (opts.poorRecipe?.() && r.overall) r.overall = { ...r.overall, relResidual: 0.89 };
        await h.respond(m.id!, r);
      }
    } else if (m.method === 'analysis/run') {
      await h.send('analysis/didChange', { state: 'running', analysis: null });
      const next = makeAnalysis({ withHashes: m.params.computeHashes === true });
      await h.send('analysis/didChange', { state: 'done', analysis: m.params.timeEmbed === 'IN00' ? inIn00(next) : next });
    } else if (m.method === 'export/save') {
      await h.respond(m.id!, { saved: true, path: `/tmp/${m.params.suggestedName}` });
    }
  };
}

describe('analysis views (headless chromium, strict CSP)', { skip }, () => {
  let browser: Browser;
  let h: Harness;
  let failRecipe = false;
  let poorRecipe = false;
  const analysis = makeAnalysis();
  const block = analysis.breakdowns.block!;

  before(async () => {
    browser = await launchBrowser();
    // these tests start on pair 0-1 (the panel's own first pair, the nearest that differs, is tested in compare.test.ts)
    h = await openWebview(browser, { view: 'compare', initialState: { pair: { a: 0, b: 1 } }, respond: analysisHost({ failRecipe: () => failRecipe, poorRecipe: () => poorRecipe }) });
    await h.page.locator('#breakdown-table').waitFor({ timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
  });

  test('status: "Analysing…" while running, hidden when done; the notes listed', async () => {
    assert.ok(await h.page.locator('#analysis-status').isHidden());
    assert.match(await h.page.locator('#analysis-notes').innerText(), /file hashes not computed/);
    await h.send('analysis/didChange', { state: 'running', analysis: null });
    await waitFor(async () => h.page.locator('#analysis-status').isVisible(), 'status shown');
    assert.match(await h.page.locator('#analysis-status').innerText(), /^Analysing…/);
    assert.ok(await h.page.locator('#breakdown-table').isVisible(), 'the previous results stay while a run goes on');
    await h.send('analysis/didChange', { state: 'done', analysis: makeAnalysis({ withHashes: false }) });
    await waitFor(async () => h.page.locator('#analysis-status').isHidden(), 'status hidden');
  });

  test('breakdown: the selected pair (0, 1) per UNet block: exact L2, share, changed keys; null is n/a', async () => {
    const p = 0;
    const total = block.l2.reduce((s, row) => s + (row[p] ?? 0) ** 2, 0);
    const in04 = block.groups.indexOf('IN04');
    assert.deepEqual(await cells(h, '#breakdown-table tr[data-group="IN04"]'), [
      'IN04',
      fullPrecision(block.l2[in04]![p]!),
      percent(block.l2[in04]![p]! ** 2 / total),
      `${block.changedKeys[in04]![p]} / ${block.keys![in04]![p]}`,
    ]);
    assert.deepEqual(await cells(h, '#breakdown-table tr[data-group="BASE"]'), ['BASE', 'n/a', 'n/a', '0 / 0']);
    assert.equal(await h.page.locator('#breakdown-table tbody tr').count(), BLOCK_GROUPS.length);
    assert.equal(await h.page.locator('#breakdown-table tr[data-group="BASE"] td').first().getAttribute('class'), 'md-num md-na');
    assert.match(await h.page.locator('#breakdown-convention').innerText(), /time_embed\/label_emb in BASE \(sd-mecha convention\)/);
    assert.ok(await h.page.locator('#breakdown-bars canvas').first().isVisible());
    assert.ok(await h.page.locator('#breakdown-heatmap canvas').first().isVisible());
    assert.match(await h.page.locator('#breakdown-heatmap-note').innerText(), /^10 pairs/);
    assert.match(await h.page.locator('#breakdown-bars-card .md-card-title').innerText(), /^Selected pair: #0 base .* vs #1 merge/);
  });

  test('breakdown: the scheme switch shows VAE parts; the copy pair is 0, not n/a', async () => {
    await choose(h, 'breakdown-scheme', 'VAE parts');
    await h.page.locator('#breakdown-table tr[data-group="decoder"]').waitFor();
    const vae = analysis.breakdowns.vae!;
    assert.equal(await h.page.locator('#breakdown-table tbody tr').count(), 4);
    const dec = vae.groups.indexOf('decoder');
    assert.equal((await cells(h, '#breakdown-table tr[data-group="decoder"]'))[1], fullPrecision(vae.l2[dec]![0]!));
    assert.equal((h.states.at(-1) as any).analysis.breakdownScheme, 'vae', 'scheme persisted');
    await h.send('focus/didChange', { pair: { a: 0, b: 3 } });
    await waitFor(async () => (await cells(h, '#breakdown-table tr[data-group="decoder"]'))[1] === '0', 'copy pair');
    assert.equal((await cells(h, '#breakdown-table tr[data-group="decoder"]'))[2], 'n/a', 'no share when the pair has no distance at all');
    await choose(h, 'breakdown-scheme', 'UNet blocks');
    await h.page.locator('#breakdown-table tr[data-group="IN04"]').waitFor();
  });

  test('breakdown: selecting another pair updates the bars and the table', async () => {
    const canvasData = () => h.page.locator('#breakdown-bars canvas').first().evaluate((c: any) => c.toDataURL());
    await h.send('focus/didChange', { pair: { a: 0, b: 1 } });
    await waitFor(async () => (await cells(h, '#breakdown-table tr[data-group="BASE"]'))[1] === 'n/a', 'pair 0-1');
    const before = await canvasData();
    await h.send('focus/didChange', { pair: { a: 2, b: 0 } });
    const p = 1; // (0, 2)
    const in04 = block.groups.indexOf('IN04');
    await waitFor(async () => (await cells(h, '#breakdown-table tr[data-group="IN04"]'))[1] === fullPrecision(block.l2[in04]![p]!), 'pair 0-2 in the table');
    assert.equal((await cells(h, '#breakdown-table tr[data-group="BASE"]'))[1], fullPrecision(block.l2[0]![p]!));
    assert.match(await h.page.locator('#breakdown-bars-card .md-card-title').innerText(), /#0 base .* vs #2 finetune-a/);
    await waitFor(async () => (await canvasData()) !== before, 'bars redrawn');
  });

  test('breakdown: clicking a heatmap cell selects that pair in the whole panel', async () => {
    const hm = h.page.locator('#breakdown-heatmap');
    await hm.scrollIntoViewIfNeeded();
    await waitFor(async () => (await hm.getAttribute('data-cell-step')) !== null, 'cell geometry');
    const [ox, oy] = (await hm.getAttribute('data-cell-origin'))!.split(',').map(Number) as [number, number];
    const [sx, sy] = (await hm.getAttribute('data-cell-step'))!.split(',').map(Number) as [number, number];
    // column 5 = pair (1, 3), row 4 = IN03
    await hm.click({ position: { x: ox + 5 * sx, y: oy + 4 * sy } });
    const focus = await h.waitForPosted((m) => m.method === 'focus/changed' && m.params.pair?.a === 1 && m.params.pair?.b === 3);
    assert.deepEqual(focus.params.pair, { a: 1, b: 3 });
    await h.waitForPosted((m) => m.method === 'layers/get' && m.params.a === 1 && m.params.b === 3);
    const in03 = block.groups.indexOf('IN03');
    await waitFor(async () => (await cells(h, '#breakdown-table tr[data-group="IN03"]'))[1] === fullPrecision(block.l2[in03]![5]!), 'table of pair 1-3');
    assert.match(await h.page.locator('#pair-title').innerText(), /#1 merge .* vs #3 copy-of-base/);
  });

  test('breakdown: switching time_embed placement sends analysis/run and shows the new convention', async () => {
    await choose(h, 'breakdown-time-embed', 'IN00');
    const run = await h.waitForPosted((m) => m.method === 'analysis/run' && m.params.timeEmbed === 'IN00');
    assert.deepEqual(run.params, { timeEmbed: 'IN00' });
    await waitFor(async () => /in IN00 \(SuperMerger\/meh convention\)/.test(await h.page.locator('#breakdown-convention').innerText()), 'IN00 convention');
    await choose(h, 'breakdown-time-embed', 'BASE');
    await h.waitForPosted((m) => m.method === 'analysis/run' && m.params.timeEmbed === 'BASE');
    await waitFor(async () => /in BASE \(sd-mecha/.test(await h.page.locator('#breakdown-convention').innerText()), 'BASE again');
  });

  test('recipe: the precomputed estimate of a model: weights with 4 decimals, residuals, identifiable flag', async () => {
    await choose(h, 'recipe-model', '#1 merge');
    const r = recipe(1, [0, 2], 'nearest');
    await waitFor(async () => (await h.page.locator('#recipe-table').getAttribute('data-parents')) === '0,2', 'estimate of #1');
    assert.equal(await h.page.locator('#recipe-table').getAttribute('data-parents-from'), 'nearest');
    assert.match(await h.page.locator('#recipe-parents-line').innerText(), /chosen automatically.*P0 = #0 base.*P1 = #2 finetune-a/s);
    const in04 = r.blocks.find((f) => f.group === 'IN04')!;
    const row = await cells(h, '#recipe-table tr[data-group="IN04"]');
    assert.deepEqual(row.slice(0, 3), ['IN04', in04.weights[0]!.toFixed(4), in04.weights[1]!.toFixed(4)]);
    assert.equal(row[4], in04.relResidual.toFixed(4));
    assert.equal(row[5], 'yes');
    assert.equal((await cells(h, '#recipe-table tr[data-group="IN02"]'))[5], 'no', 'not identifiable where the parents are equal');
    assert.equal((await cells(h, '#recipe-table tr[data-group="UNET"]'))[1], r.overall!.weights[0]!.toFixed(4));
    assert.equal((await cells(h, '#recipe-table tr[data-group="VAE"]'))[1], '0.5000');
    assert.equal((await cells(h, '#recipe-table tr[data-group="TE"]'))[4], '0.0021 (exact)');
    assert.ok(await h.page.locator('#recipe-chart canvas').first().isVisible());
    assert.match(await h.page.locator('#recipe-notes').innerText(), /block IN03/);
  });

  test('recipe: fitting with chosen parents sends recipe/get and shows the answer; errors are shown', async () => {
    const box = (i: number) => h.page.locator(`#recipe-parents input[value="${i}"]`);
    assert.equal(await box(1).count(), 0, 'the model itself is not a parent candidate');
    assert.ok(await box(0).isChecked());
    await box(2).uncheck();
    assert.equal(await h.page.locator('#recipe-fit').getAttribute('disabled'), '', 'one parent is not enough');
    await box(3).check();
    await box(4).check();
    await h.page.locator('#recipe-fit').click();
    const req = await h.waitForPosted((m) => m.method === 'recipe/get');
    assert.deepEqual(req.params, { model: 1, parents: [0, 3, 4] });
    await waitFor(async () => (await h.page.locator('#recipe-table').getAttribute('data-parents-from')) === 'user', 'user fit shown');
    const fit = recipe(1, [0, 3, 4], 'user');
    const in04 = fit.blocks.find((f) => f.group === 'IN04')!;
    assert.deepEqual((await cells(h, '#recipe-table tr[data-group="IN04"]')).slice(0, 4), ['IN04', ...in04.weights.map((w) => w.toFixed(4))]);
    assert.match(await h.page.locator('#recipe-parents-line').innerText(), /chosen by you/);

    failRecipe = true;
    await box(4).uncheck();
    await h.page.locator('#recipe-fit').click();
    await waitFor(async () => (await h.page.locator('#recipe-status').innerText()).includes('Could not fit the recipe: parents <b>#3</b> and #4 have no comparable UNet'), 'error shown');
    assert.match((await h.page.locator('#recipe-status').getAttribute('class')) ?? '', /md-error/);
    assert.equal(await h.page.locator('#recipe-status b').count(), 0);
    failRecipe = false;
  });

  test('recipe: parents that do not explain the model get no chart, a verdict naming the threshold instead', async () => {
    const box = (i: number) => h.page.locator(`#recipe-parents input[value="${i}"]`);
    poorRecipe = true;
    await box(4).check();
    await h.page.locator('#recipe-fit').click();
    await waitFor(async () => (await h.page.locator('#recipe-verdict').getAttribute('data-fit')) === 'no', 'poor fit verdict');
    const verdict = await h.page.locator('#recipe-verdict').innerText();
    assert.match(verdict, /^Does not fit: the UNet's relative residual is 0\.8900, above 0\.5/);
    assert.ok(await h.page.locator('#recipe-chart-card').isHidden(), 'no chart of weights that mean nothing');
    assert.ok(await h.page.locator('#recipe-table').isVisible(), 'the numbers are still there');
    poorRecipe = false;
    await h.page.locator('#recipe-fit').click();
    await waitFor(async () => (await h.page.locator('#recipe-verdict').getAttribute('data-fit')) === 'yes', 'good fit verdict');
    assert.match(await h.page.locator('#recipe-verdict').innerText(), /^Fits: the UNet's relative residual is 0\.0012 \(exact\) \(at most 0\.5/);
    assert.ok(await h.page.locator('#recipe-chart-card').isVisible());
  });

  test('hashes: not computed yet: #hashes-compute sends analysis/run, the hashes and shared VAEs then show', async () => {
    assert.equal(await h.page.locator('#hashes-table').count(), 0);
    await h.page.locator('#hashes-compute').click();
    const run = await h.waitForPosted((m) => m.method === 'analysis/run' && m.params.computeHashes === true);
    assert.deepEqual(run.params, { computeHashes: true });
    await h.page.locator('#hashes-table').waitFor();
    const row0 = await cells(h, '#hashes-table tr[data-model="0"]');
    const s0 = sha(0);
    assert.deepEqual(row0, ['0', MODEL_FILES[0]!, `${s0.slice(0, 12)}…`, s0.slice(0, 10).toUpperCase(), s0.slice(20, 28), sha(20).slice(0, 12).toUpperCase()]);
    assert.equal(await h.page.locator('#hashes-table tr[data-model="0"] td').nth(1).getAttribute('title'), s0, 'full SHA-256 in the title');
    assert.equal((await cells(h, '#hashes-table tr[data-model="4"]'))[5], 'n/a', 'no AutoV3 for a .ckpt');
    assert.equal(await h.page.locator('#shared-table tbody tr').count(), 2);
    const members = await h.page.locator('#shared-table tbody tr').first().locator('li').allInnerTexts();
    assert.deepEqual(members, [0, 2, 3].map((i) => `${MODEL_FILES[i]} (vae)`));
    assert.equal(await h.page.locator('#hashes-compute').count(), 0);
  });

  test('lineage: declared parents with their match, nearest UNets, confirmed, the estimate', async () => {
    const row1 = await cells(h, '#lineage-table tr[data-model="1"]');
    assert.match(row1[1]!, /recipe: webui, Weighted sum, alpha 0\.3/);
    assert.match(row1[1]!, /A: base <script>.*→ #0 base .* \(by sha256\)/);
    assert.match(row1[1]!, /B: finetune-a → #2 finetune-a\.safetensors \(by name\)/);
    assert.match(row1[2]!, /#0 base .* \(L2 6\.9\)/);
    assert.equal(row1[3], 'confirmed: #0, #2');
    assert.equal(row1[4], '#0 0.7012, #2 0.2988 (rel. residual 0.0015 (exact))');
    const row4 = await cells(h, '#lineage-table tr[data-model="4"]');
    assert.ok(row4[1]!.includes(`training base: ${HOSTILE_PARENT} (not in this folder)`), 'hostile declared name as text');
    assert.match((await cells(h, '#lineage-table tr[data-model="0"]'))[2]!, /bit-identical UNet: #3/);
  });

  test('health: statuses per model, findings, problem count in the title', async () => {
    assert.equal(await h.page.locator('#health-card .md-card-title').innerText(), 'Health: 2 problems');
    assert.equal(await h.page.locator('#health-table tr[data-model="4"]').getAttribute('data-status'), 'error');
    assert.equal(await h.page.locator('#health-table tr[data-model="2"]').getAttribute('data-status'), 'warning');
    assert.equal(await h.page.locator('#health-table tr[data-status="ok"]').count(), 3);
    const findings = await h.page.locator('#health-table tr[data-model="4"] li').allInnerTexts();
    assert.match(findings[0]!, /^position_ids corrupt: 12 of 77/);
    assert.equal(findings.length, 2);
    assert.ok((await h.page.locator('#health-table tr[data-model="2"]').innerText()).includes('model.diffusion_model.<img src=x'));
  });

  test('family: dendrogram and spanning tree per component', async () => {
    assert.ok(await h.page.locator('#dendrogram canvas').first().isVisible());
    assert.ok(await h.page.locator('#mst-chart canvas').first().isVisible());
    const rows = await h.page.locator('#mst-table tbody tr').evaluateAll((trs: any[]) => trs.map((tr) => [...tr.children].map((c: any) => c.innerText)));
    assert.equal(rows.length, 4);
    // six significant digits, the exact value on hover
    assert.deepEqual(rows[1]!.slice(1), ['→', '#2 finetune-a.safetensors', '4.12346']);
    assert.equal(await h.page.locator('#mst-table tbody tr').nth(1).locator('td').last().getAttribute('title'), '4.123456');
    assert.equal(rows[0]![3], '0');
    await choose(h, 'family-component', 'te');
    await waitFor(async () => (await h.page.locator('#mst-table tbody tr').count()) === 3, 'te tree');
    assert.equal((h.states.at(-1) as any).analysis.familyComponent, 'te');
  });

  test('exports: SVG with escaped names, PNG and CSV from the analysis charts', async () => {
    await h.page.locator('#dendrogram-card vscode-button[title="Export as SVG"]').click();
    const svg = await h.waitForPosted((m) => m.method === 'export/save' && m.params.suggestedName === 'dendrogram-te.svg');
    assert.ok(svg.params.data.startsWith('<svg'));
    assert.ok(svg.params.data.includes('#0 base &lt;script'), 'names escaped in the SVG');
    assert.doesNotMatch(svg.params.data, /<script|<img/);
    await h.page.locator('#breakdown-bars-card vscode-button[title="Export as PNG"]').click();
    const png = await h.waitForPosted((m) => m.method === 'export/save' && m.params.kind === 'png' && m.params.suggestedName.startsWith('breakdown-block'));
    assert.ok(png.params.data.startsWith('iVBORw0KGgo'));
    await h.page.locator('#breakdown-heatmap-card vscode-button[title="Export the data as CSV"]').click();
    const csv = await h.waitForPosted((m) => m.method === 'export/save' && m.params.suggestedName === 'breakdown-block-all-pairs.csv');
    const lines = csv.params.data.trim().split('\r\n');
    assert.equal(lines[0], 'a,b,group,l2,changed_keys');
    assert.equal(lines.length, 1 + 10 * BLOCK_GROUPS.length);
    assert.equal(lines[1], `0,1,BASE,,0`, 'n/a is an empty field, not 0');
    await h.page.locator('#recipe-chart-card vscode-button[title="Export the data as CSV"]').click();
    const rcsv = await h.waitForPosted((m) => m.method === 'export/save' && m.params.kind === 'csv' && m.params.suggestedName.startsWith('recipe-1'));
    assert.match(rcsv.params.data, /^group,w_P0_model0,w_P1_model2,residual,rel_residual,identifiable,keys\r\nUNET,0\.7,0\.3,/);
  });

  test('markup in file names, declared names and findings stays inert text', async () => {
    assert.equal(await h.page.evaluate(() => (globalThis as any).__pwned), undefined);
    const counts = await h.page.evaluate(() => {
      const d = (globalThis as any).document;
      return { scripts: d.querySelectorAll('script').length, imgs: d.querySelectorAll('img').length, b: d.querySelectorAll('b').length, svgs: d.querySelectorAll('#analysis svg').length };
    });
    assert.deepEqual(counts, { scripts: 2, imgs: 0, b: 0, svgs: 0 });
  });

  test('screenshots, dark and light: the analyses in each theme, the UNet family drawn', async () => {
    await choose(h, 'family-component', 'unet');
    await h.page.mouse.move(1, 1);
    assert.ok(await h.page.locator('#dendrogram canvas').first().isVisible(), 'the UNet dendrogram is drawn');
    assert.equal(await bodyBackground(h.page), cssRgb(THEMES.dark.vars['--vscode-editor-background']!));
    const dark = await h.page.locator('#analysis').screenshot({ path: artifactPath('analysis-dark.png') });
    await h.setTheme('light');
    await waitFor(async () => (await bodyBackground(h.page)) === cssRgb(THEMES.light.vars['--vscode-editor-background']!), 'light background', 5000);
    await h.page.waitForTimeout(300);
    const light = await h.page.locator('#analysis').screenshot({ path: artifactPath('analysis-light.png') });
    assert.ok(dark.length > 1000 && light.length > 1000, 'two images');
    assert.ok(!dark.equals(light), 'the light theme re-colours the analyses');
    await h.setTheme('dark');
  });

  test('no console errors, no page errors, no CSP violations', async () => {
    assert.deepEqual(h.pageErrors, []);
    assert.deepEqual(h.consoleErrors, []);
    assert.deepEqual(await h.cspViolations(), []);
  });
});

describe('analysis views: static report and failures', { skip }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('static: no recipe fit, hash or time_embed controls; a note says where to compute them', async () => {
    const h = await openWebview(browser, { view: 'compare', respond: analysisHost({ isStatic: true }) });
    await h.page.locator('#recipe-table').waitFor({ timeout: 15_000 });
    for (const sel of ['#recipe-parents', '#recipe-fit', '#hashes-compute', '#breakdown-time-embed']) assert.equal(await h.page.locator(sel).count(), 0, `${sel} is not offered`);
    const notes = await h.page.locator('.md-static-note').allInnerTexts();
    assert.ok(notes.includes('Computed when the report was written; choose other parents in VS Code or with `modeldiff recipe`.'));
    assert.ok(notes.some((n) => n.includes('modeldiff hashes')));
    assert.ok(notes.some((n) => n.includes('--time-embed IN00')));
    // everything else is there
    assert.ok(await h.page.locator('#breakdown-table tr[data-group="IN04"]').isVisible());
    assert.equal(await h.page.locator('#health-table tr').count(), 1 + MODEL_FILES.length);
    assert.ok(!h.posted.some((m) => m.method === 'recipe/get' || m.method === 'analysis/run'));
    assert.deepEqual(h.pageErrors, []);
    assert.deepEqual(await h.cspViolations(), []);
    await h.page.close();
  });

  test('failed: the error is shown, nothing else', async () => {
    const h = await openWebview(browser, {
      view: 'compare',
      respond: async (m, hh) => {
        if (m.method === 'ready') {
          await hh.send('result/didChange', { result: makeResult(), outDir: '' });
          await hh.send('analysis/didChange', { state: 'failed', analysis: null, error: 'layers.bin is <i>missing</i>' });
        }
        if (m.method === 'layers/get') await hh.respond(m.id!, layerRows(m.params.a, m.params.b));
      },
    });
    await waitFor(async () => (await h.page.locator('#analysis-status').isVisible()) && (await h.page.locator('#analysis-status').innerText()).includes('layers.bin is <i>missing</i>'), 'error shown');
    assert.match((await h.page.locator('#analysis-status').getAttribute('class')) ?? '', /md-error/);
    assert.ok(await h.page.locator('#breakdown-card').isHidden());
    assert.equal(await h.page.locator('#analysis i').count(), 0);
    assert.deepEqual(h.pageErrors, []);
    await h.page.close();
  });

  test('an analysis sent before the result is shown once the result arrives', async () => {
    const h = await openWebview(browser, {
      view: 'compare',
      respond: async (m, hh) => {
        if (m.method === 'ready') {
          await hh.send('analysis/didChange', { state: 'done', analysis: makeAnalysis() });
          await hh.send('result/didChange', { result: makeResult(), outDir: '' });
        }
        if (m.method === 'layers/get') await hh.respond(m.id!, layerRows(m.params.a, m.params.b));
      },
    });
    await h.page.locator('#hashes-table tr[data-model="3"]').waitFor({ timeout: 15_000 });
    assert.ok(await h.page.locator('#breakdown-table tr[data-group="IN04"]').isVisible());
    assert.deepEqual(h.pageErrors, []);
    await h.page.close();
  });
});
