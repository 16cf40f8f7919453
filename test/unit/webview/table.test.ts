import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareValues, filterRows, makeNameFilter, nextSort, sortRows, visibleRange } from '../../../src/webview/logic/table';
import { layerRows } from '../../webview/fixture';

describe('table sorting', () => {
  test('numbers numerically, nulls and NaN last in both directions', () => {
    const rows = [3, null, 1, Number.NaN, 2, undefined];
    assert.deepEqual(sortRows(rows, (x) => x, 'asc').slice(0, 3), [1, 2, 3]);
    assert.deepEqual(sortRows(rows, (x) => x, 'desc').slice(0, 3), [3, 2, 1]);
    for (const dir of ['asc', 'desc'] as const) {
      const tail = sortRows(rows, (x) => x, dir).slice(3);
      assert.ok(tail.every((x) => x === null || x === undefined || Number.isNaN(x)));
    }
  });
  test('strings with natural order, case-insensitive; stable for ties', () => {
    const rows = [
      { k: 'block10', i: 0 },
      { k: 'Block2', i: 1 },
      { k: 'block2', i: 2 },
      { k: 'block1', i: 3 },
    ];
    assert.deepEqual(
      sortRows(rows, (r) => r.k, 'asc').map((r) => r.i),
      [3, 1, 2, 0],
    );
    assert.equal(compareValues('a', 'B', 'asc'), -1);
  });
  test('does not mutate its input', () => {
    const rows = [2, 1];
    sortRows(rows, (x) => x, 'asc');
    assert.deepEqual(rows, [2, 1]);
  });
  test('header clicks cycle: text asc -> desc -> off; numbers start descending', () => {
    assert.deepEqual(nextSort(null, 'key'), { column: 'key', dir: 'asc' });
    assert.deepEqual(nextSort({ column: 'key', dir: 'asc' }, 'key'), { column: 'key', dir: 'desc' });
    assert.equal(nextSort({ column: 'key', dir: 'desc' }, 'key'), null);
    assert.deepEqual(nextSort({ column: 'key', dir: 'asc' }, 'l2', true), { column: 'l2', dir: 'desc' });
    assert.deepEqual(nextSort({ column: 'l2', dir: 'desc' }, 'l2', true), { column: 'l2', dir: 'asc' });
  });
  test('3,200 layer rows sort by L2 descending with n/a last', () => {
    const rows = layerRows(0, 4);
    const sorted = sortRows(rows, (r) => r.l2, 'desc');
    const firstNull = sorted.findIndex((r) => r.l2 === null);
    assert.ok(firstNull > 0);
    assert.ok(sorted.slice(firstNull).every((r) => r.l2 === null));
    for (let i = 1; i < firstNull; i++) assert.ok(sorted[i - 1]!.l2! >= sorted[i]!.l2!);
  });
});

describe('table filtering', () => {
  test('substring terms, all must match, case-insensitive, "-term" excludes', () => {
    const f = makeNameFilter('ATTN1 -to_k');
    assert.equal(f('x.attn1.to_q.weight'), true);
    assert.equal(f('x.attn1.to_k.weight'), false);
    assert.equal(f('x.attn2.to_q.weight'), false);
    assert.equal(makeNameFilter('')('anything'), true);
    assert.equal(makeNameFilter('  ')('anything'), true);
    assert.equal(makeNameFilter('-')('a-b'), true, 'a lone dash is a literal');
    assert.equal(makeNameFilter('<script>')('k.<script>.w'), true, 'markup is matched as text');
  });
  test('by name and by component', () => {
    const rows = layerRows(0, 1);
    const vae = filterRows(rows, { text: '', component: 'vae' }, (r) => r.key, (r) => r.component);
    assert.equal(vae.length, 300);
    const attn2 = filterRows(rows, { text: 'attn2' }, (r) => r.key, (r) => r.component);
    assert.ok(attn2.length > 0 && attn2.every((r) => r.key.includes('attn2')));
    const both = filterRows(rows, { text: 'attn2', component: 'te' }, (r) => r.key, (r) => r.component);
    assert.ok(both.length > 0 && both.every((r) => r.component === 'te' && r.key.includes('attn2')));
  });
});

describe('virtualization window', () => {
  test('rows in view plus overscan, clamped', () => {
    assert.deepEqual(visibleRange(0, 440, 22, 3200, 8), { start: 0, end: 28 });
    assert.deepEqual(visibleRange(22 * 1000, 440, 22, 3200, 8), { start: 992, end: 1028 });
    assert.deepEqual(visibleRange(22 * 3199, 440, 22, 3200, 8), { start: 3191, end: 3200 });
    assert.deepEqual(visibleRange(99999999, 440, 22, 10, 8), { start: 10, end: 10 });
    assert.deepEqual(visibleRange(0, 440, 22, 0), { start: 0, end: 0 });
  });
});
