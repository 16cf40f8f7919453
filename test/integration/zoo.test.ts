// Today's model zoo in one folder, generated from the real FLUX.1-dev and SD3 Medium key layouts (scaled): a bare
// FLUX transformer, the all-in-one checkpoint holding the same transformer, a fine-tune that changed three blocks,
// scaled-fp8, NF4, GGUF Q8_0 and Q4_K copies, and an SD3 Medium all-in-one. Every number matches the float64 oracle
// (which reads, names and dequantises on its own); architectures, roles and components are named; the equal
// transformers are identical; FLUX and SD3 components are never compared; the breakdown names the changed blocks.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { breakdown, compareModels, estimateRecipe } from '../../src/compute';
import type { CompareResult, ComponentDiff } from '../../src/shared/result';
import { dimsOf, writeGguf } from '../fixtures/ggufWriter';
import { quantiseGgml, type GgmlFixtureType } from '../fixtures/quantise';
import { writeBnb4bit, writeScaledFp8, type SourceTensor } from '../fixtures/quantisedSafetensors';
import { decode, encode, writeSafetensors } from '../fixtures/safetensorsWriter';
import { hashString, layout } from '../fixtures/synth';
import { checkAgainstOracle } from '../helpers/compareWithOracle';
import { summary } from '../../src/cli/summary';
import { describeNode } from '../../src/extension/views/treeModel';
import { summaryRows } from '../../src/webview/logic/pair';
import { tmpDir } from '../helpers/tmp';

const SCALE = 64;
const DM = 'model.diffusion_model.';
/** The blocks the fine-tune changes (and nothing else). */
const TUNED = ['txt_in.', 'double_blocks.3.', 'single_blocks.20.'];

/** Smooth values, one function per tensor name, exact in F16 (the quantised copies start from the F16 file). */
function values(name: string, n: number, seed: number): number[] {
  const h = hashString(name, seed) / 2 ** 32;
  const raw = Array.from({ length: n }, (_, i) => 0.04 * Math.sin(i * (0.11 + h) + 7 * h) + 0.01 * Math.cos(i * 0.013 * (1 + h)));
  return Array.from(decode('F16', encode('F16', raw)));
}

function tensorsOf(name: string, keep: (k: string) => boolean = () => true): SourceTensor[] {
  return layout(name, { scale: SCALE })
    .tensors.filter((t) => keep(t.name))
    .map((t) => ({ name: t.name, shape: t.shape.slice(), values: values(t.name.replace(DM, ''), t.shape.reduce((a, b) => a * b, 1), 1) }));
}

function writeF16(path: string, tensors: SourceTensor[]): void {
  writeSafetensors(path, tensors.map((t) => ({ name: t.name, dtype: 'F16', shape: t.shape, data: encode('F16', Array.from(t.values)) })));
}

/** As ComfyUI-GGUF's convert.py: 1-D tensors in F32, a tensor whose rows are not whole blocks as rows of 256 with
 *  its shape in comfy.gguf.orig_shape.<name>, and one that is not whole blocks at all kept in F16. */
function writeGgufCopy(path: string, src: SourceTensor[], type: GgmlFixtureType): void {
  const numel = (t: SourceTensor) => t.values.length;
  const quantised = (t: SourceTensor) => t.shape.length >= 2 && numel(t) % 256 === 0;
  const overrides = src.filter((t) => quantised(t) && t.shape.at(-1)! % 256 !== 0);
  writeGguf(path, {
    kv: [
      { key: 'general.architecture', type: 'STRING', value: 'flux' },
      ...overrides.map((t) => ({ key: `comfy.gguf.orig_shape.${t.name}`, type: 'ARRAY' as const, value: { itemType: 'INT32', items: t.shape } })),
    ],
    tensors: src.map((t) => {
      if (t.shape.length < 2) return { name: t.name, type: 'F32', dims: dimsOf(t.shape), data: encode('F32', Array.from(t.values)) };
      if (!quantised(t)) return { name: t.name, type: 'F16', dims: dimsOf(t.shape), data: encode('F16', Array.from(t.values)) };
      const rows = overrides.includes(t) ? [numel(t) / 256, 256] : t.shape;
      return { name: t.name, type, dims: dimsOf(rows), data: quantiseGgml(type, t.values) };
    }),
  });
}

describe('a folder of today\'s model zoo (FLUX.1 bare / all-in-one / fine-tune / fp8 / NF4 / GGUF, SD3)', () => {
  const dir = tmpDir('modeldiff-zoo-');
  const models = join(dir, 'models');
  mkdirSync(models);
  const bare = tensorsOf('flux_dev_transformer');
  const aio = tensorsOf('flux_dev_aio').map((t) => (t.name.startsWith(DM) ? { ...t, values: bare.find((b) => b.name === t.name.slice(DM.length))!.values } : t));
  const tuned = bare.map((t) => (TUNED.some((p) => t.name.startsWith(p)) ? { ...t, values: values(t.name, t.values.length, 2) } : t));
  writeF16(join(models, 'a-flux1-dev.safetensors'), bare);
  writeF16(join(models, 'b-flux1-dev-aio.safetensors'), aio);
  writeF16(join(models, 'c-flux1-dev-tuned.safetensors'), tuned);
  writeScaledFp8(join(models, 'd-flux1-dev-fp8.safetensors'), bare, 'scale_weight');
  writeBnb4bit(join(models, 'e-flux1-dev-nf4.safetensors'), bare);
  writeGgufCopy(join(models, 'f-flux1-dev-Q8_0.gguf'), bare, 'Q8_0');
  writeGgufCopy(join(models, 'g-flux1-dev-Q4_K.gguf'), bare, 'Q4_K');
  writeF16(join(models, 'h-sd3-medium.safetensors'), tensorsOf('sd3_medium_aio'));

  let result: CompareResult;
  const out = join(dir, 'out');
  const idx = (f: string) => result.models.findIndex((m) => m.file.startsWith(f));
  const pair = (a: string, b: string, c: string): ComponentDiff => {
    const [i, j] = [idx(a), idx(b)].sort((x, y) => x - y);
    return result.pairs.find((p) => p.a === i && p.b === j)!.components[c]!;
  };

  test('every number matches the float64 oracle', async () => {
    result = await compareModels([models], { outDir: out, workers: 0 });
    assert.deepEqual(result.errors, []);
    assert.equal(result.models.length, 8);
    const { numbers } = checkAgainstOracle(result, out);
    assert.ok(numbers > 1000, `checked ${numbers} numbers`);
  });

  test('architectures, roles and components are named', () => {
    const m = (f: string) => result.models[idx(f)]!;
    for (const f of ['a-', 'c-', 'd-', 'e-', 'f-', 'g-']) {
      assert.equal(m(f).arch, 'flux-dev', f);
      assert.equal(m(f).role, 'diffusion_model', f);
      assert.deepEqual(Object.keys(m(f).components), ['transformer'], f);
      assert.equal(m(f).components['transformer']!.name, 'FLUX.1 transformer');
    }
    assert.equal(m('b-').arch, 'flux-dev');
    assert.equal(m('b-').role, 'checkpoint');
    assert.deepEqual(Object.keys(m('b-').components), ['transformer', 'clip_l', 't5xxl', 'vae']);
    assert.equal(m('h-').arch, 'sd3-medium');
    assert.equal(m('h-').role, 'checkpoint');
    assert.deepEqual(Object.keys(m('h-').components), ['transformer', 'clip_l', 'clip_g', 't5xxl', 'vae', 'other']);
    assert.match(m('h-').archDetail, /SD3 Medium \(24 joint blocks\)/);
    assert.match(m('a-').archDetail, /FLUX\.1 dev \(diffusion model only\)/);
  });

  test('known relations: the bare transformer is the all-in-one\'s; copies are close; FLUX and SD3 are never compared', () => {
    const same = pair('a-', 'b-', 'transformer');
    assert.equal(same.status, 'identical');
    assert.equal(same.l2, 0);
    const tuning = pair('a-', 'c-', 'transformer');
    assert.equal(tuning.status, 'changed');
    const copies = ['f-', 'd-', 'g-', 'e-'].map((f) => [f, pair('a-', f, 'transformer')] as const);
    for (const [f, c] of copies) {
      assert.equal(c.status, 'changed', f);
      assert.ok(c.l2! > 0 && c.l2! < tuning.l2!, `${f}: quantisation error ${c.l2} vs fine-tune ${tuning.l2}`);
    }
    const e = Object.fromEntries(copies.map(([f, c]) => [f, c.l2!]));
    assert.ok(e['f-']! < e['g-']!, 'Q8_0 is closer to its source than Q4_K');
    for (const f of ['a-', 'b-', 'd-', 'g-']) {
      const c = pair(f, 'h-', 'transformer');
      assert.equal(c.status, 'not_comparable', f);
      assert.equal(c.reason, 'different_architectures', f);
      assert.equal(c.l2, null);
      assert.equal(c.shared, 0);
    }
    // the text encoders and VAE of two families of one kind are compared (FLUX's and SD3's CLIP-L, their 16-channel VAE)
    assert.equal(pair('b-', 'h-', 'clip_l').reason, undefined);
    assert.notEqual(pair('b-', 'h-', 'vae').status, 'not_comparable');
  });

  test('the CLI summary, the tree and the panel say "different architectures" and each file\'s role', () => {
    const text = summary(result, { allPairs: true });
    assert.match(text, /transformer\s+not comparable: different architectures/);
    assert.match(text, /a-flux1-dev\.safetensors\s+FLUX\.1 dev \(diffusion model only\)/);
    const [i, j] = [idx('a-'), idx('h-')].sort((x, y) => x - y);
    const node = describeNode(result, { kind: 'pairComponent', a: i!, b: j!, component: 'transformer' });
    assert.match(`${node.description} ${node.tooltip}`, /not comparable: different architectures/);
    const pairResult = result.pairs.find((p) => p.a === i && p.b === j)!;
    assert.equal(summaryRows(result, pairResult).find((r) => r.component === 'transformer')!.reason, 'different architectures');
  });

  test('the block breakdown names exactly the changed blocks; the recipe works on those blocks', () => {
    const b = breakdown(out, idx('a-'), idx('c-'), { scheme: 'block' });
    assert.equal(b.layout, 'flux');
    const changed = b.groups.filter((g) => g.changedKeys > 0).map((g) => g.group);
    assert.deepEqual(changed.sort(), ['double_blocks.3', 'single_blocks.20', 'txt_in']);
    assert.ok(b.groups.some((g) => g.group === 'double_blocks.18') && b.groups.some((g) => g.group === 'single_blocks.37'));
    // the SD3 keys of the folder have no value in a FLUX pair; every FLUX key has its block
    assert.ok(!b.groups.some((g) => g.group === 'TRANSFORMER_OTHER' && g.keys > 0), 'every FLUX key has its block');
    assert.equal(b.groups.filter((g) => g.keys > 0).length, 5 + 19 + 38 + 1);
    const sm = breakdown(out, idx('a-'), idx('c-'), { scheme: 'block', blockNames: 'supermerger' });
    assert.deepEqual(sm.groups.filter((g) => g.changedKeys > 0).map((g) => g.group).sort(), ['D03', 'IN', 'S20']);
    const sd3 = breakdown(out, idx('b-'), idx('h-'), { scheme: 'block', otherComponents: true });
    assert.equal(sd3.layout, 'flux');
    const recipe = estimateRecipe(out, idx('c-'), { parents: [idx('a-'), idx('b-')] });
    assert.equal(recipe.layout, 'flux');
    assert.deepEqual(recipe.overall?.group, 'TRANSFORMER');
    assert.ok(recipe.blocks.some((f) => f.group === 'double_blocks.3'));
  });
});
