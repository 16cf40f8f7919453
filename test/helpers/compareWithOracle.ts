import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pairLayers } from '../../src/compute/output/resultFiles';
import type { CompareResult } from '../../src/shared/result';
import { comparePair, loadModels, type OracleModel } from '../oracle/float64';
import { assertClose } from './expectClose';

export const REL = 1e-6;

/**
 * Checks every number of a result against the independent float64 oracle: per pair and component l2, cosine,
 * identity flags and counts; per key the l2 and cosine stored in layers.bin (float32, so 1e-6 relative as well).
 */
export function checkAgainstOracle(result: CompareResult, outDir: string, opts: { layers?: boolean } = {}): { pairs: number; numbers: number } {
  const models: OracleModel[] = loadModels(result.models.map((m) => m.path));
  let numbers = 0;
  for (const p of result.pairs) {
    const o = comparePair(models[p.a]!, models[p.b]!);
    const label = `${result.models[p.a]!.file} vs ${result.models[p.b]!.file}`;
    const expectedComponents = Object.keys(o.components).sort();
    assert.deepEqual(Object.keys(p.components).sort(), expectedComponents, `${label}: components`);
    for (const [c, oc] of Object.entries(o.components)) {
      const ours = p.components[c]!;
      const what = `${label} ${c}`;
      assert.equal(ours.status, oc!.status, `${what}: status`);
      assert.equal(ours.identical, oc!.identical, `${what}: identical`);
      assert.equal(ours.equal_values, oc!.equal_values, `${what}: equal_values`);
      for (const k of ['shared', 'only_a', 'only_b', 'mismatched', 'dtype_diff', 'changed', 'non_finite', 'bytes_only'] as const) {
        assert.equal(ours[k], oc![k], `${what}: ${k}`);
      }
      assertClose(ours.l2, oc!.l2, REL, `${what}: l2`);
      if (oc!.l2 === 0) assert.equal(ours.l2, 0, `${what}: equal values must give exactly 0`);
      assertClose(ours.cosine, oc!.cosine, REL, `${what}: cosine`, 1e-9);
      numbers += 2;
    }
    if (opts.layers !== false) {
      const rows = pairLayers(outDir, result, p.a, p.b);
      for (const row of rows) {
        const ok = o.keys.get(row.key);
        if (!ok || ok.nonFinite) {
          if (!ok) assert.equal(row.l2, null, `${label} ${row.key}: no shared tensor, so no value`);
          continue;
        }
        assertClose(row.l2, Math.sqrt(ok.d2), REL, `${label} ${row.key}: layer l2`);
        numbers++;
      }
    }
  }
  return { pairs: result.pairs.length, numbers };
}

export function layersPath(outDir: string, result: CompareResult): string {
  return join(outDir, result.layers.file);
}
