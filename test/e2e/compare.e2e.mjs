// Scenario "compare": Explorer -> Compare Models on a folder of synthetic models, the comparison panel's content,
// the Models tree, markup in model files rendered inert, a reload re-opening the last result, and Cancel.
import fs from 'node:fs';
import path from 'node:path';
import {
  Checks, MANIFEST, answerFileDialog, deepTextFn, exact, injectedFn, explorerContext, runFromPalette, extensionLog, launch, log, notificationTexts, openWorkbench, pollFrame, shot, treeRow, treeRows, webviewFrame,
} from './lib.mjs';

const c = new Checks('compare');
const { page, watch, close } = await launch();
const Z = MANIFEST.zoo;
const H = MANIFEST.hostile;
const idx = (file) => Z.models.indexOf(file); // the engine orders models by file name, as the manifest lists them

async function openModelsView() {
  const pane = page.locator('.pane:has(.pane-header:has-text("Models"))');
  if (!(await pane.isVisible().catch(() => false))) {
    await page.locator('.activitybar .action-item a[aria-label^="modeldiff"], .activitybar .action-item [aria-label^="modeldiff"]').first().click();
  }
  await pane.waitFor({ timeout: 15_000 });
}

async function expand(label) {
  const row = treeRow(page, label);
  await row.waitFor({ timeout: 15_000 });
  if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
  await page.waitForTimeout(300);
}

try {
  await openWorkbench(page);

  // 1) Explorer -> Compare Models on zoo/
  await explorerContext(page, 'zoo', 'Compare Models', { screenshot: '01-explorer-context-menu' });
  const { frame } = await webviewFrame(page, 'compare', null, 60_000);
  c.check('the comparison panel opened (webview with data-view=compare)', !!frame);
  await c.step('panel content', async () => {
  if (!frame) throw new Error('no compare webview');
  const done = await pollFrame(frame, () => !!document.querySelector('#heatmap-card canvas') && document.querySelectorAll('#matrix-table td[data-a]').length > 0, null, 90_000);
  c.check('heatmap canvas present after the comparison', done === true, JSON.stringify(done));
  await page.waitForTimeout(800);
  await shot(page, '02-compare-panel');

  const cells = await frame.evaluate(() => [...document.querySelectorAll('#matrix-table td[data-a]')].map((td) => ({ a: +td.dataset.a, b: +td.dataset.b, kind: td.dataset.kind, status: td.dataset.status, title: td.title, text: td.textContent })));
  const n = Z.models.length;
  c.check(`matrix is ${n}x${n} (the broken file left out)`, cells.length === n * n, `${cells.length} cells`);
  const [ia, ib] = Z.identicalPair.map(idx);
  const ident = cells.find((x) => x.a === ia && x.b === ib);
  c.check(`${Z.identicalPair.join(' / ')} shown as identical`, ident && /identical/.test(`${ident.kind} ${ident.status}`), JSON.stringify(ident));
  const changed = cells.find((x) => x.a === idx('base.safetensors') && x.b === idx('ft_unet.safetensors'));
  c.check('a changed pair is not marked identical', changed && !/identical/.test(`${changed.kind} ${changed.status}`), JSON.stringify(changed));

  // hover the network, then a heatmap cell: echarts and vis-network tooltips must not need inline styles
  for (const [sel, fx, fy] of [['#network canvas', 0.5, 0.3], ['#heatmap-card canvas', 0.65, 0.6]]) {
    const box = await frame.locator(sel).first().boundingBox().catch(() => null);
    if (box) {
      await page.mouse.move(box.x + box.width * fx - 5, box.y + box.height * fy - 5);
      await page.waitForTimeout(200);
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 4 });
      await page.waitForTimeout(500);
    }
  }
  const tip = await pollFrame(frame, () => {
    const el = document.querySelector('.md-echarts-tooltip');
    if (!el) return false;
    const cs = getComputedStyle(el);
    return cs.display !== 'none' && cs.visibility !== 'hidden' && Number(cs.opacity) > 0 && (el.textContent ?? '').trim() ? el.textContent : false;
  }, null, 5_000);
  c.check('hovering a heatmap cell shows a tooltip with its values', typeof tip === 'string', JSON.stringify(tip));
  await shot(page, '02b-heatmap-tooltip');
  const text = await frame.evaluate(deepTextFn);
  c.check('the unreadable file is listed in the panel', text.includes(Z.broken), text.slice(0, 400));
  });
  const chanLog = extensionLog();
  c.check('the unreadable file is logged in the "modeldiff" output channel', chanLog.includes(Z.broken), chanLog.slice(-800));

  // 1b) Export Report copies result.json, model_map_v2.json, a CSV and the HTML report to a chosen folder.
  await c.step('export report', async () => {
    await runFromPalette(page, 'modeldiff: Export Report...');
    await answerFileDialog(page, MANIFEST.exportDir, 'modeldiff: export', 'Export Here');
    const files = ['result.json', 'model_map_v2.json', 'modeldiff_pairs.csv', 'modeldiff_report.html'].map((f) => path.join(MANIFEST.exportDir, f));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !files.every((f) => fs.existsSync(f))) await page.waitForTimeout(250);
    const csv = fs.existsSync(files[2]) ? fs.readFileSync(files[2], 'utf8') : '';
    const html = fs.existsSync(files[3]) ? fs.readFileSync(files[3], 'utf8') : '';
    const data = html.match(/<script type="application\/json" id="modeldiff-report-data">([\s\S]*?)<\/script>/);
    const report = data ? JSON.parse(data[1]) : null;
    c.check(
      'Export Report also writes a self-contained HTML report with the result and the analyses',
      !!report && report.result.models.length === Z.models.length && !!report.analysis && report.analysis.health.length === Z.models.length && /connect-src 'none'/.test(html),
      report ? `models ${report.result.models.length}, analysis ${!!report.analysis} ${report.analysisError ?? ''}` : html.slice(0, 200),
    );
    c.check(
      'Export Report writes result.json, model_map_v2.json and the pairs CSV',
      files.every((f) => fs.existsSync(f)) && csv.startsWith('model_a,model_b,component,status') && csv.includes(`${Z.identicalPair[0]},${Z.identicalPair[1]},unet,identical`),
      files.map((f) => `${path.basename(f)}:${fs.existsSync(f)}`).join(' ') + ' ' + csv.slice(0, 200),
    );
    await page.keyboard.press('Escape');
  });

  // 1c) The host analyses the result and the panel shows it: breakdowns, merge recipes (3+ models), health.
  await c.step('analysis views', async () => {
    if (!frame) throw new Error('no compare webview');
    const n = Z.models.length;
    const seen = await pollFrame(frame, () => {
      const sec = document.querySelector('#analysis');
      const box = sec?.getBoundingClientRect();
      const visible = !!sec && !!box && box.width > 0 && box.height > 0 && getComputedStyle(sec).visibility !== 'hidden';
      const health = [...document.querySelectorAll('#health-table tr[data-model]')].map((tr) => ({ model: tr.dataset.model, status: tr.dataset.status, text: tr.textContent }));
      const groups = document.querySelectorAll('#breakdown-table tr[data-group]').length;
      if (!visible || !health.length || !groups) return false;
      return { health, groups, recipe: !!document.querySelector('#recipe-table'), status: document.querySelector('#analysis-status')?.textContent ?? '' };
    }, null, 60_000);
    c.check('the panel shows the analysis section (#analysis visible, health and breakdown rows)', !!seen && !seen.error, JSON.stringify(seen));
    if (!seen || seen.error) return;
    c.check(`the health table has a row per model (${n})`, seen.health.length === n, JSON.stringify(seen.health));
    const unhealthy = seen.health.find((h) => Number(h.model) === idx(Z.unhealthy));
    c.check(`${Z.unhealthy} is flagged (no VAE)`, unhealthy?.status === 'warning', JSON.stringify(unhealthy));
    c.check('the breakdown table lists the merge blocks', seen.groups > 0, String(seen.groups));
    c.check(`the merge-recipe table is shown (${n} models)`, seen.recipe === true);
    const written = /analysed (\S+) in [\d.]+ s/.exec(extensionLog());
    c.check('analysis.json is written beside result.json', !!written && fs.existsSync(path.join(written[1], 'analysis.json')) && fs.existsSync(path.join(written[1], 'result.json')), written?.[1]);
    const scrollTo = (sel) => frame.evaluate((x) => document.querySelector(x)?.scrollIntoView({ block: 'start' }), sel).catch(() => {});
    // show the breakdown of a pair that differs: base vs the 0.7/0.3 merge
    await frame.evaluate(([a, b]) => document.querySelector(`#matrix-table td[data-a="${a}"][data-b="${b}"]`)?.click(), [idx(Z.models[0]), idx(Z.merged.file)]);
    const bars = await pollFrame(frame, () => [...document.querySelectorAll('#breakdown-table tr[data-group]')].some((tr) => tr.children[1]?.textContent?.trim() !== '0'), null, 10_000);
    c.check('selecting a changed pair fills the per-block breakdown', bars === true);
    await scrollTo('#analysis');
    await page.waitForTimeout(600);
    await shot(page, '13-analysis-views');
    await scrollTo('#health-card');
    await page.waitForTimeout(400);
    await shot(page, '13b-analysis-health');

    // recipe/get: the merge fitted from the parents ticked in the panel (the host estimates, the panel shows)
    const merged = idx(Z.merged.file);
    const parents = Z.merged.parents.map(idx);
    await frame.evaluate((m) => {
      const sel = document.querySelector('#recipe-model');
      sel.value = String(m);
      sel.dispatchEvent(new Event('change', { bubbles: true }));
    }, merged);
    await page.waitForTimeout(300);
    await frame.evaluate((ps) => {
      for (const box of document.querySelectorAll('#recipe-parents input[type="checkbox"]')) {
        box.checked = ps.includes(Number(box.value));
        box.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }, parents);
    await frame.locator('#recipe-fit').click();
    const fitted = await pollFrame(frame, (ps) => {
      const t = document.querySelector('#recipe-table');
      if (t?.dataset.parentsFrom !== 'user' || t.dataset.parents !== ps.join(',')) return false;
      const row = t.querySelector('tr[data-group="UNET"]');
      return row ? [...row.querySelectorAll('td')].slice(0, 2).map((td) => Number.parseFloat(td.textContent ?? '')) : false;
    }, parents, 20_000);
    const [w0, w1] = Array.isArray(fitted) ? fitted : [];
    c.check(`recipe/get: ${Z.merged.file} fitted from the ticked parents is ${Z.merged.weights.join(' / ')}`, Math.abs(w0 - Z.merged.weights[0]) < 0.01 && Math.abs(w1 - Z.merged.weights[1]) < 0.01, JSON.stringify(fitted));
  });

  // 1d) "Compute Model Hashes" hashes every file (into the hash cache) and analyses again with the hashes.
  await c.step('compute hashes', async () => {
    if (!frame) throw new Error('no compare webview');
    await runFromPalette(page, 'modeldiff: Compute Model Hashes');
    const hashed = await pollFrame(
      frame,
      (n) => {
        const rows = [...document.querySelectorAll('#hashes-table tr[data-model]')];
        return rows.length === n && rows.every((tr) => /[0-9A-F]{10}/.test(tr.textContent ?? '')) ? rows.length : false;
      },
      Z.models.length,
      60_000,
    );
    c.check(`Compute Model Hashes: the panel lists the hashes of all ${Z.models.length} models`, hashed === Z.models.length, JSON.stringify(hashed));
    c.check('the output channel records the analysis with hashes', /analysed \S+ in [\d.]+ s \(time_embed BASE, with hashes\)/.test(extensionLog()), extensionLog().slice(-600));

    // analysis/run from the panel: another time_embed placement is analysed again (time_embed joins IN00)
    await frame.evaluate(() => {
      const sel = document.querySelector('#breakdown-time-embed');
      sel.value = 'IN00';
      sel.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const groups = await pollFrame(frame, () => {
      const g = [...document.querySelectorAll('#breakdown-table tr[data-group]')].map((tr) => tr.dataset.group);
      return g.length && !g.includes('BASE') ? g : false;
    }, null, 30_000);
    c.check('analysis/run with time_embed IN00: the breakdown has no BASE group any more', Array.isArray(groups) && groups.includes('IN00'), JSON.stringify(groups));
    c.check('the output channel records the analysis in IN00', /analysed \S+ in [\d.]+ s \(time_embed IN00\)/.test(extensionLog()), extensionLog().slice(-600));
  });

  // 2) The Models tree
  await openModelsView();
  await page.waitForTimeout(500);
  let rows = await treeRows(page);
  const labels = rows.map((r) => r.label);
  c.check('tree lists every model', Z.models.every((m) => labels.includes(m)), JSON.stringify(labels));
  c.check('tree has a Differences section and the unreadable file', labels.includes('Differences') && labels.includes('Could not read'), JSON.stringify(labels));
  await expand('base.safetensors');
  rows = await treeRows(page);
  const unet = rows.find((r) => r.label === 'unet');
  c.check('components show params, dtype mix and "identical to" markers', unet && /params/.test(unet.description) && /F16×/.test(unet.description) && unet.description.includes('identical to base_copy.safetensors'), JSON.stringify(unet));
  await expand('unet');
  rows = await treeRows(page);
  // a component of more than 100 tensors lists them in pages
  const firstPage = rows.find((r) => r.level === 3 && /^1–100$/.test(r.label));
  c.check('a long tensor list comes in pages of 100', !!firstPage && /^of \d+$/.test(firstPage.description), JSON.stringify(rows.slice(0, 6)));
  if (firstPage) {
    await expand('1–100');
    rows = await treeRows(page);
  }
  c.check('a component lists its tensors', rows.some((r) => r.label.startsWith('model.diffusion_model.') && /F16 \[/.test(r.description)), JSON.stringify(rows.slice(0, 12)));
  await treeRow(page, 'base.safetensors').locator('.monaco-tl-twistie').click();

  const identLabel = `${Z.identicalPair[0]} ↔ ${Z.identicalPair[1]}`;
  const identRow = (await treeRows(page)).find((r) => r.label === identLabel);
  c.check('Differences: the identical pair says "identical"', identRow?.description === 'identical', JSON.stringify(identRow));
  const mismLabel = `${Z.mismatchPair[0]} ↔ ${Z.mismatchPair[1]}`;
  await expand(mismLabel);
  await expand('Shape mismatches');
  rows = await treeRows(page);
  c.check('Differences: the shape mismatch key is listed', rows.some((r) => r.label === Z.mismatchKey && /vs/.test(r.description)), JSON.stringify(rows.filter((r) => r.level >= 3)));
  await shot(page, '03-models-tree');

  // 2b) With the analysis done, each model lists its Health (findings with severity icons) and declared parents.
  await c.step('tree health and declared parents', async () => {
    await treeRow(page, mismLabel).locator('.monaco-tl-twistie').click();
    await expand(Z.unhealthy);
    const healthRow = treeRow(page, 'Health');
    const shown = await healthRow.waitFor({ timeout: 30_000 }).then(() => true, () => false);
    c.check('a model lists a Health node once the analysis is done', shown, JSON.stringify(await treeRows(page)));
    await expand('Health');
    rows = await treeRows(page);
    const health = rows.find((r) => r.label === 'Health');
    c.check(`Health of ${Z.unhealthy} says "1 warning"`, health?.description === '1 warning', JSON.stringify(health));
    const findingIcon = await treeRow(page, 'missing for sd1: vae').evaluate((row) => [...row.querySelectorAll('[class*="codicon-"]')].map((e) => e.className).join(' ')).catch((e) => `error: ${e.message}`);
    c.check('the missing-VAE finding is listed with a warning icon', /codicon-warning/.test(findingIcon), findingIcon);
    const parentsLabel = `Declared parents: ${Z.merged.parents.join(', ')}`;
    await expand(Z.merged.file);
    await expand(parentsLabel);
    rows = await treeRows(page);
    const parents = rows.find((r) => r.label === parentsLabel);
    c.check('the merge lists its declared parents, found in the folder', parents?.description === `found: ${Z.merged.parents.join(', ')}`, JSON.stringify(parents));
    const parentRows = rows.filter((r) => Z.merged.parents.includes(r.label) && /by name/.test(r.description));
    c.check('each declared parent names the model it matched', parentRows.length === Z.merged.parents.length, JSON.stringify(rows.filter((r) => r.level >= 2)));
    await shot(page, '14-tree-health');
    for (const label of [Z.merged.file, Z.unhealthy]) await treeRow(page, label).locator('.monaco-tl-twistie').click();
  });

  // 3) Selecting a pair in the tree focuses the panel on it: the per-layer table lists the expected keys.
  await treeRow(page, mismLabel).click();
  await c.step('per-layer table', async () => {
  if (!frame) throw new Error('no compare webview');
  const table = await pollFrame(
    frame,
    ([a, b]) => {
      const title = document.querySelector('#pair-title')?.textContent ?? '';
      const rows = document.querySelector('#layers-table')?.textContent ?? '';
      return title.includes(a) && title.includes(b) && rows.includes('model.diffusion_model.') ? true : false;
    },
    Z.mismatchPair,
    30_000,
  );
  c.check('tree selection -> panel shows the per-layer table of the pair', table === true, JSON.stringify(table));
  const filtered = [];
  for (const key of Z.layerKeys) {
    await frame.locator('#layers-card input').first().fill(key);
    const ok = await pollFrame(frame, (k) => (document.querySelector('#layers-table')?.textContent ?? '').includes(k), key, 10_000);
    if (ok === true) filtered.push(key);
  }
  c.check(`per-layer table lists ${Z.layerKeys.join(', ')}`, filtered.length === Z.layerKeys.length, JSON.stringify(filtered));
    await frame.locator('#layers-card input').first().fill('input_blocks.0.');
    await frame.locator('#layers-card').scrollIntoViewIfNeeded().catch(() => {});
  });
  await page.waitForTimeout(500);
  await shot(page, '04-pair-layers');

  // 4) Markup and script in file names, metadata and tensor names stay text.
  await explorerContext(page, 'hostile', 'Compare Models');
  const hostile = await webviewFrame(page, 'compare', H.fileName, 60_000);
  c.check('hostile file name shown as text in the panel', !!hostile.frame);
  const hf = hostile.frame ?? frame;
  if (hf) {
  await hf.evaluate(() => document.querySelectorAll('#matrix-table td[data-a]')[1]?.click()).catch(() => {});
  await page.waitForTimeout(1500);
  await hf.locator('#layers-card input').first().fill('').catch(() => {}); // the filter is kept across results
  const keysShown = await pollFrame(hf, (k) => (document.querySelector('#layers-table')?.textContent ?? '').includes(k), H.tensorName2, 15_000);
  c.check('hostile tensor names listed as text in the per-layer table', keysShown === true, JSON.stringify(keysShown));
  const inj = await hf.evaluate(injectedFn);
  c.check('no element injected by names or metadata in the panel', inj.found.length === 0 && inj.pwned === null, JSON.stringify(inj));
  }
  c.check('no alert() ran', watch.dialogs.length === 0, JSON.stringify(watch.dialogs));
  await openModelsView();
  const hostileRow = await treeRow(page, H.fileName).waitFor({ timeout: 15_000 }).then(() => true, () => false);
  c.check('tree shows the hostile file name as a plain label', hostileRow, JSON.stringify((await treeRows(page)).map((r) => r.label)));
  await shot(page, '05-hostile-names-inert');

  // 5) Reload: the panel is restored (serializer) with the last result; the tree shows it too.
  await page.reload();
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  const restored = await webviewFrame(page, 'compare', H.fileName, 60_000);
  c.check('after a reload the panel re-opens the last result', !!restored.frame);
  if (restored.frame) {
    const again = await pollFrame(restored.frame, () => document.querySelectorAll('#health-table tr[data-model]').length || false, null, 30_000);
    c.check('after a reload the panel shows the stored analysis (analysis.json re-used)', again === 2 && /re-used analysis\.json/.test(extensionLog()), JSON.stringify(again));
  }
  await openModelsView().catch(() => {});
  const afterReload = await treeRow(page, H.fileName).waitFor({ timeout: 30_000 }).then(() => true, () => false);
  c.check('after a reload the tree shows the last result', afterReload);
  await shot(page, '06-after-reload');

  // 6) Cancel a long comparison from its progress notification.
  const big = MANIFEST.big;
  await explorerContext(page, 'big', 'Compare Models');
  const toast = page.locator('.notification-toast', { hasText: 'modeldiff: comparing big' }).first();
  await toast.waitFor({ timeout: 30_000 });
  const pctSeen = await (async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const t = await toast.innerText().catch(() => '');
      if (/[1-9]\d*% · .+ of .+ · ETA /.test(t)) return t;
      await page.waitForTimeout(200);
    }
    return null;
  })();
  c.check('progress notification shows percent, bytes and ETA', !!pctSeen && /ETA/.test(pctSeen), JSON.stringify(pctSeen));
  await shot(page, '07-progress-notification');
  const tCancel = Date.now();
  await toast.hover();
  await toast.locator('.monaco-button, .action-label', { hasText: 'Cancel' }).first().click();
  const cancelled = await page
    .locator('.notification-toast', { hasText: 'comparison cancelled' })
    .first()
    .waitFor({ timeout: 20_000 })
    .then(() => true, () => false);
  const cancelSecs = (Date.now() - tCancel) / 1000;
  c.check(`Cancel stops the comparison (${cancelSecs.toFixed(1)} s after the click)`, cancelled && cancelSecs < 15, (await notificationTexts(page)).join(' | '));
  await page.waitForTimeout(1000);
  const logAfter = extensionLog();
  c.check('the output channel records the cancellation', /comparison cancelled after/.test(logAfter), logAfter.slice(-600));
  c.check(`the ${big.models}-model run did not finish (no result for it)`, !new RegExp(`compared ${big.models} models`).test(logAfter));
  await shot(page, '08-cancelled');

  // 7) Explorer multi-selection of model files -> Compare Models.
  let lastCompared = H.fileName;
  await c.step('multi-selection', async () => {
    const row = (name) => page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact(name) }) }).first();
    if (!(await page.locator('.explorer-folders-view').isVisible().catch(() => false))) await page.locator('.activitybar .action-item [aria-label^="Explorer"]').first().click();
    const zoo = row('zoo');
    if ((await zoo.getAttribute('aria-expanded')) !== 'true') await zoo.click();
    for (let attempt = 1; ; attempt++) {
      await row('base_copy.safetensors').click();
      await page.waitForTimeout(500);
      await row('swapped_vae.safetensors').click({ modifiers: ['Control'] });
      await page.waitForTimeout(500);
      const sel = await Promise.all(['base_copy.safetensors', 'swapped_vae.safetensors'].map((n) => row(n).getAttribute('aria-selected')));
      if (sel.every((x) => x === 'true')) break;
      if (attempt === 3) throw new Error(`multi-selection did not hold: ${sel}`);
    }
    await explorerContext(page, 'swapped_vae.safetensors', 'Compare Models', { screenshot: '09-multiselect-context-menu' });
    const { frame: two } = await webviewFrame(page, 'compare', 'swapped_vae.safetensors', 60_000);
    const ok = two && (await pollFrame(two, () => {
      const t = document.body.innerText;
      return document.querySelectorAll('#matrix-table td[data-a]').length === 4 && t.includes('base_copy.safetensors') && !t.includes('ft_unet.safetensors') ? true : false;
    }, null, 30_000));
    if (c.check('multi-selected model files -> Compare Models compares exactly those', ok === true, JSON.stringify(ok))) lastCompared = 'swapped_vae.safetensors';
    await zoo.click();
  });

  // 8) Re-open Last Result after closing the panel.
  await c.step('re-open last result', async () => {
    await runFromPalette(page, 'View: Close All Editors');
    await page.waitForTimeout(800);
    await runFromPalette(page, 'modeldiff: Re-open Last Result');
    const again = await webviewFrame(page, 'compare', lastCompared, 30_000);
    const visible = await page.locator('.tabs-container .tab.active', { hasText: 'modeldiff' }).isVisible().catch(() => false);
    c.check('"Re-open Last Result" shows the last result again', !!again.frame && visible);
  });

  c.check('zero CSP violations reported by any frame', watch.csp.length === 0, JSON.stringify(watch.csp, null, 1));
} catch (e) {
  c.check('scenario ran to the end', false, e?.stack ?? e);
  await shot(page, 'compare-error');
} finally {
  log(`page errors: ${watch.pageErrors.length}`);
  await close();
}
c.finish();
