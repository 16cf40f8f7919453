import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decodeToF64 } from '../../../src/compute/engine/decodeF64';
import { bfloat16, binary16 } from '../../../src/compute/kernels/reference';

it('decodeToF64: every F16 and BF16 code gives the value of its format definition, from bytes at an odd offset', () => {
  const codes = new Uint8Array(1 + 65536 * 2);
  for (let c = 0; c < 65536; c++) {
    codes[1 + 2 * c] = c & 0xff;
    codes[2 + 2 * c] = c >> 8;
  }
  for (const [dtype, definition] of [['F16', binary16], ['BF16', bfloat16]] as const) {
    const out = new Float64Array(65536);
    decodeToF64(dtype, codes.subarray(1), 65536, out);
    for (let c = 0; c < 65536; c++) {
      const want = definition(c);
      if (Number.isNaN(want)) assert.ok(Number.isNaN(out[c]), `${dtype} 0x${c.toString(16)} is NaN`);
      else assert.ok(Object.is(out[c], want), `${dtype} 0x${c.toString(16)}: ${out[c]} = ${want}`);
    }
  }
});
