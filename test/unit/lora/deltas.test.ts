/**
 * The low-rank forms of deltas.ts are exact: every element of U V (LoRA, Tucker LoCon, LoHa's Khatri-Rao pair,
 * LoKr's Kronecker pair) or of the dense fallback equals the delta the oracle builds by its definition.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { openCheckpoint } from '../../../src/compute/index';
import { FileHandles, readLora, targetDelta } from '../../../src/compute/lora/index';
import { deltaRows } from '../../../src/compute/lora/inner';
import { tmpDir } from '../../helpers/tmp';
import { oracleKeyDeltas } from '../../oracle/lora';
import { makeSd15Fixture, type Sd15Fixture } from './sd15Fixture';

const dir = tmpDir('lora-deltas-');
let fx: Sd15Fixture;
before(() => {
  fx = makeSd15Fixture(dir);
});

test('U V and the dense fallback equal the explicit delta element by element, for every module kind', async () => {
  const files = new FileHandles();
  const forms = new Set<string>();
  try {
    for (const f of [fx.A, fx.B, fx.C, fx.Clora, fx.D, fx.Dlora, fx.E]) {
      const model = readLora(await openCheckpoint(f.path));
      const oracle = oracleKeyDeltas(f.path, f.manifest);
      for (const t of model.targets) {
        const d = targetDelta(model, t, files);
        const kinds = [...new Set(t.contributions.map((c) => model.modules[c.module]!.kind))].join('+');
        forms.add(`${kinds}:${d.lowRank ? 'low-rank' : 'dense'}`);
        const got = new Float64Array(d.rows * d.cols);
        deltaRows(d, 0, d.rows, got);
        const want = oracle.get(t.key)!.v;
        let scale = 0;
        for (const x of want) scale = Math.max(scale, Math.abs(x));
        for (let e = 0; e < want.length; e++) {
          assert.ok(Math.abs(got[e]! - want[e]!) <= 1e-14 * scale, `${f.path} ${t.key} element ${e}: ${got[e]} vs ${want[e]}`);
        }
      }
    }
  } finally {
    files.closeAll();
  }
  // every form was exercised
  for (const form of ['lora:low-rank', 'loha:low-rank', 'loha:dense', 'lokr:low-rank', 'lokr:dense', 'full:dense']) assert.ok(forms.has(form), `${form} in ${[...forms]}`);
});
