import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeColumn } from '../../../src/webview/logic/layerColumns';

test('a report decodes one pair\'s column of a base64 plane, bit for bit, wherever the column starts', () => {
  for (const keys of [1, 2, 3, 5, 316]) {
    const pairs = 7;
    const all = new Float32Array(keys * pairs);
    for (let i = 0; i < all.length; i++) all[i] = i % 11 === 0 ? NaN : Math.sin(i) * 10 ** ((i % 9) - 4);
    const b64 = Buffer.from(all.buffer).toString('base64');
    for (let c = 0; c < pairs; c++) {
      const col = decodeColumn(b64, c, keys);
      assert.equal(col.length, keys);
      assert.deepEqual(new Uint32Array(col.buffer), new Uint32Array(all.slice(c * keys, (c + 1) * keys).buffer), `keys ${keys}, column ${c}`);
    }
  }
});
