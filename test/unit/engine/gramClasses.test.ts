import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import { runTask } from '../../../src/compute/engine/runTask';
import { pairSlot, type ItemResult } from '../../../src/compute/engine/workTask';
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
    // <x_i, x_j> (the squared norm when i = j) and the pair arrays' entries of members i < j
    const dot = (r: ItemResult, i: number, j: number) => (i === j ? r.sq[i]! : r.dot[pairSlot(i, j, r.m)]!);
    const pair = (a: Uint8Array | Float64Array, r: ItemResult, i: number, j: number) => a[pairSlot(i, j, r.m)];
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        const [p, q] = [at(names[i]!), at(names[j]!)].sort();
        if (j !== i && p === q) {
          // two copies of one row: the kernel's own product of the class's row (what equal rows give in any run),
          // the squared norm to float32-chain accuracy
          const own = dot(abc, p!, p!);
          assert.ok(Math.abs(dot(got, i, j) - own) <= 1e-6 * own, `dot ${i},${j}`);
          const first = names.indexOf(names[i]!);
          assert.equal(dot(got, i, j), dot(got, first, names.indexOf(names[i]!, first + 1)), `dot ${i},${j}: one value for every copy`);
        } else assert.equal(dot(got, i, j), dot(abc, p!, q!), `dot ${i},${j}`);
        if (j === i) continue;
        assert.equal(pair(got.identical, got, i, j), p === q ? 1 : 0, `identical ${i},${j}`);
        assert.equal(pair(got.d2, got, i, j), p === q ? 0 : pair(abc.d2, abc, p!, q!), `d2 ${i},${j}`);
      }
    }
  }
});
