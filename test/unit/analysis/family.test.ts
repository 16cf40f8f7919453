import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { averageLinkage, familyView, familyViews, minimumSpanningForest, orientForest } from '../../../src/compute/analysis/family';
import { base, cast, finetune, layout } from '../../fixtures/synth';
import { comparedFolder, tmpRoot, type ComparedFolder } from './helpers';

// the textbook UPGMA example (a..e)
const M = [
  [0, 17, 21, 31, 23],
  [17, 0, 30, 34, 21],
  [21, 30, 0, 28, 39],
  [31, 34, 28, 0, 43],
  [23, 21, 39, 43, 0],
];

describe('average linkage (pure)', () => {
  test('textbook example: (a,b) at 17, +e at 22, (c,d) at 28, root at 33', () => {
    const { nodes, roots } = averageLinkage(M);
    const inner = nodes.slice(5);
    assert.deepEqual(
      inner.map((n) => [n.children, n.height, n.size]),
      [
        [[0, 1], 17, 2],
        [[4, 5], 22, 3],
        [[2, 3], 28, 2],
        [[6, 7], 33, 5],
      ],
    );
    assert.deepEqual(roots, [8]);
    assert.equal(inner[3]!.linkedPairs, 6);
  });

  test('a missing distance is left out of the mean; no comparable pair at all gives a forest', () => {
    const holes = M.map((r) => r.slice() as (number | null)[]);
    holes[0]![2] = holes[2]![0] = null; // a-c unknown
    const { nodes } = averageLinkage(holes);
    // (abe) vs c: mean of b-c 30 and e-c 39 only
    const abe = nodes.find((n) => n.size === 3)!;
    const root = nodes.at(-1)!;
    assert.equal(abe.height, 22);
    assert.deepEqual(nodes[7]!.children, [2, 3]);
    assert.equal(root.height, (30 + 39 + 31 + 34 + 43) / 5);
    assert.equal(root.linkedPairs, 5);

    const split = [
      [0, 1, null, null],
      [1, 0, null, null],
      [null, null, 0, 2],
      [null, null, 2, 0],
    ];
    const f = averageLinkage(split);
    assert.deepEqual(f.roots, [4, 5]);
  });
});

describe('minimum spanning forest (pure)', () => {
  test('Kruskal on the textbook matrix; medoid root and orientation', () => {
    const edges = minimumSpanningForest(M);
    assert.deepEqual(edges, [
      { a: 0, b: 1, w: 17 },
      { a: 0, b: 2, w: 21 },
      { a: 1, b: 4, w: 21 },
      { a: 2, b: 3, w: 28 },
    ]);
    const { roots, directed } = orientForest(M, edges);
    assert.deepEqual(roots, [0]); // a: least total path along the tree (17 + 21 + 38 + 49)
    assert.deepEqual(directed.map((e) => [e.parent, e.child]), [[0, 1], [0, 2], [1, 4], [2, 3]]);
  });

  test('disconnected graph: one tree per part', () => {
    const split = [
      [0, 1, null],
      [1, 0, null],
      [null, null, 0],
    ];
    const edges = minimumSpanningForest(split);
    assert.equal(edges.length, 1);
    assert.deepEqual(orientForest(split, edges).roots, [0, 2]);
  });
});

describe('family of a synthetic folder', () => {
  const root = tmpRoot('family');
  let f: ComparedFolder;
  before(async () => {
    const L = layout('sd15', { scale: 32 });
    const b = cast(base(L, 1), 'F16');
    const ft1 = finetune(b, { components: ['unet'], sigma: 0.004, seed: 11 });
    f = await comparedFolder(root.path, [
      { file: 'base.safetensors', recipe: b },
      { file: 'ft1.safetensors', recipe: ft1 },
      { file: 'ft1a.safetensors', recipe: finetune(ft1, { components: ['unet'], sigma: 0.001, seed: 12 }) },
      { file: 'ft2.safetensors', recipe: finetune(b, { components: ['unet'], sigma: 0.004, seed: 13 }) },
      { file: 'other.safetensors', recipe: cast(base(L, 2), 'F16') },
    ]);
  });
  after(() => root.cleanup());

  test('UNet: the MST follows the derivations, rooted at the base; the dendrogram joins ft1+ft1a first, other last', () => {
    const v = familyView(f.result, 'unet');
    const name = (i: number) => f.result.models[i]!.file.replace('.safetensors', '');
    const edges = v.mst.edges.map((e) => [name(e.a), name(e.b)].sort().join('-')).sort();
    assert.ok(edges.includes('ft1-ft1a'));
    assert.ok(edges.includes('base-ft1'));
    assert.ok(edges.includes('base-ft2'));
    assert.equal(edges.length, 4);
    assert.equal(name(v.mst.roots[0]!), 'base');
    const directed = v.mst.directed.map((e) => `${name(e.parent)}>${name(e.child)}`);
    for (const e of ['base>ft1', 'ft1>ft1a', 'base>ft2']) assert.ok(directed.includes(e), e);
    // other hangs off the family as a leaf
    assert.equal(v.mst.edges.filter((e) => name(e.a) === 'other' || name(e.b) === 'other').length, 1);

    const nodes = v.dendrogram.nodes;
    const first = nodes[5]!;
    assert.deepEqual(first.children!.map((c) => nodes[c]!.file).sort(), ['ft1.safetensors', 'ft1a.safetensors']);
    const l2 = (x: string, y: string) => {
      const p = f.result.pairs.find((q) => [q.a, q.b].sort().join() === [f.index(x), f.index(y)].sort().join())!;
      return p.components.unet!.l2!;
    };
    assert.equal(first.height, l2('ft1.safetensors', 'ft1a.safetensors'));
    const top = nodes[v.dendrogram.roots[0]!]!;
    assert.equal(top.size, 5);
    const otherLeaf = nodes.find((n) => n.file === 'other.safetensors')!.id;
    assert.ok(top.children!.includes(otherLeaf));
    const others = ['base', 'ft1', 'ft1a', 'ft2'].map((x) => l2('other.safetensors', x + '.safetensors'));
    assert.ok(Math.abs(top.height - others.reduce((s, x) => s + x, 0) / 4) < 1e-9 * top.height);
  });

  test('components the family shares are at height 0; every component present twice gets a view', () => {
    const vae = familyView(f.result, 'vae');
    const zero = vae.dendrogram.nodes.filter((n) => n.children && n.height === 0);
    assert.equal(zero.length, 3); // base, ft1, ft1a, ft2 share the VAE
    assert.deepEqual(familyViews(f.result).map((x) => x.component), f.result.components);
  });
});
