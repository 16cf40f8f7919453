/**
 * A pair's numbers depend on its two models alone (issue 12, "Incremental": old result + new models must equal a fresh
 * run): a fresh run on 5 models and a fresh run on those 5 plus 3 more (one bringing keys the others lack, one a
 * bit-identical copy of an old model, one with a NaN tensor) give the old pairs the same bits in result.json and in
 * layers.bin, whatever the worker count and memory budget (which set the chunk sizes and the tasks), and every number
 * still equals an independent float64 computation.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModels } from '../../src/compute';
import { pairLayers } from '../../src/compute/output/resultFiles';
import type { CompareResult } from '../../src/shared/result';
import { encode, writeSafetensors, type WriterTensor } from '../fixtures/safetensorsWriter';
import type { DType } from '../../src/compute/model/dtypes';
import { checkAgainstOracle } from '../helpers/compareWithOracle';
import { lcgValues as values } from '../helpers/lcgValues';
import { tmpDir } from '../helpers/tmp';


interface Spec {
  key: string;
  dtype: DType;
  shape: number[];
}

// Sizes that are not multiples of the canonical block (4096) or of 4, one over several chunks of every budget below;
// F64 goes through the exact float64 path; F16, BF16 and F32 through the pair kernel.
const BASE: Spec[] = [
  { key: 'model.diffusion_model.input_blocks.0.0.weight', dtype: 'F32', shape: [7, 10001] },
  { key: 'model.diffusion_model.input_blocks.0.0.bias', dtype: 'F32', shape: [77] },
  { key: 'model.diffusion_model.input_blocks.2.1.proj_in.weight', dtype: 'F16', shape: [64, 1030] },
  { key: 'model.diffusion_model.middle_block.1.norm.weight', dtype: 'F64', shape: [5000] },
  { key: 'model.diffusion_model.out.2.weight', dtype: 'BF16', shape: [130, 1024] },
  { key: 'cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight', dtype: 'F16', shape: [96, 700] },
  { key: 'cond_stage_model.transformer.text_model.encoder.layers.1.mlp.fc1.weight', dtype: 'F16', shape: [333] },
];

// Keys only the newcomer has: beside old keys in the same module, between old modules, and a component of its own.
const EXTRA: Spec[] = [
  { key: 'model.diffusion_model.input_blocks.0.0.extra', dtype: 'F32', shape: [4100] },
  { key: 'model.diffusion_model.input_blocks.1.0.weight', dtype: 'F16', shape: [2000] },
  { key: 'model.diffusion_model.middle_block.0.weight', dtype: 'F32', shape: [9] },
  { key: 'first_stage_model.encoder.down.0.block.0.conv1.weight', dtype: 'F32', shape: [3000] },
];

function writeModel(path: string, i: number, specs: Spec[], nanIn?: string): void {
  const tensors: WriterTensor[] = specs.map((s, k) => ({
    name: s.key,
    dtype: s.dtype,
    shape: s.shape,
    data: () => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const v = values(100 + k, n);
      // a fine-tune of the base: most tensors moved a little, one of them left alone in every third model
      if (i > 0 && (k + i) % 3 !== 0) {
        const d = values(7919 * i + 31 * k, n);
        for (let e = 0; e < n; e++) v[e] = v[e]! + 10 ** -(1 + (i % 4)) * d[e]!;
      }
      if (s.key === nanIn) v[n >> 1] = NaN;
      return encode(s.dtype, v);
    },
  }));
  writeSafetensors(path, tensors);
}

/** Pair (a, b) of `r` by model file name. */
function pairOf(r: CompareResult, a: string, b: string) {
  const ia = r.models.findIndex((m) => m.file === a);
  const ib = r.models.findIndex((m) => m.file === b);
  return r.pairs.find((p) => p.a === Math.min(ia, ib) && p.b === Math.max(ia, ib))!;
}

/** Every number of pair (a, b), and its layers.bin cells by key name, as exact text. */
function pairBits(r: CompareResult, dir: string, a: string, b: string): string {
  const p = pairOf(r, a, b);
  const rows = pairLayers(dir, r, p.a, p.b)
    .filter((row) => row.l2 !== null || row.cosine !== null)
    .map((row) => `${row.key} ${row.l2} ${row.cosine}`)
    .sort();
  return JSON.stringify({ components: p.components, differences: p.differences, rows });
}

test('old pairs keep their bits when models are added, whatever the workers and the memory budget', async () => {
  const root = tmpDir('modeldiff-pairbits-');
  const five = join(root, 'five');
  const eight = join(root, 'eight');
  mkdirSync(five);
  mkdirSync(eight);
  const old = ['b.safetensors', 'd.safetensors', 'f.safetensors', 'h.safetensors', 'j.safetensors'];
  old.forEach((name, i) => {
    writeModel(join(five, name), i, BASE);
    copyFileSync(join(five, name), join(eight, name));
  });
  // the newcomers sort between the old models
  writeModel(join(eight, 'a.safetensors'), 7, [...BASE, ...EXTRA]);
  copyFileSync(join(five, 'f.safetensors'), join(eight, 'e.safetensors'));
  writeModel(join(eight, 'i.safetensors'), 9, BASE, 'model.diffusion_model.out.2.weight');

  const runs: { dir: string; workers: number; memoryBudgetMiB: number; taskWork?: number }[] = [
    { dir: five, workers: 0, memoryBudgetMiB: 1 },
    { dir: five, workers: 2, memoryBudgetMiB: 64 },
    { dir: eight, workers: 1, memoryBudgetMiB: 1, taskWork: 20_000 },
    { dir: eight, workers: 2, memoryBudgetMiB: 3 },
  ];
  const results: { r: CompareResult; out: string }[] = [];
  for (const [i, o] of runs.entries()) {
    const out = join(root, `out${i}`);
    const r = (await compareModels([o.dir], { outDir: out, workers: o.workers, memoryBudgetMiB: o.memoryBudgetMiB, ...(o.taskWork ? { taskWork: o.taskWork } : {}) })) as CompareResult;
    results.push({ r, out });
  }
  assert.equal(results[2]!.r.models.length, 8);
  let compared = 0;
  for (let a = 0; a < old.length; a++) {
    for (let b = a + 1; b < old.length; b++) {
      const want = pairBits(results[0]!.r, results[0]!.out, old[a]!, old[b]!);
      for (const { r, out } of results.slice(1)) {
        assert.equal(pairBits(r, out, old[a]!, old[b]!), want, `${old[a]} vs ${old[b]} in ${out}`);
        compared++;
      }
    }
  }
  assert.equal(compared, 30);
  // the copy is bit-identical to its original, and each pair with it has its original's bits
  const copy = pairOf(results[2]!.r, 'e.safetensors', 'f.safetensors');
  assert.ok(Object.values(copy.components).every((c) => c.identical && c.l2 === 0));
  for (const other of old.filter((n) => n !== 'f.safetensors')) {
    for (const { r, out } of results.slice(2)) {
      const viaCopy = JSON.parse(pairBits(r, out, 'e.safetensors', other)) as { components: unknown; rows: unknown };
      const viaOriginal = JSON.parse(pairBits(r, out, 'f.safetensors', other)) as { components: unknown; rows: unknown };
      assert.deepEqual(viaCopy.components, viaOriginal.components, `e (a copy of f) vs ${other}`);
      assert.deepEqual(viaCopy.rows, viaOriginal.rows, `e (a copy of f) vs ${other}: layers`);
    }
  }
  // the two 8-model runs agree on every pair, new ones too
  for (const p of results[2]!.r.pairs) {
    const [a, b] = [results[2]!.r.models[p.a]!.file, results[2]!.r.models[p.b]!.file];
    assert.equal(pairBits(results[3]!.r, results[3]!.out, a, b), pairBits(results[2]!.r, results[2]!.out, a, b), `${a} vs ${b}`);
  }
  // and every number is the float64 one
  const checked = checkAgainstOracle(results[3]!.r, results[3]!.out);
  assert.equal(checked.pairs, 28);
  assert.ok(checked.numbers > 28 * 10, `${checked.numbers} numbers checked`);
});
