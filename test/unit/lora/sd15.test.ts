import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { openCheckpoint } from '../../../src/compute/index';
import { attributeLoras, baseKeySpace, differenceRows, forEachKeyPairs, looksLikeLora, PairTotals, readLora, type KeyPairs, type LoraModel } from '../../../src/compute/lora/index';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import { assertClose } from '../../helpers/expectClose';
import { tmpDir } from '../../helpers/tmp';
import { loadModel } from '../../oracle/float64';
import { kahan, oracleDistance2, oracleInner, oracleKeyDeltas, oracleTotals, type DenseDelta } from '../../oracle/lora';
import { makeSd15Fixture, T, type LoraFile, type Sd15Fixture } from './sd15Fixture';

const REL = 1e-6;

const dir = tmpDir('lora-sd15-');
let fx: Sd15Fixture;
before(() => {
  fx = makeSd15Fixture(dir);
});

async function read(f: LoraFile, withBase = false): Promise<LoraModel> {
  const space = withBase ? baseKeySpace(await openCheckpoint(fx.base)) : undefined;
  return readLora(await openCheckpoint(f.path), space ? { space } : {});
}

function allPairs(models: LoraModel[]): { keys: KeyPairs[]; totals: PairTotals } {
  const keys: KeyPairs[] = [];
  const totals = new PairTotals(models.length);
  forEachKeyPairs(models, (kp) => {
    keys.push(kp);
    totals.add(kp, 'all');
    totals.add(kp, kp.component);
  });
  return { keys, totals };
}

describe('SD 1.5 LoRAs', () => {
  test('kohya names map onto the single-file keys, with rank, alpha, scale and shapes', async () => {
    const a = await read(fx.A);
    assert.equal(a.family, 'sd1');
    assert.equal(a.naming, 'kohya');
    assert.deepEqual(a.notes, []);
    assert.deepEqual(a.targets.map((t) => t.key), Object.values(T).map((s) => s.key).sort());
    for (const t of a.targets) {
      const slot = Object.values(T).find((s) => s.key === t.key)!;
      assert.deepEqual(t.shape, [...slot.shape], t.key);
      assert.equal(t.component, 'te' in slot ? 'te' : 'unet');
      const m = a.modules[t.contributions[0]!.module]!;
      assert.equal(m.kind, 'lora');
      assert.equal(m.rank, 4);
      assert.equal(m.alpha, 2);
      assert.equal(m.scale, 0.5);
    }
    assert.ok(looksLikeLora(await openCheckpoint(fx.A.path)));
    assert.ok(!looksLikeLora(await openCheckpoint(fx.base)));
    const withBase = await read(fx.A, true);
    assert.deepEqual(withBase.targets.map((t) => [t.key, t.shape]), a.targets.map((t) => [t.key, t.shape]));
    assert.match(withBase.familyFrom, /base base\.safetensors \(SD 1\.x\)/);
  });

  test('PEFT names, LoHa, LoKr and full-difference modules are recognised', async () => {
    const p = await read(fx.Apeft);
    assert.equal(p.naming, 'diffusers');
    assert.equal(p.family, 'sd1');
    assert.deepEqual(p.targets.map((t) => t.key), Object.values(T).map((s) => s.key).sort());
    assert.ok(p.modules.every((m) => m.scale === 1 && m.alpha === null));
    const c = await read(fx.C);
    assert.deepEqual(c.modules.map((m) => m.kind), ['loha', 'loha', 'loha', 'loha']);
    const conv = c.modules.find((m) => m.factors.t1)!;
    assert.deepEqual(conv.shape, [10, 10, 3, 3]);
    assert.equal(conv.scale, 0.5);
    const d = await read(fx.D);
    assert.deepEqual(d.modules.map((m) => m.kind), ['lokr', 'lokr', 'lokr', 'lokr']);
    const byName = new Map(d.modules.map((m) => [m.name, m]));
    assert.deepEqual(byName.get('lora_unet_down_blocks_0_resnets_0_conv1')!.shape, [10, 10, 3, 3]);
    assert.equal(byName.get('lora_unet_down_blocks_0_resnets_0_conv1')!.scale, 1, 'no alpha: scale 1');
    assert.deepEqual(byName.get('lora_unet_down_blocks_0_attentions_0_proj_in')!.shape, [10, 10, 1, 1]);
    const e = await read(fx.E);
    assert.equal(e.modules[0]!.kind, 'full');
  });

  test('every delta norm, inner product and distance equals the float64 oracle (dW built explicitly)', async () => {
    const files = [fx.A, fx.Apeft, fx.Aref, fx.B, fx.C, fx.Clora, fx.D, fx.Dlora, fx.E];
    const models = await Promise.all(files.map((f) => read(f)));
    const oracle = files.map((f) => oracleKeyDeltas(f.path, f.manifest));
    const { keys, totals } = allPairs(models);
    assert.equal(keys.length, Object.keys(T).length);
    assert.ok(keys.some((k) => k.gram.path === 'dense') && keys.some((k) => k.gram.path === 'low-rank'), 'both the dense and the low-rank Gram were used');
    for (const kp of keys) {
      const m = kp.members.length;
      for (let x = 0; x < m; x++) {
        const dx = oracle[kp.members[x]!]!.get(kp.key)!;
        assertClose(kp.norm2[x], oracleInner(dx, dx), REL, `${kp.key} ||dW||^2 of ${files[kp.members[x]!]!.path}`);
        for (let y = x + 1; y < m; y++) {
          const dy = oracle[kp.members[y]!]!.get(kp.key)!;
          const scale = Math.sqrt(oracleInner(dx, dx) * oracleInner(dy, dy));
          const what = `${kp.key} ${kp.members[x]} vs ${kp.members[y]}`;
          assertClose(kp.dot[x * m + y], oracleInner(dx, dy), REL, `${what} <dW, dW'>`, 1e-12 * scale);
          const d2 = oracleDistance2(dx, dy);
          // a distance at float rounding (the same delta in two forms) is compared in absolute terms
          assertClose(kp.d2[x * m + y], d2, REL, `${what} ||dW - dW'||^2`, 1e-24 * scale);
        }
      }
    }
    for (let i = 0; i < files.length; i++) {
      for (let j = i + 1; j < files.length; j++) {
        const o = oracleTotals(oracle[i]!, oracle[j]!);
        const g = totals.groups.get('all')!;
        const at = i * files.length + j;
        assertClose(g.d2[at], o.d2, REL, `total ||dW_${i} - dW_${j}||^2`, 1e-24 * Math.sqrt(o.na * o.nb));
        assertClose(g.dot[at], o.dot, REL, `total <dW_${i}, dW_${j}>`, 1e-12 * Math.sqrt(o.na * o.nb));
      }
      const o = oracleTotals(oracle[i]!, new Map());
      assertClose(totals.groups.get('all')!.norm2[i], o.na, REL, `total ||dW_${i}||^2`);
    }
  });

  test('a tiny memory budget (one LoRA per block) gives the same results', async () => {
    const models = await Promise.all([fx.A, fx.Apeft, fx.B, fx.C, fx.D, fx.E].map((f) => read(f)));
    const whole = new Map<string, KeyPairs>();
    forEachKeyPairs(models, (kp) => whole.set(kp.key, kp));
    let keys = 0;
    forEachKeyPairs(
      models,
      (kp) => {
        keys++;
        const w = whole.get(kp.key)!;
        assert.deepEqual(kp.members, w.members);
        const scale = Math.max(...w.norm2);
        for (let e = 0; e < kp.d2.length; e++) {
          assert.ok(Math.abs(kp.d2[e]! - w.d2[e]!) <= 1e-12 * scale, `${kp.key} d2[${e}]`);
          assert.ok(Math.abs(kp.dot[e]! - w.dot[e]!) <= 1e-12 * scale, `${kp.key} dot[${e}]`);
        }
        assert.deepEqual([...kp.same], [...w.same]);
      },
      { budgetBytes: 1 },
    );
    assert.equal(keys, whole.size);
  });

  test('the same delta in another file or format is found at distance 0 to rounding; different deltas are not', async () => {
    const files = [fx.A, fx.Apeft, fx.Aref, fx.B];
    const models = await Promise.all(files.map((f) => read(f)));
    const { totals } = allPairs(models);
    assert.ok(totals.sameDelta('all', 0, 1), 'kohya vs PEFT copy');
    assert.ok(totals.sameDelta('all', 0, 2), 'kohya vs re-factored copy (up x 2, down / 2)');
    assert.ok(totals.sameDelta('all', 1, 2));
    assert.ok(totals.distance('all', 0, 1)! <= 1e-12 * Math.sqrt(totals.groups.get('all')!.norm2[0]!));
    assert.ok(!totals.sameDelta('all', 0, 3));
    assert.ok(totals.distance('all', 0, 3)! > 0.1 * Math.sqrt(totals.groups.get('all')!.norm2[0]!));

    // LoHa vs its Khatri-Rao LoRA on `q`, LoKr vs its Kronecker LoRA on `ff`
    const pairs = await Promise.all([fx.C, fx.Clora, fx.D, fx.Dlora].map((f) => read(f)));
    const per = new Map<string, KeyPairs>();
    forEachKeyPairs(pairs, (kp) => per.set(kp.key, kp));
    const q = per.get(T.q.key)!;
    const ff = per.get(T.ff.key)!;
    const at = (kp: KeyPairs, i: number, j: number) => kp.members.indexOf(i) * kp.members.length + kp.members.indexOf(j);
    assert.equal(q.same[at(q, 0, 1)], 1, 'LoHa = its Khatri-Rao LoRA');
    assert.equal(ff.same[at(ff, 2, 3)], 1, 'LoKr = its Kronecker LoRA');
    assert.equal(q.same[at(q, 0, 2)], 0);
  });

  test('attribution recovers the strengths of the merged LoRAs; absent LoRAs get 0 and a duplicate is reported', async () => {
    const space = baseKeySpace(await openCheckpoint(fx.base));
    const ckpt = await openCheckpoint(fx.merged);
    const models = await Promise.all([fx.A, fx.B, fx.C, fx.D].map(async (f) => readLora(await openCheckpoint(f.path), { space })));
    const r = attributeLoras(ckpt, space, models);
    assert.ok(Math.abs(r.loras[0]!.strength - fx.strengths.A) < 0.01, `A: ${r.loras[0]!.strength}`);
    assert.ok(Math.abs(r.loras[1]!.strength - fx.strengths.B) < 0.01, `B: ${r.loras[1]!.strength}`);
    assert.ok(r.loras[2]!.strength < 0.01 && r.loras[3]!.strength < 0.01, `C, D: ${r.loras[2]!.strength}, ${r.loras[3]!.strength}`);
    assert.ok(r.relResidual < 1e-3, `relative residual ${r.relResidual}`);
    assert.ok(r.explained > 0.999999);
    assert.deepEqual(r.components.map((c) => c.component), ['te', 'unet']);

    // the oracle: ||D||^2 over the target keys and the residual at the fitted strengths, from the files
    const mergedO = loadModel(fx.merged);
    const baseO = loadModel(fx.base);
    const deltas = [fx.A, fx.B, fx.C, fx.D].map((f) => oracleKeyDeltas(f.path, f.manifest));
    let nD = 0;
    let res = 0;
    for (const key of new Set(deltas.flatMap((d) => [...d.keys()]))) {
      const a = mergedO.tensors.get(key)!.values;
      const b = baseO.tensors.get(key)!.values;
      nD += kahan(a.length, (e) => (a[e]! - b[e]!) ** 2);
      res += kahan(a.length, (e) => {
        let x = a[e]! - b[e]!;
        deltas.forEach((d, i) => (x -= r.loras[i]!.strength * (d.get(key)?.v[e] ?? 0)));
        return x * x;
      });
    }
    assertClose(r.normD, Math.sqrt(nD), REL, '||checkpoint - base||');
    assertClose(r.relResidual, Math.sqrt(res / nD), 1e-3, 'relative residual', 1e-9);

    const dup = await Promise.all([fx.A, fx.Aref, fx.B].map(async (f) => readLora(await openCheckpoint(f.path), { space })));
    const rd = attributeLoras(ckpt, space, dup);
    assert.equal(rd.loras.filter((l) => l.dependent).length, 1);
    assert.ok(Math.abs(rd.loras[0]!.strength + rd.loras[1]!.strength - fx.strengths.A) < 0.01);
    assert.ok(Math.abs(rd.loras[2]!.strength - fx.strengths.B) < 0.01);
    assert.match(rd.notes.join('\n'), /combination of the other LoRAs/);
  });

  test('a LoRA against the difference of two checkpoints equals the oracle ||D - dW||^2', async () => {
    const space = baseKeySpace(await openCheckpoint(fx.base));
    const ckpt = new Map<string, TensorRef>();
    for (const t of (await openCheckpoint(fx.merged)).tensors) ckpt.set(t.name, t);
    const models = await Promise.all([fx.A, fx.B].map(async (f) => readLora(await openCheckpoint(f.path), { space })));
    const got = new Map<string, KeyPairs>();
    forEachKeyPairs(models, (kp) => got.set(kp.key, kp), { against: (key, files) => differenceRows(key, ckpt.get(key)!, space.base!.tensors.get(key)!, files) });
    const mergedO = loadModel(fx.merged);
    const baseO = loadModel(fx.base);
    const oracle = [fx.A, fx.B].map((f) => oracleKeyDeltas(f.path, f.manifest));
    for (const [key, kp] of got) {
      const a = mergedO.tensors.get(key)!.values;
      const b = baseO.tensors.get(key)!.values;
      const D: DenseDelta = { rows: 0, cols: 0, v: a.map((x, e) => x - b[e]!) };
      assertClose(kp.against!.norm2, oracleInner(D, D), REL, `${key} ||D||^2`);
      kp.members.forEach((i, x) => {
        const dw = oracle[i]!.get(key)!;
        assertClose(kp.against!.dot[x], oracleInner(dw, D), REL, `${key} <dW, D>`, 1e-12 * Math.sqrt(oracleInner(dw, dw) * oracleInner(D, D)));
        assertClose(kp.against!.d2[x], oracleDistance2(D, dw), REL, `${key} ||D - dW||^2`);
      });
    }
  });
});
