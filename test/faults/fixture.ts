/**
 * What the fault cases share: small models generated at test time, the comparison of a faulty run's good models with
 * a run without the fault, and the state of an output folder (old or new result, whole, nothing left beside it).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CompareResult } from '../../src/shared/result';
import { encode, writeSafetensors, type WriterTensor } from '../fixtures/safetensorsWriter';
import { checkAgainstOracle } from '../helpers/compareWithOracle';
import { lcgValues as values } from '../helpers/lcgValues';

export interface FaultModelsOptions {
  /** tensors per component (default 4) */
  tensors?: number;
  /** elements per tensor (default 64k) */
  elements?: number;
}

/**
 * Writes SD-like models (UNet F32, text encoder F16, VAE F32): the first model is the base; model i changes some
 * tensors of each component by a seeded amount, keeps the others bit for bit, so pairs are identical in some
 * components and changed in others. Returns the paths in `names` order.
 */
export function writeFaultModels(dir: string, names: string[], opts: FaultModelsOptions = {}): string[] {
  const count = opts.tensors ?? 4;
  const n = opts.elements ?? 1 << 16;
  const parts = [
    { prefix: 'model.diffusion_model.input_blocks.', dtype: 'F32' as const },
    { prefix: 'cond_stage_model.transformer.text_model.encoder.layers.', dtype: 'F16' as const },
    { prefix: 'first_stage_model.encoder.down.', dtype: 'F32' as const },
  ];
  return names.map((name, i) => {
    const tensors: WriterTensor[] = [];
    parts.forEach((part, c) => {
      for (let k = 0; k < count; k++) {
        const key = `${part.prefix}${k}.weight`;
        const changed = i > 0 && (k + c + i) % 3 !== 0 && !(c === 2 && i % 2 === 1);
        tensors.push({
          name: key,
          dtype: part.dtype,
          shape: [n / 256, 256],
          data: () => {
            const v = values(1000 * c + k, n);
            if (changed) {
              const d = values(7919 * i + 31 * k + c, n);
              for (let e = 0; e < n; e++) v[e] = v[e]! + 0.01 * i * d[e]!;
            }
            return encode(part.dtype, v);
          },
        });
      }
    });
    const path = join(dir, name);
    writeSafetensors(path, tensors);
    return path;
  });
}

/**
 * The pairs of `faulty` between models `clean` has too have the numbers of the same pairs in `clean`: every
 * flag and count exactly, l2 and cosine exactly with `rel` 0 (a pair's sums depend on its two models alone, whatever
 * other files are in the run, the workers or the memory budget: engine/runTask.ts, engine/partialSums.ts), or to `rel`.
 */
export function assertSameNumbers(faulty: CompareResult, clean: CompareResult, rel = 0): void {
  const cleanIndex = new Map(clean.models.map((m, i) => [m.path, i]));
  for (const p of faulty.pairs) {
    const a = cleanIndex.get(faulty.models[p.a]!.path);
    const b = cleanIndex.get(faulty.models[p.b]!.path);
    if (a === undefined || b === undefined) continue; // a model only the faulty run has
    const q = clean.pairs.find((x) => x.a === Math.min(a, b) && x.b === Math.max(a, b))!;
    const label = `${faulty.models[p.a]!.file} vs ${faulty.models[p.b]!.file}`;
    const close = (x: number | null, y: number | null) => x === y || (x !== null && y !== null && Math.abs(x - y) <= rel * Math.abs(y));
    const withoutFloats = (c: CompareResult['pairs'][number]['components']) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, { ...v, l2: null, cosine: null }]));
    assert.deepEqual(withoutFloats(p.components), withoutFloats(q.components), `${label}: the same statuses and counts as without the fault`);
    for (const [c, v] of Object.entries(p.components)) {
      const w = q.components[c]!;
      assert.ok(close(v.l2, w.l2) && close(v.cosine, w.cosine), `${label} ${c}: l2 ${v.l2} and cosine ${v.cosine}, without the fault ${w.l2} and ${w.cosine}`);
    }
    assert.deepEqual(p.differences, q.differences, `${label}: the same key differences`);
  }
  for (const m of faulty.models) {
    if (!cleanIndex.has(m.path)) continue;
    const c = clean.models[cleanIndex.get(m.path)!]!;
    assert.deepEqual(m.tensorHealth, c.tensorHealth, `${m.file}: the same tensor health as without the fault`);
    assert.deepEqual(m.components, c.components, `${m.file}: the same components`);
  }
}

/** The good models' numbers: the same as a clean run of them alone, and as the float64 oracle. */
export function assertGoodModelsUnchanged(faulty: CompareResult, outDir: string, clean: CompareResult, good: string[]): void {
  assert.deepEqual(faulty.models.map((m) => m.path), good, 'the good models, and only those, are compared');
  assert.deepEqual(faulty.pairs.length, clean.pairs.length);
  assertSameNumbers(faulty, clean);
  checkAgainstOracle(faulty, outDir);
}

/** The files of an output folder, by name, with their bytes. */
export function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isFile()) out.set(name, readFileSync(p));
  }
  return out;
}

/** The output folder is exactly `expected` (the old result, byte for byte), and nothing was left beside it. */
export function assertUnchanged(dir: string, expected: Map<string, Buffer>): void {
  const now = snapshot(dir);
  assert.deepEqual([...now.keys()], [...expected.keys()], 'the same files');
  for (const [name, bytes] of expected) assert.ok(now.get(name)!.equals(bytes), `${name} is unchanged`);
  assertNoDebris(dir);
}

/** A whole result: result.json parses, names layers.bin, and layers.bin has the size result.json says. */
export function assertWhole(dir: string): CompareResult {
  const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as CompareResult;
  const layers = statSync(join(dir, result.layers.file)).size;
  assert.equal(layers, 24 + result.layers.keys.length * result.layers.pairs * result.layers.planes.length * 4, 'layers.bin matches result.json');
  assert.ok(existsSync(join(dir, 'model_map_v2.json')));
  assertNoDebris(dir);
  return result;
}

/** No staging folder, no previous folder, no temporary file beside or inside the output folder. */
export function assertNoDebris(dir: string): void {
  const beside = readdirSync(dirname(dir)).filter((n) => n.startsWith(basename(dir) + '.'));
  assert.deepEqual(beside, [], `nothing left beside ${basename(dir)}`);
  if (existsSync(dir)) assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp') || n.startsWith('.modeldiff')), [], 'no temporary files inside');
}
