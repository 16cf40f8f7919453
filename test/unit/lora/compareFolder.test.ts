/**
 * `compare` on LoRAs: the result.json a folder of LoRAs gets (per-component distances of their deltas, duplicates
 * as "same delta", per-weight rows in layers.bin), and a mixed folder (LoRAs + checkpoints) measured from a base,
 * all against the float64 oracle (dW built explicitly).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { compareModels, pairIndex, pairLayers, type CompareResult } from '../../../src/compute/index';
import { assertClose } from '../../helpers/expectClose';
import { tmpDir } from '../../helpers/tmp';
import { loadModel } from '../../oracle/float64';
import { oracleDistance2, oracleKeyDeltas, oracleTotals, type DenseDelta } from '../../oracle/lora';
import { makeSd15Fixture, type LoraFile, type Sd15Fixture } from './sd15Fixture';

const REL = 1e-6;
const dir = tmpDir('lora-compare-');
let fx: Sd15Fixture;
before(() => {
  fx = makeSd15Fixture(dir);
});

const componentOf = (key: string) => (key.startsWith('model.diffusion_model.') ? 'unet' : key.startsWith('cond_stage_model.') ? 'te' : 'other');
function only(m: Map<string, DenseDelta>, component: string): Map<string, DenseDelta> {
  return new Map([...m].filter(([k]) => componentOf(k) === component));
}

/** D = checkpoint - base on every key of the base, from the oracle's own reader. */
function oracleDifference(ckpt: string, base: string): Map<string, DenseDelta> {
  const c = loadModel(ckpt);
  const b = loadModel(base);
  const out = new Map<string, DenseDelta>();
  for (const [key, bt] of b.tensors) {
    const ct = c.tensors.get(key);
    if (!ct) continue;
    const v = new Float64Array(bt.values.length);
    for (let i = 0; i < v.length; i++) v[i] = ct.values[i]! - bt.values[i]!;
    out.set(key, { rows: bt.shape[0] ?? 1, cols: v.length / (bt.shape[0] ?? 1), v });
  }
  return out;
}

async function run(files: string[], out: string, base?: string): Promise<CompareResult> {
  return compareModels(files, { outDir: join(dir, out), workers: 0, ...(base ? { base } : {}) });
}

describe('compare on LoRAs', () => {
  test('a folder of LoRAs: distances of their deltas per component, same-delta duplicates, per-weight rows', async () => {
    const files: LoraFile[] = [fx.A, fx.Apeft, fx.Aref, fx.B, fx.C, fx.D, fx.E];
    const r = await run(files.map((f) => f.path), 'loras');
    assert.equal(r.errors.length, 0, JSON.stringify(r.errors));
    assert.equal(r.models.length, files.length);
    assert.ok(r.models.every((m) => m.lora && m.lora.family === 'SD 1.x'));
    assert.deepEqual(r.models[0]!.lora!.targetsByComponent, { unet: 6, te: 2 });
    // the duplicates: the same delta under PEFT names, and re-factored (up x 2, down / 2), different bytes
    for (const [i, j] of [[0, 1], [0, 2], [1, 2]] as const) {
      const p = r.pairs[pairIndex(i, j, files.length)]!;
      assert.deepEqual(Object.values(p.components).map((d) => d.status), ['same_delta', 'same_delta'], `${i}-${j}`);
    }
    const oracle = files.map((f) => oracleKeyDeltas(f.path, f.manifest));
    const n = files.length;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const p = r.pairs[pairIndex(i, j, n)]!;
        for (const c of ['unet', 'te']) {
          const o = oracleTotals(only(oracle[i]!, c), only(oracle[j]!, c));
          const d = p.components[c];
          if (o.na === 0 && o.nb === 0) {
            assert.equal(d, undefined, `${i}-${j} ${c}: neither changes it`);
            continue;
          }
          assert.ok(d, `${i}-${j} ${c}`);
          assertClose(d.l2! ** 2, o.d2, REL, `${i}-${j} ${c} ||dW_i - dW_j||^2`, 1e-20 * Math.sqrt(o.na * o.nb));
          const dup = i < 3 && j < 3;
          assert.equal(d.status, dup ? 'same_delta' : 'changed', `${i}-${j} ${c}`);
          if (o.na > 0 && o.nb > 0) assertClose(d.cosine!, o.dot / Math.sqrt(o.na * o.nb), REL, `${i}-${j} ${c} cosine`, 1e-9);
        }
      }
    }
    // per-weight rows: the layer table of A vs B is the oracle's key by key
    const rows = pairLayers(join(dir, 'loras'), r, 0, 3);
    assert.equal(rows.length, r.layers.keys.length);
    for (const row of rows) {
      const want = Math.sqrt(oracleDistance2(oracle[0]!.get(row.key), oracle[3]!.get(row.key)));
      assertClose(row.l2!, want, 1e-6, `layer ${row.key}`, 1e-6 * want);
    }
  });

  test('LoRAs beside checkpoints, measured from a base: ||dW - (C - B)|| and ||C1 - C2||', async () => {
    const files = [fx.A, fx.B];
    const r = await run([fx.A.path, fx.B.path, fx.merged, fx.base], 'mixed', fx.base);
    assert.equal(r.errors.length, 0, JSON.stringify(r.errors));
    assert.equal(r.options.base, fx.base);
    const names = r.models.map((m) => m.file);
    const at = (f: string) => names.indexOf(f.split('/').pop()!);
    const n = r.models.length;
    const oracle = files.map((f) => oracleKeyDeltas(f.path, f.manifest, fx.base));
    const D = oracleDifference(fx.merged, fx.base);
    const zero = new Map<string, DenseDelta>();
    for (const c of ['unet', 'te']) {
      for (const [i, f] of files.entries()) {
        // the LoRA against the merged checkpoint (every weight of the base counts: D is non-zero on the LoRAs' targets only)
        const o = oracleTotals(only(oracle[i]!, c), only(D, c));
        const got = r.pairs[pairIndex(at(f.path), at(fx.merged), n)]!.components[c]!;
        assertClose(got.l2! ** 2, o.d2, REL, `${f.path} vs merged, ${c}`);
        // against the base itself (D = 0): the LoRA's own norm
        const own = oracleTotals(only(oracle[i]!, c), zero);
        assertClose(r.pairs[pairIndex(at(f.path), at(fx.base), n)]!.components[c]!.l2! ** 2, own.d2, REL, `${f.path} vs base, ${c}`);
      }
      const cc = oracleTotals(only(D, c), zero);
      assertClose(r.pairs[pairIndex(at(fx.merged), at(fx.base), n)]!.components[c]!.l2! ** 2, cc.d2, REL, `merged vs base, ${c}`);
    }
    // 0.8 A + 0.45 B: the merged difference is closer to A (the larger share) than to B
    const u = (f: string) => r.pairs[pairIndex(at(f), at(fx.merged), n)]!.components['unet']!.l2!;
    assert.ok(u(fx.A.path) < u(fx.B.path));
  });

  test('LoRAs and checkpoints without --base are refused with the reason', async () => {
    await assert.rejects(run([fx.A.path, fx.merged], 'nobase'), /--base/);
  });
});
