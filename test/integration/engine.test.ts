import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compareModels } from '../../src/compute';
import type { CompareResult } from '../../src/shared/result';
import { cast, customRecipe, layout, makeFolder, materialize, zooSpec, type ZooArch, type ZooManifest } from '../fixtures/synth';
import { checkAgainstOracle } from '../helpers/compareWithOracle';
import { modelMap as oracleModelMap } from '../oracle/float64';
import { tmpDir } from '../helpers/tmp';

async function run(dir: string, out: string, opts: Parameters<typeof compareModels>[1] extends infer O ? Partial<O> : never = {}): Promise<CompareResult> {
  return compareModels([dir], { outDir: out, workers: 0, ...opts });
}

function checkRelations(result: CompareResult, manifest: ZooManifest): number {
  let checked = 0;
  const idx = (file: string) => result.models.findIndex((m) => m.file === file);
  for (const rel of manifest.relations) {
    const a = idx(rel.a);
    const b = idx(rel.b);
    assert.ok(a >= 0 && b >= 0, `${rel.a} and ${rel.b} are in the result`);
    const p = result.pairs.find((q) => (q.a === Math.min(a, b) && q.b === Math.max(a, b)))!;
    const swap = a > b;
    for (const [c, expected] of Object.entries(rel.expect)) {
      let status = p.components[c]?.status;
      if (swap && status === 'only_in_a') status = 'only_in_b';
      else if (swap && status === 'only_in_b') status = 'only_in_a';
      assert.equal(status, expected, `${rel.a} vs ${rel.b} (${rel.note}): ${c}`);
      checked++;
    }
  }
  return checked;
}

for (const arch of ['sd15', 'sd2', 'sdxl_base', 'sdxl_refiner'] as ZooArch[]) {
  describe(`${arch} zoo`, () => {
    const dir = tmpDir();
    const manifest = makeFolder(join(dir, 'models'), zooSpec(arch));
    let result: CompareResult;

    test('every number matches the float64 oracle to 1e-6; flags and counts are exact', async () => {
      result = await run(manifest.dir, join(dir, 'out'));
      assert.equal(result.errors.length, 0, JSON.stringify(result.errors));
      assert.equal(result.models.length, manifest.files.length);
      const { numbers } = checkAgainstOracle(result, join(dir, 'out'));
      assert.ok(numbers > 100, `checked ${numbers} numbers`);
    });

    test('the known relations of the zoo hold', () => {
      assert.ok(checkRelations(result, manifest) > 10);
    });

    test('model_map_v2.json is the notebook shape and matches the oracle', () => {
      const map = JSON.parse(readFileSync(join(dir, 'out', 'model_map_v2.json'), 'utf8')) as { ml: string[]; dm: Record<string, (number | null)[][]> };
      assert.deepEqual(map.ml, result.models.map((m) => m.file));
      const oracle = oracleModelMap(result.models.map((m) => m.path));
      assert.deepEqual(Object.keys(map.dm).sort(), Object.keys(oracle.dm).sort());
      for (const [c, mat] of Object.entries(map.dm)) {
        const o = oracle.dm[c as keyof typeof oracle.dm]!;
        mat.forEach((row, i) =>
          row.forEach((v, j) => {
            if (i === j) {
              assert.equal(v, 0, `${c} diagonal ${i}`);
              return;
            }
            const e = o[i]![j]!;
            if (e === null) assert.equal(v, 0, `${c}[${i}][${j}] not comparable: 0, the notebook's "no such comparison"`);
            else assert.ok(v !== null && Math.abs(v - e) <= 1e-6 * Math.abs(e), `${c}[${i}][${j}]: ${v} vs ${e}`);
          }),
        );
      }
    });
  });
}

describe('engine invariants', () => {
  const dir = tmpDir();
  const manifest = makeFolder(join(dir, 'models'), zooSpec('sd15'));

  test('wasm and reference kernels, pool and in-thread, tiny and large chunks agree', async () => {
    const base = await run(manifest.dir, join(dir, 'a'), { kernels: 'wasm' });
    const variants = [
      await run(manifest.dir, join(dir, 'b'), { kernels: 'reference' }),
      await run(manifest.dir, join(dir, 'c'), { workers: 2 }),
      await run(manifest.dir, join(dir, 'd'), { memoryBudgetMiB: 1 }),
    ];
    for (const v of variants) {
      assert.equal(v.pairs.length, base.pairs.length);
      v.pairs.forEach((p, i) => {
        for (const [c, d] of Object.entries(p.components)) {
          const e = base.pairs[i]!.components[c]!;
          assert.equal(d.status, e.status);
          if (e.l2 === null) assert.equal(d.l2, null);
          else assert.ok(Math.abs(d.l2! - e.l2) <= 2e-6 * e.l2, `${c}: ${d.l2} vs ${e.l2}`);
        }
      });
    }
    ['b', 'c', 'd'].forEach((out, i) => checkAgainstOracle(variants[i]!, join(dir, out)));
  });

  test('the matrix is symmetric in the order given: pairs cover every a < b once', async () => {
    const r = await run(manifest.dir, join(dir, 'e'));
    const n = r.models.length;
    assert.equal(r.pairs.length, (n * (n - 1)) / 2);
    const seen = new Set(r.pairs.map((p) => `${p.a},${p.b}`));
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) assert.ok(seen.has(`${a},${b}`));
  });
});

describe('near-identical models', () => {
  test('near-identical models far from the others stay exact (differences computed directly, no guard)', async () => {
    const dir = tmpDir();
    const L = layout('sd15', { scale: 32 });
    const specs = L.tensors.filter((t) => t.name.startsWith('model.diffusion_model.')).map((t) => ({ ...t, dtype: 'F32' as const }));
    const value = (seed: number, name: string, i: number) => Math.sin(seed * 12.9898 + i * 78.233 + name.length) * 0.02;
    const far = (offset: number, eps: number) =>
      customRecipe(`far${offset}`, specs, (name, s) => {
        const n = s.shape.reduce((a, b) => a * b, 1);
        const v = new Float64Array(n);
        for (let i = 0; i < n; i++) v[i] = value(1, name, i) + offset + eps * Math.cos(i * 0.37 + name.length);
        return v;
      });
    // a and its re-save sit far from the centre of the group, where a centred Gram difference would cancel.
    materialize(far(0.1, 0), join(dir, 'a.safetensors'));
    materialize(far(0.1, 1e-6), join(dir, 'a_resaved.safetensors'));
    materialize(far(0, 0), join(dir, 'b.safetensors'));
    materialize(far(-0.02, 0), join(dir, 'c.safetensors'));
    materialize(far(0.02, 0), join(dir, 'd.safetensors'));
    const r = await run(dir, join(dir, 'out'));
    assert.equal(r.stats.guardRecomputes, 0, 'no guard: nothing is recomputed');
    checkAgainstOracle(r, join(dir, 'out'));
  });
});

describe('fp32 copies', () => {
  test('an fp32 copy of an fp16 model has distance exactly 0 and is equal_values, not identical', async () => {
    const dir = tmpDir();
    const L = layout('sd15', { scale: 32 });
    const { base } = await import('../fixtures/synth');
    const b = cast(base(L, 7), 'F16');
    materialize(b, join(dir, 'half.safetensors'));
    materialize(cast(b, 'F32'), join(dir, 'full.safetensors'));
    const r = await run(dir, join(dir, 'out'));
    for (const d of Object.values(r.pairs[0]!.components)) {
      assert.equal(d.l2, 0);
      assert.equal(d.equal_values, true);
      assert.equal(d.identical, false);
    }
  });
});
