import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isPacked, narrowest, packResult, unpackResult } from '../../../src/shared/packedResult';
import type { CompareResult } from '../../../src/shared/result';
import { makeResult } from '../../webview/fixture';
import { sampleResult } from '../extension/sampleResult';
import { writeLargeResult } from '../../fixtures/largeResult';
import { tmpDir } from '../../helpers/tmp';

describe('packed result (the panel\'s wire form)', () => {
  test('packing, a structured clone (what postMessage does) and unpacking give back result.json exactly', () => {
    const dir = tmpDir();
    writeLargeResult(dir, { models: 12, families: 3, keyStride: 24 });
    const big = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as CompareResult;
    big.pairs[3]!.extra = { unet: { l1: 1.5, l0: 3, max_abs: 0.25, elements: 100 } };
    for (const r of [makeResult(), sampleResult(), big]) {
      const packed = packResult(r);
      assert.ok(isPacked(packed));
      assert.deepEqual(packed.pairs, []);
      assert.deepEqual(unpackResult(structuredClone(packed)), r);
      assert.equal(unpackResult(r), r, 'a result that is not packed is passed through');
    }
  });

  test('pairs travel as typed arrays: far smaller than their JSON', () => {
    const dir = tmpDir();
    writeLargeResult(dir, { models: 40, families: 4, keyStride: 64 });
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as CompareResult;
    const packed = packResult(r);
    const cols = Object.values(packed.packedPairs.components);
    const binary = cols.reduce((s, c) => s + c.status.byteLength + c.l2.byteLength + c.cosine.byteLength + c.counts.byteLength + c.flags.byteLength, 0) + packed.packedPairs.a.byteLength * 2;
    const rest = JSON.stringify({ ...packed, packedPairs: { ...packed.packedPairs, a: null, b: null, components: null } }).length;
    assert.ok(binary + rest < JSON.stringify(r.pairs).length / 2, `${binary} + ${rest} vs ${JSON.stringify(r.pairs).length}`);
    // counts of a few dozen keys and 40 model indexes: one byte each
    assert.ok(cols.every((c) => c.counts instanceof Uint8Array) && packed.packedPairs.a instanceof Uint8Array, cols.map((c) => c.counts.constructor.name).join());
  });

  test('integer columns are as narrow as their values allow, and come back exactly', () => {
    const cases: [number[], string][] = [
      [[0, 1, 255], 'Uint8Array'],
      [[0, 256, 65535], 'Uint16Array'],
      [[65536, 3], 'Uint32Array'],
      [[2 ** 31 - 1, 0], 'Uint32Array'],
      [[-1, 7], 'Int32Array'],
      [[], 'Uint8Array'],
    ];
    for (const [values, type] of cases) {
      const out = narrowest(Int32Array.from(values));
      assert.equal(out.constructor.name, type, JSON.stringify(values));
      assert.deepEqual([...out], values);
    }
  });
});
