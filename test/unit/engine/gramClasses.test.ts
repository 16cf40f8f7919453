import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import { runTask } from '../../../src/compute/engine/runTask';
import { identityOf } from '../../../src/compute/io/regularFile';
import { createKernels, type Kernels } from '../../../src/compute/kernels';
import { encode, writeSafetensors } from '../../fixtures/safetensorsWriter';
import { tmpDir } from '../../helpers/tmp';

/** The kernels, counting the rows pairBlock is asked to pair. */
function counting(kind: 'wasm' | 'reference'): { k: Kernels; rows: number[] } {
  const inner = createKernels(kind);
  const rows: number[] = [];
  const k: Kernels = Object.create(inner);
  k.pairBlock = function (this: Kernels, ...args: Parameters<Kernels['pairBlock']>) {
    rows.push(args[7]);
    inner.pairBlock.apply(this, args);
  };
  return { k, rows };
}

test('engine: the pairs computed are of the distinct rows only, and the pairs come out the same as from every row', () => {
  const dir = tmpDir('modeldiff-gramclasses-');
  const n = 1500;
  const values = (seed: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.37 + seed) * 0.05));
  const file = join(dir, 'rows.safetensors');
  // three distinct rows, three copies of a (bit-identical), one copy of c
  const w = writeSafetensors(file, ['a', 'b', 'c'].map((name, s) => ({ name, dtype: 'F16' as const, shape: [n], data: encode('F16', values(s)) })));
  const refOf = (name: string): TensorRef => {
    const t = w.tensors.find((x) => x.name === name)!;
    return { name, dtype: 'F16', shape: [n], numel: n, file, offset: w.headerLength + 8 + t.begin, byteLength: 2 * n };
  };
  const names = ['a', 'b', 'a', 'c', 'a', 'c', 'a'];
  const files = { [file]: identityOf(statSync(file, { bigint: true })) };
  const run = (members: TensorRef[], k: Kernels) =>
    runTask({ items: [{ unit: 0, start: 0, count: n, members }], chunkElements: 1024, kernels: 'wasm', files }, k).items[0]!;
  for (const kind of ['wasm', 'reference'] as const) {
    const { k, rows } = counting(kind);
    const got = run(names.map(refOf), k);
    assert.ok(rows.length === 1 && rows.every((r) => r === 4), `one block of 3 classes padded to 4 rows (not 8): ${rows}`);
    // the same numbers as a unit of the three distinct rows alone, bit for bit
    const abc = run(['a', 'b', 'c'].map(refOf), createKernels(kind));
    const m = names.length;
    const at = (x: string) => 'abc'.indexOf(x);
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        const [p, q] = [at(names[i]!), at(names[j]!)].sort();
        if (j !== i && p === q) {
          // two copies of one row: the kernel's own product of the class's row (what equal rows give in any run),
          // the squared norm to float32-chain accuracy
          const own = abc.dot[p! * 3 + p!]!;
          assert.ok(Math.abs(got.dot[i * m + j]! - own) <= 1e-6 * own, `dot ${i},${j}`);
          const first = names.indexOf(names[i]!);
          assert.equal(got.dot[i * m + j], got.dot[first * m + names.indexOf(names[i]!, first + 1)], `dot ${i},${j}: one value for every copy`);
        } else assert.equal(got.dot[i * m + j], abc.dot[p! * 3 + q!], `dot ${i},${j}`);
        if (j === i) continue;
        assert.equal(got.identical[i * m + j], p === q ? 1 : 0, `identical ${i},${j}`);
        assert.equal(got.d2[i * m + j], p === q ? 0 : abc.d2[p! * 3 + q!], `d2 ${i},${j}`);
      }
    }
  }
});
