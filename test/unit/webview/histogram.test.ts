import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { binValues, defaultBins, logCounts, MAX_BINS } from '../../../src/webview/logic/histogram';
import { layerRows } from '../../webview/fixture';
import { layersByComponent } from '../../../src/webview/logic/pair';

describe('histogram binning', () => {
  test('counts add up, min and max land in the first and last bins', () => {
    const h = binValues([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], 5);
    assert.deepEqual(h.edges, [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(h.counts, [2, 2, 2, 2, 2]);
    assert.equal(h.n, 10);
  });
  test('null, NaN and infinite values are left out and counted', () => {
    const h = binValues([1, null, Number.NaN, Infinity, 2, undefined], 2);
    assert.equal(h.n, 2);
    assert.equal(h.excluded, 4);
    assert.deepEqual(h.counts, [1, 1]);
  });
  test('all values equal: one bin; no values: empty', () => {
    assert.deepEqual(binValues([0, 0, 0]), { edges: [0, 0], counts: [3], n: 3, excluded: 0, min: 0, max: 0 });
    assert.deepEqual(binValues([null]), { edges: [], counts: [], n: 0, excluded: 1, min: null, max: null });
  });
  test('default bins: one per value like the notebook, capped', () => {
    assert.equal(defaultBins(7), 7);
    assert.equal(defaultBins(2400), MAX_BINS);
    assert.equal(defaultBins(0), 1);
  });
  test('log scale: empty bins have no bar', () => {
    assert.deepEqual(logCounts(binValues([0, 10], 3)), [1, null, 1]);
  });
  test('per-component L2 of a pair: every layer counted once', () => {
    const rows = layerRows(0, 4);
    const by = layersByComponent(rows, ['unet', 'te', 'vae', 'other']);
    assert.deepEqual([...by.keys()], ['unet', 'te', 'vae', 'other']);
    const te = binValues(by.get('te')!);
    assert.equal(te.excluded, 480, 'not comparable layers are left out');
    const unet = binValues(by.get('unet')!);
    assert.equal(unet.counts.reduce((a, b) => a + b, 0), 2400);
    assert.equal(unet.counts.length, MAX_BINS);
  });
});
