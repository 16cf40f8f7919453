import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelMap, writeModelMap, writeResultJson } from '../../../src/compute/output/resultFiles';
import type { CompareResult } from '../../../src/shared/result';
import { sampleResult } from '../extension/sampleResult';
import { tmpDir } from '../../helpers/tmp';

test('result.json and model_map_v2.json are streamed: the same text as JSON.stringify of the whole, no temporary file left', () => {
  const dir = tmpDir();
  const result = { ...sampleResult(), note: undefined, list: [1, undefined, NaN, 'a"b'] } as unknown as CompareResult;
  writeResultJson(dir, result);
  writeModelMap(dir, result);
  assert.equal(readFileSync(join(dir, 'result.json'), 'utf8'), JSON.stringify(result, null, 1));
  assert.equal(readFileSync(join(dir, 'model_map_v2.json'), 'utf8'), JSON.stringify(modelMap(result)));
  assert.ok(result.pairs.length > 0 && result.components.length > 0, 'the sample has pairs and components');
  assert.deepEqual(readdirSync(dir).sort(), ['model_map_v2.json', 'result.json'], 'no temporary file');
});
