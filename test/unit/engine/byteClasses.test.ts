import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DType } from '../../../src/compute/model/dtypes';
import { byteClasses } from '../../../src/compute/engine/runTask';

/** The definition: a member joins the first earlier class whose representative has its identity key (here the dtype) and all its bytes. */
function naive(dtypes: DType[], u8: Uint8Array, slots: number[], lengths: number[]): { cls: number[]; reps: number[] } {
  const cls: number[] = [];
  const reps: number[] = [];
  const bytes = (i: number) => u8.subarray(slots[i]!, slots[i]! + lengths[i]!);
  dtypes.forEach((d, i) => {
    const q = reps.findIndex((r) => dtypes[r] === d && Buffer.compare(bytes(r), bytes(i)) === 0);
    if (q >= 0) cls.push(q);
    else cls.push(reps.push(i) - 1);
  });
  return { cls, reps };
}


test('byteClasses: the same classes and representatives as comparing every member with every class', () => {
  // Rows built from a few originals: copies, copies with one byte changed anywhere, other dtypes, shorter lengths.
  const row = fc.record({
    from: fc.nat(3),
    change: fc.option(fc.nat(), { nil: undefined }),
    dtype: fc.constantFrom<DType>('F16', 'F16', 'F16', 'BF16'),
    cut: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 200, maxLength: 200 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 200 }), fc.array(row, { minLength: 1, maxLength: 40 }), (originals, len, rows) => {
      const stride = 256;
      const u8 = new Uint8Array(rows.length * stride);
      const slots = rows.map((_, i) => i * stride);
      const lengths = rows.map((r) => (r.cut ? Math.max(1, len - 1) : len));
      rows.forEach((r, i) => {
        u8.set(originals[r.from]!.subarray(0, lengths[i]), slots[i]);
        if (r.change !== undefined) u8[slots[i]! + (r.change % lengths[i]!)]! ^= 1 + (r.change % 255);
      });
      const dtypes = rows.map((r) => r.dtype);
      const got = byteClasses(dtypes, u8, slots, lengths);
      const want = naive(dtypes, u8, slots, lengths);
      assert.deepEqual([...got.cls], want.cls);
      assert.deepEqual(got.reps, want.reps);
    }),
    { numRuns: 500 },
  );
});

test('byteClasses: rows equal in every sampled byte but one in between are two classes', () => {
  const n = 4096;
  const u8 = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) u8[i] = u8[n + i] = u8[2 * n + i] = (i * 7) & 255;
  u8[n + 1234] ^= 0x80; // row 1 differs from rows 0 and 2 in one byte that is not sampled
  const got = byteClasses(['F16', 'F16', 'F16'], u8, [0, n, 2 * n], [n, n, n]);
  assert.deepEqual([...got.cls], [0, 1, 0]);
  assert.deepEqual(got.reps, [0, 1]);
});
