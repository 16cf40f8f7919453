import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildMatrix } from '../../../src/webview/logic/matrix';
import { buildGraph, DENSE_LIMIT, groupLists, identicalGroups, NEAREST, sparsify, thresholdRange } from '../../../src/webview/logic/graph';
import type { GraphEdge } from '../../../src/webview/logic/graph';
import { makeResult } from '../../webview/fixture';

describe('network graph data', () => {
  const r = makeResult();

  test('identical components form linked groups (union-find)', () => {
    const unet = buildMatrix(r, 'unet', 'l2');
    assert.deepEqual(identicalGroups(unet), [0, 1, 2, 0, 4]);
    assert.deepEqual(groupLists(identicalGroups(unet)), [[0, 3]]);
    const te = buildMatrix(r, 'te', 'l2');
    assert.deepEqual(groupLists(identicalGroups(te)), [[0, 2, 3]]);
    const other = buildMatrix(r, 'other', 'l2');
    assert.deepEqual(groupLists(identicalGroups(other)), [[0, 1, 2, 3, 4]]);
  });

  test('edges: identical ones dashed-kind with "=" label and shortest length; lengths grow with distance', () => {
    const m = buildMatrix(r, 'unet', 'l2');
    const g = buildGraph(r, m, { threshold: null, minLength: 50, maxLength: 500 });
    assert.equal(g.edges.length, 10);
    const ident = g.edges.find((e) => e.id === '0-3')!;
    assert.equal(ident.kind, 'identical');
    assert.equal(ident.label, '=');
    const values = g.edges.filter((e) => e.kind === 'value').sort((a, b) => a.distance - b.distance);
    for (let i = 1; i < values.length; i++) assert.ok(values[i]!.length >= values[i - 1]!.length);
    assert.equal(values[0]!.length, 50);
    assert.equal(values.at(-1)!.length, 500);
    assert.ok(ident.length < values[0]!.length);
    assert.ok(g.edges.find((e) => e.id === '0-1')!.title.includes('identical components: other'));
  });

  test('not comparable pairs have no edge', () => {
    const te = buildMatrix(r, 'te', 'l2');
    const g = buildGraph(r, te, { threshold: null });
    assert.equal(g.edges.filter((e) => e.from === 4 || e.to === 4).length, 0);
  });

  test('threshold hides far value edges but never identical ones', () => {
    const m = buildMatrix(r, 'unet', 'l2');
    const g = buildGraph(r, m, { threshold: 45 });
    for (const e of g.edges) assert.equal(e.hidden, e.kind === 'value' && e.distance > 45, e.id);
    assert.ok(g.edges.some((e) => e.hidden));
    const range = thresholdRange(m);
    assert.equal(range.min, 0);
    assert.equal(range.max, m.max);
    assert.ok(range.step > 0 && range.step <= m.max! / 100);
  });

  test('large model sets keep each model\'s nearest edges and every identical edge', () => {
    const n = DENSE_LIMIT + 10;
    const edges: GraphEdge[] = [];
    for (let a = 0; a < n; a++)
      for (let b = a + 1; b < n; b++)
        edges.push({ id: `${a}-${b}`, from: a, to: b, kind: b === a + 1 && a % 7 === 0 ? 'identical' : 'value', distance: Math.abs(a - b), value: Math.abs(a - b), label: '', title: '', length: 1, hidden: false });
    const kept = sparsify(edges, n);
    assert.ok(kept.length < edges.length / 4);
    assert.ok(edges.filter((e) => e.kind === 'identical').every((e) => kept.includes(e)));
    for (let x = 0; x < n; x++) assert.ok(kept.filter((e) => e.from === x || e.to === x).length >= Math.min(NEAREST, n - 1));
    assert.equal(sparsify(edges.slice(0, 5), 5).length, 5);
  });
});
