/**
 * Rows-subset mode (WorkItem.rowsWanted, for incremental runs): only the pairs touching a wanted member are computed,
 * with the bits of a full run, and every member's own facts still are; the run's chunk size changes nothing.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import type { DType } from '../../../src/compute/model/dtypes';
import { runTask } from '../../../src/compute/engine/runTask';
import { pairSlot, type ItemResult } from '../../../src/compute/engine/workTask';
import { identityOf } from '../../../src/compute/io/regularFile';
import { createKernels } from '../../../src/compute/kernels';
import { bytesPerElement } from '../../../src/compute/model/dtypes';
import { encode, writeSafetensors } from '../../fixtures/safetensorsWriter';
import { tmpDir } from '../../helpers/tmp';

const n = 9001;

function rowValues(seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(i * 0.013 + seed) * 0.05 + (seed % 3) * 1e-3 * Math.cos(i));
}

test('rowsWanted: the pairs touching a wanted member have a full run\'s bits, every member its own facts', () => {
  const dir = tmpDir('modeldiff-rowswanted-');
  const file = join(dir, 'rows.safetensors');
  // rows: distinct ones, a copy of row 0, an all-zero row, one with a NaN
  const rows = [0, 1, 2, 3, 4].map(rowValues);
  rows.push(rows[0]!.slice());
  rows.push(Array.from({ length: n }, () => 0));
  const nan = rowValues(7);
  nan[4321] = NaN;
  rows.push(nan);
  const kernels = createKernels('wasm');
  for (const dtype of ['F16', 'BF16', 'F32', 'F64'] as DType[]) {
    const w = writeSafetensors(file, rows.map((v, i) => ({ name: `r${i}`, dtype, shape: [n], data: encode(dtype, v) })));
    const size = bytesPerElement(dtype)!;
    const members: TensorRef[] = rows.map((_, i) => {
      const t = w.tensors.find((x) => x.name === `r${i}`)!;
      return { name: `r${i}`, dtype, shape: [n], numel: n, file, offset: w.headerLength + 8 + t.begin, byteLength: size * n };
    });
    const files = { [file]: identityOf(statSync(file, { bigint: true })) };
    const run = (chunkElements: number, rowsWanted?: Uint8Array): ItemResult =>
      runTask({ items: [{ unit: 0, start: 0, count: n, members, ...(rowsWanted ? { rowsWanted } : {}) }], chunkElements, kernels: 'wasm', files }, kernels).items[0]!;
    const full = run(1 << 16);
    const m = members.length;
    for (const wanted of [[1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 0, 1, 1]]) {
      const rowsWanted = Uint8Array.from(wanted);
      const sub = run(4096, rowsWanted);
      const what = `${dtype}, wanted ${wanted.join('')}`;
      let computed = 0;
      for (let i = 0; i < m; i++) {
        assert.equal(sub.sq[i], full.sq[i], `${what}: norm ${i}`);
        for (let j = i + 1; j < m; j++) {
          if (!wanted[i] && !wanted[j]) continue;
          computed++;
          const at = pairSlot(i, j, m);
          assert.ok(Object.is(sub.d2[at], full.d2[at]), `${what}: d2 ${i},${j}: ${sub.d2[at]} vs ${full.d2[at]}`);
          assert.ok(Object.is(sub.dot[at], full.dot[at]), `${what}: dot ${i},${j}`);
          assert.equal(sub.identical[at], full.identical[at], `${what}: identical ${i},${j}`);
        }
      }
      assert.ok(computed >= 7, what);
      assert.deepEqual([...sub.nonFinite], [...full.nonFinite], `${what}: nonFinite`);
      assert.deepEqual([...sub.allZero], [...full.allZero], `${what}: allZero`);
      assert.deepEqual([...sub.fp8Grid], [...full.fp8Grid], `${what}: fp8Grid`);
      assert.deepEqual([...sub.fp8AtMax], [...full.fp8AtMax], `${what}: fp8AtMax`);
    }
    assert.deepEqual([...full.nonFinite], [0, 0, 0, 0, 0, 0, 0, 1], `${dtype}: the NaN row is flagged`);
    assert.deepEqual([...full.allZero], [0, 0, 0, 0, 0, 0, 1, 0], `${dtype}: the zero row is flagged`);
    assert.equal(full.identical[pairSlot(0, 5, m)], 1);
    assert.equal(full.d2[pairSlot(0, 5, m)], 0, `${dtype}: a copy is at exactly 0`);
    // a chunk size other than the full run's gives the same bits everywhere
    const other = run(3 * 4096);
    assert.deepEqual([...other.d2].map(String), [...full.d2].map(String), `${dtype}: d2 with another chunk size`);
    assert.deepEqual([...other.dot].map(String), [...full.dot].map(String), `${dtype}: dot with another chunk size`);
    assert.deepEqual([...other.sq].map(String), [...full.sq].map(String), `${dtype}: squared norms with another chunk size`);
  }
});
