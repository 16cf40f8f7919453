/**
 * Dtypes without an arithmetic path (complex64 here) are compared by the bytes of their elements in C order: a
 * strided view and a big-endian file holding the same values are equal to the plain tensor, one changed element is not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModels } from '../../src/compute';
import { pairIndex, type CompareResult } from '../../src/shared/result';
import { writeTorchZip, type TorchStorage } from '../fixtures/torchWriter';
import { tmpDir } from '../helpers/tmp';

const KEY = 'model.diffusion_model.input_blocks.0.0.weight';
const ROWS = 5;
const COLS = 12;

/** complex64 bytes of a rows x cols matrix, element (r, c) = (r*cols + c + 0.5) + i(-(r*cols + c)) */
function complexBytes(rows: number, cols: number, at: (r: number, c: number) => number): Uint8Array {
  const f = new Float32Array(rows * cols * 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = at(r, c);
      f[(r * cols + c) * 2] = v + 0.5;
      f[(r * cols + c) * 2 + 1] = -v;
    }
  }
  return new Uint8Array(f.buffer);
}

test('complex64 tensors: strided and big-endian storage compare by element values, not stored bytes', async () => {
  const dir = tmpDir('modeldiff-bytes-only-');
  const value = (r: number, c: number) => r * COLS + c;
  const plain: TorchStorage = { key: '0', dtype: 'C64', bytes: complexBytes(ROWS, COLS, value) };
  // the transpose stored contiguously, viewed back as ROWS x COLS through strides
  const transposed: TorchStorage = { key: '0', dtype: 'C64', bytes: complexBytes(COLS, ROWS, (c, r) => value(r, c)) };
  const changed: TorchStorage = { key: '0', dtype: 'C64', bytes: complexBytes(ROWS, COLS, (r, c) => (r === 3 && c === 7 ? 1000 : value(r, c))) };
  writeTorchZip(join(dir, 'a_plain.ckpt'), { tensors: [{ name: KEY, storage: plain, shape: [ROWS, COLS] }] });
  writeTorchZip(join(dir, 'b_strided.ckpt'), { tensors: [{ name: KEY, storage: transposed, shape: [ROWS, COLS], strides: [1, ROWS] }] });
  writeTorchZip(join(dir, 'c_big_endian.ckpt'), { tensors: [{ name: KEY, storage: plain, shape: [ROWS, COLS] }] }, { byteorder: 'big' });
  writeTorchZip(join(dir, 'd_changed.ckpt'), { tensors: [{ name: KEY, storage: changed, shape: [ROWS, COLS] }] });

  for (const workers of [0, 2]) {
    const r: CompareResult = await compareModels([dir], { outDir: join(dir, `out${workers}`), workers, memoryBudgetMiB: 16 });
    assert.deepEqual(r.errors, []);
    const idx = (f: string) => r.models.findIndex((m) => m.file === f);
    const unet = (a: string, b: string) => r.pairs[pairIndex(idx(a), idx(b), r.models.length)]!.components.unet!;
    assert.equal(unet('a_plain.ckpt', 'b_strided.ckpt').identical, true, 'strided view of the same values');
    assert.equal(unet('a_plain.ckpt', 'c_big_endian.ckpt').identical, true, 'big-endian storage of the same values');
    assert.equal(unet('b_strided.ckpt', 'c_big_endian.ckpt').identical, true);
    for (const other of ['a_plain.ckpt', 'b_strided.ckpt', 'c_big_endian.ckpt']) {
      const d = unet(other, 'd_changed.ckpt');
      assert.equal(d.identical, false, `${other} vs the changed one`);
      assert.equal(d.l2, null, 'no distance is claimed for a dtype without arithmetic');
      assert.equal(d.bytes_only, 1, 'counted as compared by bytes only');
      assert.equal(d.non_finite, 0, 'not mistaken for NaN/Inf');
    }
  }
});
