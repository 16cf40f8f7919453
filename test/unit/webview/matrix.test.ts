import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ComponentDiff } from '../../../src/shared/result';
import { buildMatrix, cellMark, findPair, identicalComponents, matrixTable } from '../../../src/webview/logic/matrix';
import { classifyDiff, toDistance } from '../../../src/shared/distanceCell';
import { makeResult } from '../../webview/fixture';

const diff = (over: Partial<ComponentDiff>): ComponentDiff => ({
  status: 'changed',
  l2: 1.5,
  cosine: 0.75,
  identical: false,
  equal_values: false,
  shared: 10,
  only_a: 0,
  only_b: 0,
  mismatched: 0,
  dtype_diff: 0,
  changed: 10,
  non_finite: 0,
  bytes_only: 0,
  ...over,
});

describe('classifyDiff: identical vs n/a vs values', () => {
  test('identical is its own kind with distance 0, whatever the metric', () => {
    for (const metric of ['l2', 'cosine'] as const) {
      const c = classifyDiff(diff({ status: 'identical', identical: true, l2: 0, cosine: 1 }), metric);
      assert.equal(c.kind, 'identical');
      assert.equal(c.distance, 0);
    }
  });
  test('not comparable is n/a with no value and no distance (never 0)', () => {
    const c = classifyDiff(diff({ status: 'not_comparable', l2: null, cosine: null, shared: 0 }), 'l2');
    assert.deepEqual(c, { kind: 'na', value: null, distance: null });
  });
  test('changed with a null metric (cosine of an all-zero side) is n/a', () => {
    assert.equal(classifyDiff(diff({ cosine: null }), 'cosine').kind, 'na');
    assert.equal(classifyDiff(diff({ l2: Number.NaN }), 'l2').kind, 'na');
  });
  test('equal values, absent components and plain values', () => {
    assert.equal(classifyDiff(diff({ status: 'equal_values', equal_values: true, l2: 0 }), 'l2').kind, 'equal');
    assert.equal(classifyDiff(diff({ status: 'only_in_a' }), 'l2').kind, 'absent');
    assert.equal(classifyDiff(diff({ status: 'only_in_b' }), 'l2').kind, 'absent');
    assert.equal(classifyDiff(undefined, 'l2').kind, 'absent');
    assert.deepEqual(classifyDiff(diff({}), 'l2'), { kind: 'value', value: 1.5, distance: 1.5 });
    assert.deepEqual(classifyDiff(diff({}), 'cosine'), { kind: 'value', value: 0.75, distance: 0.25 });
  });
  test('a changed component whose L2 is exactly 0 is still a value (a real measurement)', () => {
    assert.deepEqual(classifyDiff(diff({ l2: 0 }), 'l2'), { kind: 'value', value: 0, distance: 0 });
  });
  test('toDistance', () => {
    assert.equal(toDistance('l2', 3), 3);
    assert.equal(toDistance('cosine', 0.25), 0.75);
  });
});

describe('buildMatrix from a CompareResult', () => {
  const r = makeResult();

  test('square, symmetric, diagonal is self', () => {
    const m = buildMatrix(r, 'unet', 'l2');
    assert.equal(m.n, 5);
    for (let a = 0; a < 5; a++) {
      assert.equal(m.cells[a]![a]!.kind, 'self');
      for (let b = 0; b < 5; b++) {
        const x = m.cells[a]![b]!;
        const y = m.cells[b]![a]!;
        assert.equal(x.a, a);
        assert.equal(x.b, b);
        assert.equal(x.kind, y.kind);
        assert.equal(x.value, y.value);
      }
    }
  });

  test('identical and not comparable cells are classified, with the exact values elsewhere', () => {
    const unet = buildMatrix(r, 'unet', 'l2');
    assert.equal(unet.cells[0]![3]!.kind, 'identical');
    assert.equal(unet.cells[0]![1]!.kind, 'value');
    assert.equal(unet.cells[0]![1]!.value, r.pairs[0]!.components.unet!.l2);
    const te = buildMatrix(r, 'te', 'l2');
    assert.equal(te.cells[0]![4]!.kind, 'na');
    assert.equal(te.cells[4]![0]!.kind, 'na');
    assert.equal(te.cells[0]![4]!.value, null);
    assert.equal(te.cells[0]![2]!.kind, 'identical');
  });

  test('extent covers value cells only (identical zeros do not pull the minimum to 0)', () => {
    const m = buildMatrix(r, 'unet', 'l2');
    const values = m.cells.flat().filter((c) => c.kind === 'value').map((c) => c.value!);
    assert.equal(m.min, Math.min(...values));
    assert.equal(m.max, Math.max(...values));
    assert.ok(m.min! > 0);
  });

  test('cosine matrix uses 1 - cosine as distance', () => {
    const m = buildMatrix(r, 'unet', 'cosine');
    const c = m.cells[0]![1]!;
    assert.equal(c.value, r.pairs[0]!.components.unet!.cosine);
    assert.equal(c.distance, 1 - c.value!);
  });

  test('a component missing from the pairs is absent; only-in-A mirrors to only-in-B', () => {
    const m = buildMatrix(r, 'ema', 'l2');
    assert.ok(m.cells.flat().every((c) => c.kind === 'self' || c.kind === 'absent'));
    assert.equal(m.min, null);
    const r2 = makeResult();
    r2.pairs[0]!.components.vae = { ...r2.pairs[0]!.components.vae!, status: 'only_in_a', l2: null, cosine: null };
    const v = buildMatrix(r2, 'vae', 'l2');
    assert.equal(v.cells[0]![1]!.status, 'only_in_a');
    assert.equal(v.cells[1]![0]!.status, 'only_in_b');
  });

  test('findPair accepts either order and survives pairs not in pairIndex order', () => {
    const p = findPair(r, 3, 1)!;
    assert.deepEqual([p.a, p.b], [1, 3]);
    const shuffled = { ...r, pairs: [...r.pairs].reverse() };
    const q = findPair(shuffled, 1, 3)!;
    assert.deepEqual([q.a, q.b], [1, 3]);
    assert.equal(findPair(r, 2, 2), undefined);
  });

  test('identicalComponents lists the bit-identical components of a pair', () => {
    assert.deepEqual(identicalComponents(r, 0, 3), ['unet', 'te', 'vae', 'other']);
    assert.deepEqual(identicalComponents(r, 0, 2), ['te', 'vae', 'other']);
    assert.deepEqual(identicalComponents(r, 0, 1), ['other']);
  });
});

describe('cell marks and the matrix CSV', () => {
  const r = makeResult();
  test('identical is "=", not comparable is "n/a", never "0"', () => {
    const unet = buildMatrix(r, 'unet', 'l2');
    const te = buildMatrix(r, 'te', 'l2');
    const fmt = (v: number) => v.toFixed(1);
    assert.equal(cellMark(unet.cells[0]![3]!, fmt), '=');
    assert.equal(cellMark(te.cells[0]![4]!, fmt), 'n/a');
    assert.equal(cellMark(unet.cells[1]![1]!, fmt), '·');
    assert.equal(cellMark(unet.cells[0]![1]!, fmt), unet.cells[0]![1]!.value!.toFixed(1));
  });
  test('matrixTable writes words for special cells and exact numbers for values', () => {
    const te = buildMatrix(r, 'te', 'l2');
    const t = matrixTable(te, ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual(t.header, ['model', 'm0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual(t.rows[0], ['m0', '', te.cells[0]![1]!.value, 'identical', 'identical', 'n/a']);
  });
});

describe('one classifier: the panel and the SVG figure mark every cell alike', () => {
  test('absent is "–" and not comparable "n/a" in both', async () => {
    const { distanceCells, distanceHeatmapOption } = await import('../../../src/views/charts/distance');
    const { renderSvg } = await import('../../../src/views/charts/ssr');
    const { LIGHT_PALETTE } = await import('../../../src/views/charts/palette');
    const r = makeResult();
    const p0 = r.pairs[0]!;
    p0.components.te = { ...p0.components.te!, status: 'only_in_a', l2: null, cosine: null, identical: false, equal_values: false };
    for (const component of r.components) {
      const panel = buildMatrix(r, component, 'l2');
      for (const c of distanceCells(r, component, 'l2')) {
        const p = panel.cells[c.a]![c.b]!;
        assert.equal(c.kind, p.kind, `${component} [${c.a}][${c.b}]`);
        assert.equal(c.value, p.value);
      }
    }
    const te = buildMatrix(r, 'te', 'l2');
    const kinds = new Set(te.cells.flat().map((c) => c.kind));
    assert.ok(kinds.has('na') && kinds.has('absent') && kinds.has('identical'), 'te has every kind of unvalued cell');
    const svg = renderSvg(distanceHeatmapOption(r, 'te', 'l2', LIGHT_PALETTE), 600, 600);
    const marks = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    for (const kind of ['na', 'absent', 'identical'] as const) {
      const count = te.cells.flat().filter((c) => c.kind === kind).length;
      assert.equal(marks.filter((t) => t === cellMark({ kind, value: null } as Parameters<typeof cellMark>[0], String)).length, count, kind);
    }
  });
});
