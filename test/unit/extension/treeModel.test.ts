import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childNodes, describeNode, healthSummary, identicalTo, nodeForFocus, nodeId, PAGE_SIZE, pairSummary, parentNode, rootNodes, type TreeNode } from '../../../src/extension/views/treeModel';
import { sampleAnalysis } from './sampleAnalysis';
import { sampleResult } from './sampleResult';
import type { CompareResult } from '../../../src/shared/result';

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
  // the panel's formats: six significant digits for L2, a similarity with the digits that tell it from 1
  assert.equal(unet.description, 'changed · L2 1.5 · cos 0.85');
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
      for (const k of kids) assert.equal(nodeId(parentNode(k, r)!), id);
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

test('without an analysis a model lists its components only', () => {
  const r = sampleResult();
  assert.deepEqual(childNodes(r, { kind: 'model', model: 2 }).map((n) => n.kind), ['component', 'component']);
  assert.deepEqual(childNodes(r, { kind: 'model', model: 2 }, undefined, null).map((n) => n.kind), ['component', 'component']);
});

test('with an analysis: a Health node per model, its findings with error/warning/info icons', () => {
  const r = sampleResult();
  const a = sampleAnalysis(r);
  const kids = childNodes(r, { kind: 'model', model: 2 }, undefined, a);
  assert.deepEqual(kids.map((n) => n.kind), ['component', 'component', 'declaredParents', 'health']);
  const health = describeNode(r, kids[3]!, a);
  assert.equal(health.label, 'Health');
  assert.equal(health.description, '1 error · 2 warnings');
  assert.equal(health.icon, 'error');
  assert.equal(health.collapsible, 'collapsed');
  assert.equal(health.contextValue, 'health.error');
  const findings = childNodes(r, kids[3]!, undefined, a).map((n) => describeNode(r, n, a));
  assert.deepEqual(findings.map((f) => f.icon), ['error', 'warning', 'warning']);
  assert.equal(findings[1]!.label, 'missing for sd1: te');
  assert.equal(findings[0]!.tooltip, 'error: 1 tensor with NaN/Inf values (first: <img src=x onerror=alert(6)>)');

  const ok = describeNode(r, { kind: 'health', model: 0 }, a);
  assert.deepEqual([ok.description, ok.icon, ok.collapsible], ['no problems found', 'pass', 'none']);
  assert.deepEqual(childNodes(r, { kind: 'health', model: 0 }, undefined, a), []);
  const info = childNodes(r, { kind: 'health', model: 1 }, undefined, a).map((n) => describeNode(r, n, a));
  assert.deepEqual(info.map((f) => f.icon), ['info']);
  assert.equal(describeNode(r, { kind: 'health', model: 1 }, a).description, '1 note');
  assert.equal(healthSummary(a.health[2]!), '1 error · 2 warnings');
});

test('declared parents: named (or by their hash) with the model they matched; none for models declaring none', () => {
  const r = sampleResult();
  const a = sampleAnalysis(r);
  assert.ok(!childNodes(r, { kind: 'model', model: 0 }, undefined, a).some((n) => n.kind === 'declaredParents'));
  const node: TreeNode = { kind: 'declaredParents', model: 2 };
  const v = describeNode(r, node, a);
  assert.equal(v.label, 'Declared parents: base, ABCDEF0123, <script>alert(5)</script>');
  assert.equal(v.description, 'found: base.safetensors');
  assert.equal(v.tooltip, 'A: base -> base.safetensors (by name)\nB: ABCDEF0123 -> not in this folder\nC: <script>alert(5)</script> -> not in this folder');
  const parents = childNodes(r, node, undefined, a).map((n) => describeNode(r, n, a));
  assert.deepEqual(parents.map((p) => p.description), ['A · base.safetensors (by name)', 'B · not in this folder', 'C · not in this folder']);
  assert.deepEqual(parents.map((p) => p.icon), ['link', 'question', 'question']);
  assert.deepEqual(parents[0]!.focus, { model: 0 });
  assert.equal(parents[1]!.focus, undefined);
});

test('with an analysis, ids stay unique and parents still invert children', () => {
  const r = sampleResult();
  const a = sampleAnalysis(r);
  const seen = new Set<string>();
  const kinds = new Set<string>();
  const walk = (nodes: TreeNode[]) => {
    for (const n of nodes) {
      const id = nodeId(n);
      assert.ok(!seen.has(id), `duplicate id ${id}`);
      seen.add(id);
      kinds.add(n.kind);
      assert.equal(describeNode(r, n, a).id, id);
      const kids = childNodes(r, n, undefined, a);
      for (const k of kids) assert.equal(nodeId(parentNode(k, r)!), id);
      walk(kids);
    }
  };
  walk(rootNodes(r));
  for (const k of ['health', 'finding', 'declaredParents', 'declaredParent']) assert.ok(kinds.has(k), `no ${k} node`);
});

/** A result of `n` models, every pair compared (one component), models 0 and 1 bit-identical; 250 keys only in A for pair 0-1. */
function manyModels(n: number): CompareResult {
  const base = sampleResult();
  const models = Array.from({ length: n }, (_, i) => ({ ...base.models[0]!, index: i, file: `m${String(i).padStart(3, '0')}.safetensors`, path: `/models/m${i}.safetensors` }));
  const pairs: CompareResult['pairs'] = [];
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) {
      const same = a === 0 && b === 1;
      pairs.push({
        a,
        b,
        components: { unet: { ...base.pairs[0]!.components.unet!, status: same ? 'identical' : 'changed', identical: same, l2: same ? 0 : a + b } },
        differences: { only_a: same ? Array.from({ length: 250 }, (_, k) => `model.diffusion_model.k${k}`) : [], only_b: [], mismatched: [], dtype: [], truncated: false },
      });
    }
  return { ...base, models, pairs, errors: [], components: ['unet'] };
}

test('large results: models and differences in pages, pairs grouped by first model, parents invert children', () => {
  const r = manyModels(232);
  const roots = rootNodes(r);
  assert.deepEqual(roots.map((x) => x.kind), ['page', 'page', 'page', 'differences']);
  assert.deepEqual(roots.slice(0, 3).map((x) => describeNode(r, x).label), ['Models 1–100', 'Models 101–200', 'Models 201–232']);
  const diffs = describeNode(r, roots[3]!);
  assert.equal(diffs.collapsible, 'collapsed', 'not expanded at start: 26,796 pairs');
  assert.equal(diffs.description, '26,796 pairs, by first model');
  const groups = childNodes(r, roots[3]!);
  assert.deepEqual(groups.map((x) => x.kind), ['page', 'page', 'page'], '231 first models in pages');
  const firstPage = childNodes(r, groups[0]!);
  assert.equal(firstPage.length, PAGE_SIZE);
  assert.deepEqual(firstPage[0], { kind: 'pairsOf', a: 0 });
  assert.equal(describeNode(r, firstPage[0]!).description, '231 pairs · 1 bit-identical');
  const ofZero = childNodes(r, firstPage[0]!);
  assert.deepEqual(ofZero.map((x) => x.kind), ['page', 'page', 'page']);
  const pairs = childNodes(r, ofZero[0]!);
  assert.deepEqual(pairs.slice(0, 2), [{ kind: 'pair', a: 0, b: 1 }, { kind: 'pair', a: 0, b: 2 }]);
  // reveal walks up: pair (0, 150) -> its page -> pairs of #0 -> page of groups -> Differences
  const chain: string[] = [];
  let at: TreeNode | undefined = { kind: 'pairComponent', a: 0, b: 150, component: 'unet' };
  while (at) {
    chain.push(nodeId(at));
    at = parentNode(at, r);
  }
  assert.deepEqual(chain, ['d/0-150/c/unet', 'd/0-150', 'd/of/0/page/100', 'd/of/0', 'd/page/0', 'd']);
  assert.ok(childNodes(r, parentNode({ kind: 'pair', a: 0, b: 150 }, r)!).some((x) => nodeId(x) === 'd/0-150'));
  // a long key list of a pair is paged too
  const onlyA = childNodes(r, { kind: 'pair', a: 0, b: 1 }).find((x) => x.kind === 'diffGroup')!;
  const keyPages = childNodes(r, onlyA);
  assert.deepEqual(keyPages.map((x) => describeNode(r, x).label), ['1–100', '101–200', '201–250']);
  const key = childNodes(r, keyPages[2]!)[0]!;
  assert.equal(nodeId(parentNode(key, r)!), nodeId(keyPages[2]!));
  // a model in the second page of the root
  assert.equal(nodeId(parentNode({ kind: 'model', model: 150 }, r)!), 'models/page/100');
  // tensors of a large component
  const tensors = Array.from({ length: 120 }, (_, k) => ({ name: `model.diffusion_model.t${k}`, component: 'unet', dtype: 'F16', shape: [2] }));
  const tPages = childNodes(r, { kind: 'component', model: 3, component: 'unet' }, tensors);
  assert.equal(tPages.length, 2);
  const t = childNodes(r, tPages[1]!, tensors)[0]!;
  assert.equal(describeNode(r, t).label, 'model.diffusion_model.t100');
  assert.equal(nodeId(parentNode(t, r)!), nodeId(tPages[1]!));
});

test('small results are not paged: every pair under an expanded Differences', () => {
  const r = manyModels(14);
  const roots = rootNodes(r);
  assert.equal(roots.filter((x) => x.kind === 'model').length, 14);
  const d = roots.find((x) => x.kind === 'differences')!;
  assert.equal(describeNode(r, d).collapsible, 'expanded');
  assert.equal(childNodes(r, d).length, 91);
});

test('paged and grouped trees: ids unique, parents invert children', () => {
  const r = manyModels(120);
  const seen = new Set<string>();
  const walk = (nodes: TreeNode[]) => {
    for (const n of nodes) {
      const id = nodeId(n);
      assert.ok(!seen.has(id), `duplicate id ${id}`);
      seen.add(id);
      assert.equal(describeNode(r, n).id, id);
      const kids = childNodes(r, n);
      assert.ok(kids.length <= PAGE_SIZE, `${id} has ${kids.length} children`);
      for (const k of kids) assert.equal(nodeId(parentNode(k, r)!), id);
      walk(kids);
    }
  };
  walk(rootNodes(r));
  assert.ok(seen.size > 7140);
});

test('a LoRA lists the weights it changes under its components, with its kind, ranks and key space', () => {
  const r = sampleResult();
  const m = r.models[1]!;
  m.archDetail = 'SD 1.x LoRA (kohya; 3 LoRA modules, rank 4) changing 3 weights';
  m.lora = {
    family: 'SD 1.x',
    familyFrom: 'the base',
    keySpace: 'base base.safetensors (SD 1.x)',
    naming: 'kohya',
    modules: { lora: 3 },
    ranks: [4],
    scales: [0.5],
    dora: false,
    targets: 3,
    targetsByComponent: { unet: 3 },
    targetKeys: { unet: ['model.diffusion_model.a.weight', 'model.diffusion_model.b.weight'] },
  };
  const model = describeNode(r, { kind: 'model', model: 1 });
  assert.match(model.tooltip!, /LoRA for SD 1\.x \(the base\); kohya names; modules lora×3; rank 4; alpha\/rank 0\.5/);
  assert.match(model.tooltip!, /changes 3 weights of base base\.safetensors \(SD 1\.x\): unet 3/);
  const comp = describeNode(r, { kind: 'component', model: 1, component: 'unet' });
  assert.match(comp.description!, /^changes 3 weights/);
  const kids = childNodes(r, { kind: 'component', model: 1, component: 'unet' });
  assert.deepEqual(kids.map((k) => k.kind), ['loraTarget', 'loraTarget', 'message']);
  assert.equal(describeNode(r, kids[0]!).label, 'model.diffusion_model.a.weight');
  assert.match(describeNode(r, kids[2]!).label, /and 1 more weights/);
  assert.deepEqual(parentNode(kids[0]!, r), { kind: 'component', model: 1, component: 'unet' });
  assert.equal(nodeId(kids[0]!), 'm/1/c/unet/w/model.diffusion_model.a.weight');
});
