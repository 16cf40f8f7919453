import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDtypes, formatShape, slug } from '../../../src/webview/logic/labels';
import { numel, prettyMetadataValue } from '../../../src/webview/logic/inspect';
import { formatBytes, formatCount, formatDuration, formatInt, fullPrecision, formatNumber } from '../../../src/shared/format';
import { modelName, shorten } from '../../../src/shared/text';

describe('formatting', () => {
  test('full precision round-trips', () => {
    for (const v of [0.1 + 0.2, 40.35799461658391, 1e-300, -0, 123456789.123]) assert.equal(Number(fullPrecision(v)), v);
    assert.equal(fullPrecision(null), 'n/a');
    assert.equal(fullPrecision(Number.NaN), 'NaN');
    assert.equal(fullPrecision(-0), '-0');
  });
  test('short numbers', () => {
    assert.equal(formatNumber(40.35799461658391), '40.36');
    assert.equal(formatNumber(67.0106, 3), '67');
    assert.equal(formatNumber(0.000123), '1.23e-4');
    assert.equal(formatNumber(12345678), '1.23e+7');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(null), 'n/a');
  });
  test('integers, bytes, counts, eta, shapes, dtypes', () => {
    assert.equal(formatInt(3200), '3,200');
    assert.equal(formatInt(-1234567), '-1,234,567');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(2_132_000_000), '1.99 GiB');
    assert.equal(formatCount(859_520_964), '859.5M');
    assert.equal(formatCount(480_000), '480K');
    assert.equal(formatCount(2_567_000_000), '2.57B');
    assert.equal(formatDuration(63), '1m 03s');
    assert.equal(formatDuration(3725), '1h 02m');
    assert.equal(formatDuration(null), '');
    assert.equal(formatShape([320, 4, 3, 3]), '[320, 4, 3, 3]');
    assert.equal(formatDtypes({ F32: 3, F16: 12, BF16: 3 }), 'F16: 12, BF16: 3, F32: 3');
  });
  test('labels and names', () => {
    assert.equal(shorten('abcdefghij', 5), 'ab…ij');
    assert.equal(shorten('short', 10), 'short');
    assert.equal(modelName(3, 'very-long-model-name.safetensors', 12), '#3 very-l…nsors');
    assert.equal(slug('matrix-unet-l2'), 'matrix-unet-l2');
    assert.equal(slug('../..//<x>'), '..-..-x');
    assert.equal(slug(''), 'export');
  });
  test('inspect helpers', () => {
    assert.equal(numel([320, 4, 3, 3]), 11520);
    assert.equal(numel([]), 1);
    assert.equal(prettyMetadataValue('{"a":[1,2]}'), '{\n  "a": [\n    1,\n    2\n  ]\n}');
    assert.equal(prettyMetadataValue('{not json'), '{not json');
    assert.equal(prettyMetadataValue('plain'), 'plain');
  });
});
