// Folders no test has seen: random recipe trees from a seed (fixed by default; MODELDIFF_TEST_SEED to explore others,
// printed to repeat a failure). Every number is checked against the float64 oracle.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModels } from '../../src/compute';
import { base, cast, dropComponent, finetune, layout, materialize, merge, renameNai, swapComponent, withNaN, type Component, type Recipe } from '../fixtures/synth';
import { checkAgainstOracle } from '../helpers/compareWithOracle';
import { testSeed } from '../helpers/seed';
import { tmpDir } from '../helpers/tmp';


function rng(s: number): () => number {
  let x = s >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function randomFolder(dir: string, r: () => number, arch: 'sd15' | 'sd2' | 'sdxl_base'): string[] {
  const L = layout(arch === 'sd2' ? 'sd2_768_v' : arch, { scale: arch === 'sdxl_base' ? 48 : 32 });
  const comps: Component[] = arch === 'sdxl_base' ? ['unet', 'te0', 'te1', 'vae'] : ['unet', 'te', 'vae'];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const dtypes = ['F16', 'BF16', 'F32'] as const;
  mkdirSync(dir, { recursive: true });
  const models: Recipe[] = [cast(base(L, 1 + Math.floor(r() * 1000)), pick(dtypes))];
  const n = 4 + Math.floor(r() * 4);
  while (models.length < n) {
    const p = pick(models);
    const op = Math.floor(r() * 8);
    let m: Recipe;
    if (op <= 2) m = finetune(p, { components: [pick(comps)], sigma: 10 ** (-1 - 4 * r()), seed: Math.floor(r() * 1e6), fraction: r() < 0.5 ? 1 : 0.3 + 0.6 * r() });
    else if (op === 3) m = merge([p, pick(models)], [0.3, 0.7]);
    else if (op === 4) m = cast(p, pick(dtypes));
    else if (op === 5) m = swapComponent(p, pick(models), 'vae');
    else if (op === 6) m = r() < 0.5 ? dropComponent(p, pick(comps.slice(1))) : arch === 'sd15' ? renameNai(p) : p;
    else m = withNaN(p, pick(p.specs.filter((s) => ['F16', 'BF16', 'F32'].includes(s.dtype) && s.name.startsWith('model.diffusion_model.'))).name);
    models.push(m);
  }
  return models.map((m, i) => {
    const path = join(dir, `u${i}.safetensors`);
    materialize(m, path, { style: r() < 0.5 ? 'sorted-by-name' : 'dtype-then-name' });
    return path;
  });
}

test('random unseen folders match the float64 oracle', async (t) => {
  const r = rng(testSeed(t, 20260712));
  let numbers = 0;
  for (const arch of ['sd15', 'sd2', 'sdxl_base'] as const) {
    const dir = tmpDir();
    const files = randomFolder(join(dir, 'm'), r, arch);
    const result = await compareModels(files, { outDir: join(dir, 'out'), workers: 0, memoryBudgetMiB: 1 + Math.floor(r() * 64) });
    assert.equal(result.errors.length, 0);
    numbers += checkAgainstOracle(result, join(dir, 'out')).numbers;
  }
  assert.ok(numbers > 500, `checked ${numbers} numbers`);
});
