/**
 * A worker uses its pair arrays again from one task to the next (engine/resultArrays.ts): a task's results are the
 * same whether its arrays are new or still hold an earlier task's sums, and an array is never lent twice in a task.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import type { DType } from '../../../src/compute/model/dtypes';
import { ResultArrays } from '../../../src/compute/engine/resultArrays';
import { runTask } from '../../../src/compute/engine/runTask';
import type { WorkTask } from '../../../src/compute/engine/workTask';
import { identityOf } from '../../../src/compute/io/regularFile';
import { createKernels } from '../../../src/compute/kernels';
import { bytesPerElement } from '../../../src/compute/model/dtypes';
import { encode, writeSafetensors } from '../../fixtures/safetensorsWriter';
import { tmpDir } from '../../helpers/tmp';

test('ResultArrays: the arrays of the task before are lent again; within a task, never twice', () => {
  const arrays = new ResultArrays();
  arrays.nextTask();
  const a = arrays.take(10);
  const b = arrays.take(10);
  const c = arrays.take(3);
  assert.notEqual(a.d2, b.d2);
  assert.equal(a.d2.length, 10);
  assert.equal(c.identical.length, 3);
  arrays.nextTask();
  const again = [arrays.take(10), arrays.take(10), arrays.take(10)];
  assert.deepEqual(new Set(again.slice(0, 2).map((x) => x.d2)), new Set([a.d2, b.d2]));
  assert.ok(again[2]!.d2 !== a.d2 && again[2]!.d2 !== b.d2);
  // what the last task did not use is let go: two tasks on, c is not lent again
  arrays.nextTask();
  arrays.nextTask();
  assert.notEqual(arrays.take(3).d2, c.d2);
});

test('a task gives the same sums, bit for bit, with arrays lent from an earlier task as with new ones', () => {
  const dir = tmpDir('modeldiff-arrays-');
  const n = 5000;
  const kernels = createKernels('wasm');
  const tasks = (['F16', 'F64', 'I64'] as DType[]).map((dtype, f): WorkTask => {
    const file = join(dir, `${dtype}.safetensors`);
    const rows = [0, 1, 2, 3].map((s) => Array.from({ length: n }, (_, i) => (dtype === 'I64' ? (i * (s + 1)) % 7 : Math.sin(i * 0.01 + s) * 0.1)));
    rows.push(rows[1]!.slice());
    const w = writeSafetensors(file, rows.map((v, i) => ({ name: `r${i}`, dtype, shape: [n], data: encode(dtype, v) })));
    const members: TensorRef[] = rows.map((_, i) => {
      const t = w.tensors.find((x) => x.name === `r${i}`)!;
      return { name: `r${i}`, dtype, shape: [n], numel: n, file, offset: w.headerLength + 8 + t.begin, byteLength: bytesPerElement(dtype)! * n };
    });
    return { items: [{ unit: f, start: 0, count: n, members }], chunkElements: 4096, kernels: 'wasm', files: { [file]: identityOf(statSync(file, { bigint: true })) } };
  });
  const arrays = new ResultArrays();
  // every task runs on arrays the one before filled (each of these has 5 members: the same 10 pairs)
  for (const round of [0, 1]) {
    for (const task of tasks) {
      arrays.nextTask();
      const lent = runTask(task, kernels, arrays).items[0]!;
      const own = runTask(task, kernels).items[0]!;
      const what = `${task.items[0]!.members[0]!.dtype}, round ${round}`;
      for (const f of ['d2', 'dot', 'sq', 'identical'] as const) assert.deepEqual([...lent[f]], [...own[f]], `${what}: ${f}`);
      assert.equal(lent.identical[3], 0);
    }
  }
});
