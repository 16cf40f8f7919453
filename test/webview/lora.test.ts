/**
 * The panel's "LoRA strengths in a checkpoint" card in headless chromium, on a real result: `modeldiff compare --base`
 * over a generated SD 1.5 folder (a base, a checkpoint merged from it with LoRAs A and B at 0.8 and 0.45, a base
 * without its text encoder, LoRAs of every kind and one that changes only the text encoder). The fake host answers
 * `lora/attribute` with the extension's own code (loraAttributionMessage.ts) and the attribution worker of dist/;
 * only the file dialog is played by the test (dismissed). Strengths shown are checked against a least-squares fit
 * built here in float64 from the oracle's dense deltas and weights.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { attributeInWorker } from '../../src/compute';
import { attributionMessage, resultLoraPaths, resultModelPath } from '../../src/extension/panels/loraAttributionMessage';
import type { CompareResult } from '../../src/shared/result';
import { kohyaLora, writeLora } from '../fixtures/lora';
import { base, customRecipe, layout, materialize } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';
import { loadModel } from '../oracle/float64';
import { oracleKeyDeltas, type DenseDelta, type OracleManifest } from '../oracle/lora';
import { makeSd15Fixture, T } from '../unit/lora/sd15Fixture';
import { choose, chromiumMissingReason, launchBrowser, openWebview, ROOT, waitFor, type Harness, type PostedMessage } from './harness';

const skip = chromiumMissingReason();
const CLI = join(ROOT, 'dist', 'cli.js');

interface Fixture {
  result: CompareResult;
  base: string;
  unetOnly: string;
  merged: string;
  /** LoRA file name -> path and manifest */
  loras: Map<string, { path: string; manifest: OracleManifest }>;
  teOnly: string;
}

function makeFolder(dir: string): Fixture {
  mkdirSync(join(dir, 'made'));
  const fx = makeSd15Fixture(join(dir, 'made'));
  const folder = join(dir, 'models');
  mkdirSync(folder);
  const loras = new Map<string, { path: string; manifest: OracleManifest }>();
  for (const f of [fx.A, fx.B, fx.C, fx.D, fx.E]) {
    const path = join(folder, basename(f.path));
    copyFileSync(f.path, path);
    loras.set(basename(path), { path, manifest: f.manifest });
  }
  // a LoRA of the text encoder alone: no weight of it is in a base without the text encoder
  const teOnly = join(folder, 'F_te_only.safetensors');
  const teModules = [T.teQ, T.teFc1].map((s, i) =>
    kohyaLora({ name: `lora_te_${s.path.replace(/\./g, '_')}`, target: { key: s.key, shape: [...s.shape] }, out: s.shape[0], in: s.shape[1], rank: 2, alpha: 2, dtype: 'F16', seed: 700 + i }),
  );
  loras.set(basename(teOnly), { path: teOnly, manifest: writeLora(teOnly, teModules, { ss_base_model_version: 'sd_v1' }) });
  const basePath = join(folder, 'base.safetensors');
  const merged = join(folder, 'merged.safetensors');
  copyFileSync(fx.base, basePath);
  copyFileSync(fx.merged, merged);
  // the same base with its diffusion model only (the fixture's base recipe, as sd15Fixture makes it)
  const baseRecipe = base(layout('sd15', { scale: 32 }), 1);
  const unetOnly = join(folder, 'base_unet_only.safetensors');
  materialize(customRecipe('unet only', baseRecipe.specs.filter((s) => s.name.startsWith('model.diffusion_model.')), (name) => baseRecipe.values(name)), unetOnly);

  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [CLI, 'compare', folder, '--base', basePath, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as CompareResult;
  return { result, base: resolve(basePath), unetOnly: resolve(unetOnly), merged: resolve(merged), loras, teOnly: resolve(teOnly) };
}

/**
 * Least squares of (checkpoint - base) by the LoRAs' dense deltas over the weights they change that both
 * checkpoints have, in float64, by Gaussian elimination on the normal equations (the LoRAs here are independent).
 */
function oracleStrengths(checkpoint: string, basePath: string, loras: Map<string, { path: string; manifest: OracleManifest }>): Map<string, number> {
  const ck = loadModel(checkpoint).tensors;
  const bs = loadModel(basePath).tensors;
  const names = [...loras.keys()];
  const deltas: Map<string, DenseDelta>[] = names.map((n) => {
    const d = oracleKeyDeltas(loras.get(n)!.path, loras.get(n)!.manifest);
    for (const k of [...d.keys()]) if (!bs.has(k) || !ck.has(k)) d.delete(k);
    return d;
  });
  const used = names.map((_, i) => deltas[i]!.size > 0);
  const idx = names.map((_, i) => i).filter((i) => used[i]);
  const k = idx.length;
  const G = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const b = new Array<number>(k).fill(0);
  const keys = new Set(idx.flatMap((i) => [...deltas[i]!.keys()]));
  for (const key of keys) {
    const c = ck.get(key)!.values;
    const a = bs.get(key)!.values;
    const D = c.map((x, j) => x - a[j]!);
    for (let x = 0; x < k; x++) {
      const dx = deltas[idx[x]!]!.get(key);
      if (!dx) continue;
      for (let j = 0; j < D.length; j++) b[x]! += dx.v[j]! * D[j]!;
      for (let y = 0; y < k; y++) {
        const dy = deltas[idx[y]!]!.get(key);
        if (!dy) continue;
        let s = 0;
        for (let j = 0; j < D.length; j++) s += dx.v[j]! * dy.v[j]!;
        G[x]![y]! += s;
      }
    }
  }
  // Gaussian elimination with partial pivoting
  const M = G.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < k; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let j = c; j <= k; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  const s = new Array<number>(k).fill(0);
  for (let r = k - 1; r >= 0; r--) {
    let v = M[r]![k]!;
    for (let j = r + 1; j < k; j++) v -= M[r]![j]! * s[j]!;
    s[r] = v / M[r]![r]!;
  }
  return new Map(idx.map((i, x) => [names[i]!, s[x]!]));
}

/** The card's rows as shown: LoRA file -> strength text and the remark cell. */
async function shownRows(h: Harness): Promise<Map<string, { strength: string; remark: string; model: string }>> {
  const rows = await h.page.locator('#lora-strength-table tbody tr').evaluateAll((trs: any[]) =>
    trs.map((tr) => ({ head: tr.querySelector('th').getAttribute('title'), cells: [...tr.querySelectorAll('td')].map((td: any) => td.innerText.trim()), model: tr.dataset.model })),
  );
  return new Map(rows.map((r: { head: string; cells: string[]; model: string }) => [r.head, { strength: r.cells[0]!, remark: r.cells[2]!, model: r.model }]));
}

const dir = tmpDir('webview-lora-');

/** The value of a vscode-single-select and the label of its selected option. */
async function selected(h: Harness, id: string): Promise<{ value: string; label: string }> {
  return h.page.locator(`#${id}`).evaluate((el: any) => ({ value: el.value, label: [...el.querySelectorAll('vscode-option')].find((o: any) => o.getAttribute('value') === el.value)?.textContent ?? '' }));
}

describe('LoRA strengths card (headless chromium, real result, real attribution)', { skip }, () => {
  let browser: Browser;
  let h: Harness;
  let fx: Fixture;
  let dialogs = 0;
  let sent: CompareResult;

  /** Plays the extension host: the result after `ready`; `lora/attribute` as comparePanel does it, the dialog dismissed. */
  const respond = async (m: PostedMessage, hh: Harness) => {
    if (m.method === 'ready') await hh.send('result/didChange', { result: sent, outDir: '/out' });
    if (m.method !== 'lora/attribute') return;
    try {
      const p = m.params as { checkpoint: number | 'choose'; base: number | 'comparison-base' | 'choose'; nonNegative: boolean };
      if (p.checkpoint === 'choose' || p.base === 'choose') {
        dialogs++;
        await hh.respond(m.id!, { dismissed: p.checkpoint === 'choose' ? 'checkpoint' : 'base' });
        return;
      }
      const r = await attributeInWorker({ checkpoint: resultModelPath(sent, p.checkpoint), base: resultModelPath(sent, p.base), loras: resultLoraPaths(sent), allowNegative: !p.nonNegative });
      await hh.respond(m.id!, attributionMessage(sent, r, p.nonNegative));
    } catch (e) {
      await hh.respond(m.id!, e instanceof Error ? e.message : String(e), false);
    }
  };

  const attributions = () => h.posted.filter((m) => m.method === 'lora/attribute');
  const status = () => h.page.locator('#lora-status').innerText();
  async function attribute(): Promise<void> {
    const before = attributions().length;
    await h.page.locator('#lora-run').click();
    await waitFor(async () => attributions().length > before, 'the lora/attribute request');
    await waitFor(async () => (await h.page.locator('#lora-status').innerText()) === '' || (await h.page.locator('#lora-status.md-error').count()) > 0, 'the attribution', 60_000);
  }

  before(async () => {
    fx = makeFolder(dir);
    sent = fx.result;
    browser = await launchBrowser();
    h = await openWebview(browser, { view: 'compare', respond, viewport: { width: 1280, height: 1400 } });
    await h.page.locator('#lora-card').waitFor({ state: 'visible', timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
  });

  test('the result holds the LoRAs and the checkpoints; the card opens on a checkpoint that is not the base, and the base', async () => {
    assert.deepEqual(fx.result.models.filter((m) => m.lora).map((m) => m.file).sort(), [...fx.loras.keys()].sort());
    assert.deepEqual(fx.result.models.filter((m) => !m.lora).map((m) => m.file).sort(), ['base.safetensors', 'base_unet_only.safetensors', 'merged.safetensors']);
    const first = fx.result.models.find((m) => !m.lora && m.path !== fx.result.options.base)!;
    assert.deepEqual(await selected(h, 'lora-checkpoint'), { value: String(first.index), label: `#${first.index} ${first.file}` });
    assert.deepEqual(await selected(h, 'lora-base'), { value: 'comparison-base', label: "base.safetensors (this comparison's base)" });
    const merged = fx.result.models.find((m) => m.file === 'merged.safetensors')!;
    await choose(h, 'lora-checkpoint', `#${merged.index} merged.safetensors`);
  });

  test('pick a base: each LoRA\'s strength equals the float64 least squares to 0.01 (unconstrained and ≥ 0)', async () => {
    const baseModel = fx.result.models.find((m) => m.file === 'base.safetensors')!;
    await choose(h, 'lora-base', `#${baseModel.index} base.safetensors`);
    const oracle = oracleStrengths(fx.merged, fx.base, fx.loras);
    assert.equal(oracle.size, 6, 'every LoRA changes weights of the base');
    assert.ok(Math.abs(oracle.get('A_kohya.safetensors')! - 0.8) < 1e-3 && Math.abs(oracle.get('B_kohya.safetensors')! - 0.45) < 1e-3, 'the oracle finds the merge strengths');
    for (const [sign, clamp] of [['unconstrained', (x: number) => x], ['≥ 0', (x: number) => Math.max(0, x)]] as const) {
      await choose(h, 'lora-sign', sign);
      await attribute();
      assert.equal(await status(), '', await status());
      const req = attributions().at(-1)!;
      assert.deepEqual(req.params, { checkpoint: fx.result.models.find((m) => m.file === 'merged.safetensors')!.index, base: baseModel.index, nonNegative: sign === '≥ 0' });
      const rows = await shownRows(h);
      assert.equal(rows.size, 6);
      for (const [file, want] of oracle) {
        const row = rows.get(file);
        assert.ok(row, `${file} is listed`);
        const shown = Number(row.strength);
        assert.ok(Number.isFinite(shown), `${file}: "${row.strength}" is a number`);
        assert.ok(Math.abs(shown - clamp(want)) <= 0.01, `${sign} ${file}: shown ${row.strength}, float64 ${want}`);
        assert.equal(row.remark, '');
      }
      assert.match(await h.page.locator('#lora-strengths > p').innerText(), new RegExp(`merged\\.safetensors − base\\.safetensors: strengths ${sign}`));
    }
  });

  test('a LoRA whose targets the base lacks is listed as not attributed, with the reason; the others get their strengths', async () => {
    await choose(h, 'lora-sign', 'unconstrained');
    const unetOnly = fx.result.models.find((m) => m.file === 'base_unet_only.safetensors')!;
    await choose(h, 'lora-base', `#${unetOnly.index} base_unet_only.safetensors`);
    await attribute();
    assert.equal(await status(), '', await status());
    const rows = await shownRows(h);
    const te = rows.get('F_te_only.safetensors');
    assert.ok(te, 'the text-encoder LoRA has a row');
    assert.equal(te.strength, '—');
    assert.match(te.remark, /^not attributed: no module of this LoRA maps onto base base_unet_only\.safetensors/);
    assert.match(te.remark, /the base has no cond_stage_model\./);
    // the UNet parts of the others are attributed: against the float64 fit on the weights that base has
    const oracle = oracleStrengths(fx.merged, fx.unetOnly, fx.loras);
    assert.equal(oracle.has('F_te_only.safetensors'), false);
    for (const [file, want] of oracle) assert.ok(Math.abs(Number(rows.get(file)!.strength) - want) <= 0.01, `${file}: shown ${rows.get(file)!.strength}, float64 ${want}`);
    // and A's text-encoder modules are said to be left out
    assert.match(await h.page.locator('#lora-strengths .md-notes-list').innerText(), /A_kohya\.safetensors: 2 modules left out \(first: lora_te_.*the base has no cond_stage_model\./);
  });

  test('no base chosen: the file dialog closed, or a comparison without a base, says so and shows no strengths', async () => {
    await choose(h, 'lora-base', 'Choose a file…');
    const d = dialogs;
    await attribute();
    assert.equal(dialogs, d + 1, 'the host was asked for a file');
    assert.match(await status(), /^No base chosen: the strengths are measured in \(checkpoint − base\)/);
    assert.equal(await h.page.locator('#lora-strength-table').count(), 0, 'no strengths are left on show');

    // a result without a comparison base (a folder of LoRAs): the card opens with no base and asks the host nothing
    const options = { ...fx.result.options };
    delete options.base;
    sent = { ...fx.result, options };
    await h.send('result/didChange', { result: sent, outDir: '/out2' });
    await waitFor(async () => (await selected(h, 'lora-base')).label === 'No base chosen', 'the base select to show "No base chosen"');
    const asked = attributions().length;
    await h.page.locator('#lora-run').click();
    await waitFor(async () => /^No base chosen/.test(await status()), 'the no-base message');
    assert.equal(attributions().length, asked, 'nothing was asked of the host');
    assert.deepEqual(h.pageErrors, []);
  });
});
