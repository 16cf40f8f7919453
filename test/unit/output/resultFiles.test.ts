import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeResultJson } from '../../../src/compute/output/resultFiles';
import type { CompareResult } from '../../../src/shared/result';
import { sampleResult } from '../extension/sampleResult';
import { tmpDir } from '../../helpers/tmp';

test('a result whose text does not fit in one string is written in pieces, the same JSON, not "Invalid string length"', () => {
  const dir = tmpDir();
  const real = { ...sampleResult(), note: undefined, list: [1, undefined, NaN, 'a"b'] } as unknown as CompareResult;
  let calls = 0;
  // JSON.stringify of the whole result fails as V8 does past ~512 MB; the pieces are small
  const huge = {
    toJSON() {
      if (calls++ === 0) throw new RangeError('Invalid string length');
      return real;
    },
  } as unknown as CompareResult;
  writeResultJson(dir, huge);
  assert.equal(calls, 2);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')), JSON.parse(JSON.stringify(real)));
  assert.deepEqual(readdirSync(dir), ['result.json'], 'no temporary file');
});
