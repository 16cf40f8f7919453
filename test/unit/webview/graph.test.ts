import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildMatrix } from '../../../src/webview/logic/matrix';
import { buildGraph, defaultEdgeMode, DENSE_LIMIT, edgePairs, equalNotIdenticalLists, equalValueGroups, groupLists, identicalGroups, NEAREST, thresholdRange } from '../../../src/webview/logic/graph';
import { seriate } from '../../../src/webview/logic/seriation';
import type { CompareResult } from '../../../src/shared/result';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeResult } from '../../webview/fixture';
import { writeLargeResult } from '../../fixtures/largeResult';
import { tmpDir } from '../../helpers/tmp';

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

  test('nearest: each model keeps its NEAREST closest and every identical or equal pair', () => {
    const n = DENSE_LIMIT + 10;
    const r = makeResult();
    const models = Array.from({ length: n }, (_, i) => ({ ...r.models[0]!, index: i, file: `m${i}.safetensors` }));
    const pairs: CompareResult['pairs'] = [];
    for (let a = 0; a < n; a++)
      for (let b = a + 1; b < n; b++) {
        const same = b === a + 1 && a % 7 === 0;
        pairs.push({ a, b, differences: r.pairs[0]!.differences, components: { unet: { ...r.pairs[0]!.components.unet!, status: same ? 'identical' : 'changed', identical: same, l2: same ? 0 : Math.abs(a - b) } } });
      }
    const m = buildMatrix({ ...r, models, pairs, components: ['unet'] }, 'unet', 'l2');
    const kept = edgePairs(m, 'nearest');
    assert.ok(kept.length < pairs.length / 4);
    for (let a = 0; a < n - 1; a += 7) assert.ok(kept.some(([x, y]) => x === a && y === a + 1), `identical ${a}-${a + 1}`);
    for (let x = 0; x < n; x++) assert.ok(kept.filter(([p, q]) => p === x || q === x).length >= NEAREST);
    assert.equal(edgePairs(m, 'all').length, pairs.length);
    const backbone = edgePairs(m, 'backbone', seriate(m).backbone);
    assert.equal(backbone.length, n - 1, 'a spanning tree');
    assert.equal(defaultEdgeMode(n), 'backbone');
    assert.equal(defaultEdgeMode(5), 'all');
  });

  test('many models: backbone edges, names on hover, clusters per node', () => {
    const dir = tmpDir();
    writeLargeResult(dir, { models: 40, families: 4, keyStride: 40 });
    const big = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as CompareResult;
    const m = buildMatrix(big, 'unet', 'l2');
    const s = seriate(m);
    const g = buildGraph(big, m, { threshold: null, mode: 'backbone', backbone: s.backbone, clusters: s.clusters.cluster, labelsOnHover: true });
    assert.equal(g.edges.length, 39);
    assert.ok(g.nodes.every((x) => x.label === '' && x.title.startsWith(`#${x.id} `)));
    assert.ok(s.clusters.count >= 4, `${s.clusters.count} clusters`);
    assert.deepEqual(g.nodes.map((x) => x.cluster), s.clusters.cluster);
  });
});

describe('identical means bit-identical (issue 9)', () => {
  // the fp32 copy (equal values), the NaN model (changed: 1, non_finite: 1, l2 0) and the shape-mismatch model
  // (equal values) are never in a bit-identical group; the exact copy is
  const dir = tmpDir();
  const manifest = writeLargeResult(dir, { models: 12, families: 3, keyStride: 24 });
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as CompareResult;
  const m = buildMatrix(r, 'unet', 'l2');
  const groups = identicalGroups(m);
  const sp = manifest.special;
  const sourceOf = (i: number) => manifest.models[i]!.source!;

  for (const [what, i] of [['fp32 copy', sp.fp32![0]!], ['NaN model', sp.nan![0]!], ['shape-mismatch model', sp.shape![0]!]] as const) {
    test(`the ${what} is not in its source's bit-identical group`, () => {
      assert.notEqual(groups[i], groups[sourceOf(i)]);
      const g = buildGraph(r, m, { threshold: null });
      assert.ok(!g.nodes[i]!.title.includes('bit-identical with'), g.nodes[i]!.title);
      const e = g.edges.find((x) => x.from === Math.min(i, sourceOf(i)) && x.to === Math.max(i, sourceOf(i)))!;
      assert.notEqual(e.kind, 'identical');
      assert.ok(!/: bit-identical/.test(e.title), e.title);
    });
  }

  test('equal values are a group of their own; the NaN model is in neither', () => {
    const copy = sp.copy![0]!;
    assert.equal(groups[copy], groups[sourceOf(copy)], 'the exact copy is bit-identical');
    const equal = equalNotIdenticalLists(m);
    assert.ok(equal.some((l) => l.includes(sp.fp32![0]!) && l.includes(sourceOf(sp.fp32![0]!))), JSON.stringify(equal));
    assert.ok(equal.some((l) => l.includes(sp.shape![0]!) && l.includes(sourceOf(sp.shape![0]!))), JSON.stringify(equal));
    const nan = sp.nan![0]!;
    assert.notEqual(equalValueGroups(m)[nan], equalValueGroups(m)[sourceOf(nan)]);
    assert.equal(m.cells[nan]![sourceOf(nan)]!.kind, 'value', 'distance 0 over the finite keys, still changed');
  });
});
