import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childNodes, describeNode, identicalTo, nodeForFocus, nodeId, pairSummary, parentNode, rootNodes, type TreeNode } from '../../../src/extension/views/treeModel';
import { sampleResult } from './sampleResult';

test('roots: one node per model, then Differences and the unreadable files', () => {
  const r = sampleResult();
  assert.deepEqual(rootNodes(r).map((n) => n.kind), ['model', 'model', 'model', 'differences', 'errors']);
});

test('components carry params, dtype mix and "identical to" markers', () => {
  const r = sampleResult();
  const comps = childNodes(r, { kind: 'model', model: 0 });
  assert.deepEqual(comps.map((c) => (c as { component: string }).component), ['unet', 'vae']);
  const unet = describeNode(r, comps[0]!);
  assert.equal(unet.label, 'unet');
  assert.match(unet.description!, /500 params/);
  assert.match(unet.description!, /F16×2/);
  assert.match(unet.description!, /identical to copy\.safetensors/);
  assert.deepEqual(unet.focus, { model: 0, component: 'unet' });
  assert.deepEqual(identicalTo(r, 2, 'unet'), []);
  assert.equal(describeNode(r, { kind: 'component', model: 2, component: 'vae' }).description, '100 params · F16×1 F32×1');
});

test('tensors of a component come from the header the caller loaded', () => {
  const r = sampleResult();
  const kids = childNodes(r, { kind: 'component', model: 0, component: 'vae' }, [
    { name: 'first_stage_model.a', component: 'vae', dtype: 'F16', shape: [4, 4] },
    { name: 'model.diffusion_model.b', component: 'unet', dtype: 'F16', shape: [1] },
  ]);
  assert.equal(kids.length, 1);
  const v = describeNode(r, kids[0]!);
  assert.equal(v.label, 'first_stage_model.a');
  assert.equal(v.description, 'F16 [4, 4]');
  assert.equal(v.collapsible, 'none');
});

test('Differences: pairs, their component statuses and key groups', () => {
  const r = sampleResult();
  const pairs = childNodes(r, { kind: 'differences' });
  assert.equal(pairs.length, 3);
  assert.equal(describeNode(r, pairs[0]!).description, 'identical');
  assert.equal(pairSummary(r, r.pairs[1]!), '1 changed · 1 equal values');
  const kids = childNodes(r, pairs[1]!);
  assert.deepEqual(kids.map((k) => (k.kind === 'diffGroup' ? k.group : k.kind === 'pairComponent' ? k.component : k.kind)), ['unet', 'vae', 'only_a', 'only_b', 'mismatched', 'dtype']);
  const groups = kids.filter((k) => k.kind === 'diffGroup');
  assert.deepEqual(groups.map((g) => describeNode(r, g).label), ['Only in A', 'Only in B', 'Shape mismatches', 'Dtype differences']);
  const mism = childNodes(r, groups[2]!);
  assert.equal(describeNode(r, mism[0]!).label, 'model.diffusion_model.input_blocks.0.0.weight');
  assert.equal(describeNode(r, mism[0]!).description, '[320,4,3,3] vs [320,9,3,3]');
  const unet = describeNode(r, kids[0]!);
  assert.match(unet.description!, /changed · L2 1\.500/);
  assert.deepEqual(unet.focus, { pair: { a: 0, b: 2 }, component: 'unet' });
  assert.deepEqual(describeNode(r, pairs[1]!).focus, { pair: { a: 0, b: 2 } });
});

test('untrusted names stay plain text in labels and tooltips', () => {
  const r = sampleResult();
  const v = describeNode(r, { kind: 'model', model: 2 });
  assert.equal(v.label, '<img src=x onerror=alert(1)>.safetensors');
  assert.equal(typeof v.tooltip, 'string');
  const p = describeNode(r, { kind: 'pair', a: 0, b: 2 });
  assert.equal(p.label, 'base.safetensors ↔ <img src=x onerror=alert(1)>.safetensors');
});

test('ids are unique and parents invert children', () => {
  const r = sampleResult();
  const seen = new Set<string>();
  const walk = (nodes: TreeNode[]) => {
    for (const n of nodes) {
      const id = nodeId(n);
      assert.ok(!seen.has(id), `duplicate id ${id}`);
      seen.add(id);
      const kids = childNodes(r, n);
      for (const k of kids) assert.equal(nodeId(parentNode(k)!), id);
      walk(kids);
    }
  };
  walk(rootNodes(r));
  assert.ok(seen.size > 15);
});

test('a focus from the panel maps to the tree node to reveal', () => {
  assert.deepEqual(nodeForFocus({ pair: { a: 2, b: 0 } }), { kind: 'pair', a: 0, b: 2 });
  assert.deepEqual(nodeForFocus({ pair: { a: 0, b: 2 }, component: 'vae' }), { kind: 'pairComponent', a: 0, b: 2, component: 'vae' });
  assert.deepEqual(nodeForFocus({ model: 1, component: 'unet' }), { kind: 'component', model: 1, component: 'unet' });
  assert.equal(nodeForFocus({}), undefined);
});
