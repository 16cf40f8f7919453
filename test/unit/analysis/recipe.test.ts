import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateRecipe, fitMixture, fitTwo, chooseParents } from '../../../src/compute/analysis/recipe';
import { REL_RESIDUAL_FLOOR } from '../../../src/shared/analysis';
import { base, blockMerge, finetune, layout, merge } from '../../fixtures/synth';
import { comparedFolder, tmpRoot, type ComparedFolder } from './helpers';

// ---------------------------------------------------------------------------------------------------------------
// Pure geometry: points in R^d with known mixtures

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}
const d2 = (x: number[], y: number[]) => x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0);
const mix = (ps: number[][], w: number[]) => ps[0]!.map((_, i) => ps.reduce((s, p, j) => s + w[j]! * p[i]!, 0));
function tables(M: number[], ps: number[][]) {
  return { m: ps.map((p) => d2(M, p)), D: ps.map((p) => ps.map((q) => d2(p, q))) };
}

describe('fitMixture (pure)', () => {
  const r = rng(7);
  const ps = Array.from({ length: 4 }, () => Array.from({ length: 50 }, r));

  test('recovers convex weights of 2, 3 and 4 parents exactly', () => {
    for (const w of [[0.3, 0.7], [0.2, 0.3, 0.5], [0.1, 0.2, 0.3, 0.4]]) {
      const P = ps.slice(0, w.length);
      const { m, D } = tables(mix(P, w), P);
      const fit = fitMixture(m, D);
      fit.weights.forEach((x, i) => assert.ok(Math.abs(x - w[i]!) < 1e-9, `${x} vs ${w[i]}`));
      fit.free!.forEach((x, i) => assert.ok(Math.abs(x - w[i]!) < 1e-9));
      assert.ok(fit.residual < 1e-6 && fit.relResidual < 1e-6);
      assert.equal(fit.identifiable, true);
    }
  });

  test('two parents: closed form w = (mA + dAB - mB) / 2dAB, residual^2 = mA - w^2 dAB', () => {
    const [A, B] = [ps[0]!, ps[1]!];
    const off = A.map((_, i) => 0.37 * A[i]! + 0.63 * B[i]! + 0.05 * Math.sin(i)); // off the line
    const mA = d2(off, A);
    const mB = d2(off, B);
    const dAB = d2(A, B);
    const { w, residual2 } = fitTwo(mA, mB, dAB);
    // direct projection
    const v = B.map((x, i) => x - A[i]!);
    const u = off.map((x, i) => x - A[i]!);
    const wDirect = u.reduce((s, x, i) => s + x * v[i]!, 0) / v.reduce((s, x) => s + x * x, 0);
    assert.ok(Math.abs(w! - wDirect) < 1e-12);
    const proj = A.map((x, i) => x + wDirect * v[i]!);
    assert.ok(Math.abs(residual2 - d2(off, proj)) < 1e-10);
    const fit = fitMixture([mA, mB], [[0, dAB], [dAB, 0]]);
    assert.ok(Math.abs(fit.weights[1]! - w!) < 1e-12);
    assert.ok(Math.abs(fit.residual ** 2 - residual2) < 1e-10);
  });

  test('outside the simplex: non-negative weights clamp, free weights extrapolate (add difference)', () => {
    const [A, B, C] = [ps[0]!, ps[1]!, ps[2]!];
    // A + 0.3 (B - C): affine weights [1, 0.3, -0.3]
    const M = A.map((x, i) => x + 0.3 * (B[i]! - C[i]!));
    const { m, D } = tables(M, [A, B, C]);
    const fit = fitMixture(m, D);
    [1, 0.3, -0.3].forEach((x, i) => assert.ok(Math.abs(fit.free![i]! - x) < 1e-9));
    assert.ok(fit.freeResidual! < 1e-6);
    assert.ok(fit.weights.every((x) => x >= 0) && Math.abs(fit.weights.reduce((s, x) => s + x, 0) - 1) < 1e-12);
    assert.ok(fit.residual > 0.01);
    // the constrained optimum is no worse than any point of a fine simplex grid
    for (let a = 0; a <= 20; a++)
      for (let b = 0; a + b <= 20; b++) {
        const w = [a / 20, b / 20, (20 - a - b) / 20];
        assert.ok(fit.residual ** 2 <= d2(M, mix([A, B, C], w)) + 1e-9);
      }
  });

  test('extrapolated two-parent merge 1.5 B - 0.5 A: free w = 1.5, constrained w = 1', () => {
    const [A, B] = [ps[0]!, ps[1]!];
    const { m, D } = tables(mix([A, B], [-0.5, 1.5]), [A, B]);
    const fit = fitMixture(m, D);
    assert.ok(Math.abs(fit.free![1]! - 1.5) < 1e-9);
    assert.deepEqual(fit.weights, [0, 1]);
  });

  test('parents equal on a group: not identifiable, exact fit still found', () => {
    const A = ps[0]!;
    const { m, D } = tables(A, [A, A]);
    const fit = fitMixture(m, D);
    assert.equal(fit.identifiable, false);
    assert.equal(fit.free, null);
    assert.equal(fit.residual, 0);
    assert.equal(fit.relResidual, 0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real engine on synthetic block-weighted merges

/** Truth, written independently of the code under test: SD1 slot of a UNet key, time_embed in BASE. */
function slotOf(key: string): string | null {
  const k = key.replace(/^model\.diffusion_model\./, '');
  if (k === key) return null;
  const two = (n: string) => n.padStart(2, '0');
  let m = k.match(/^input_blocks\.(\d+)\./);
  if (m) return 'IN' + two(m[1]!);
  m = k.match(/^output_blocks\.(\d+)\./);
  if (m) return 'OUT' + two(m[1]!);
  if (k.startsWith('middle_block.')) return 'M00';
  if (k.startsWith('out.')) return 'OUT11';
  if (k.startsWith('time_embed.')) return 'BASE';
  throw new Error('unexpected UNet key ' + key);
}
const SLOTS = ['BASE', ...Array.from({ length: 12 }, (_, i) => `IN${String(i).padStart(2, '0')}`), 'M00', ...Array.from({ length: 12 }, (_, i) => `OUT${String(i).padStart(2, '0')}`)];
/** distinct weights in [0, 1], 0 and 1 included */
const WEIGHT: Record<string, number> = Object.fromEntries(SLOTS.map((s, i) => [s, ((i * 7) % 26) / 25]));
const TE_W = 0.3;
const VAE_W = 0.85;
function weightFor(key: string): number {
  if (key.startsWith('cond_stage_model.')) return TE_W;
  if (key.startsWith('first_stage_model.')) return VAE_W;
  const s = slotOf(key);
  return s === null ? 0 : WEIGHT[s]!;
}

describe('estimateRecipe on the engine output', () => {
  const root = tmpRoot('recipe');
  let f: ComparedFolder;
  before(async () => {
    const L = layout('sd15', { scale: 32 }); // F32 floats
    const b = base(L, 1);
    const all = ['unet', 'te', 'vae'] as ('unet' | 'te' | 'vae')[];
    const A = finetune(b, { components: all, sigma: 0.01, seed: 11 });
    const B = finetune(b, { components: all, sigma: 0.01, seed: 12 });
    const C = finetune(b, { components: all, sigma: 0.01, seed: 13 });
    // time_embed weighted like IN00 would be under the IN00 convention, but with its own BASE weight here
    f = await comparedFolder(root.path, [
      { file: 'a.safetensors', recipe: A },
      { file: 'b.safetensors', recipe: B },
      { file: 'base.safetensors', recipe: b },
      { file: 'c.safetensors', recipe: C },
      { file: 'm_blocks.safetensors', recipe: blockMerge(A, B, weightFor) },
      { file: 'm_three.safetensors', recipe: merge([A, B, C], [0.2, 0.3, 0.5]) },
    ]);
  });
  after(() => root.cleanup());

  test('block-weighted merge: every block weight recovered within 1e-3 (BASE convention)', () => {
    const est = estimateRecipe({ dir: f.out, result: f.result }, f.index('m_blocks.safetensors'), { parents: [f.index('a.safetensors'), f.index('b.safetensors')] });
    assert.equal(est.parentsFrom, 'user');
    assert.deepEqual(est.blocks.map((x) => x.group), SLOTS);
    let worst = 0;
    for (const blk of est.blocks) {
      const w = blk.weights[1]!;
      worst = Math.max(worst, Math.abs(w - WEIGHT[blk.group]!), Math.abs(blk.free![1]! - WEIGHT[blk.group]!));
      assert.ok(Math.abs(blk.weights[0]! + blk.weights[1]! - 1) < 1e-12);
      assert.ok(blk.relResidual < REL_RESIDUAL_FLOOR, `${blk.group} relResidual ${blk.relResidual}`);
      assert.ok(blk.keys > 0);
    }
    assert.ok(worst < 1e-3, `worst block weight error ${worst}`);
    const te = est.components.find((c) => c.group === 'TE')!;
    const vae = est.components.find((c) => c.group === 'VAE')!;
    assert.ok(Math.abs(te.weights[1]! - TE_W) < 1e-3);
    assert.ok(Math.abs(vae.weights[1]! - VAE_W) < 1e-3);
    // the whole UNet is not one mix (weights differ per block): a large residual
    assert.ok(est.overall!.relResidual > 0.1);
  });

  test('the time_embed convention matters: under IN00 the IN00 slot mixes two weights', () => {
    const m = f.index('m_blocks.safetensors');
    const parents = [f.index('a.safetensors'), f.index('b.safetensors')];
    const asIn00 = estimateRecipe({ dir: f.out, result: f.result }, m, { parents, timeEmbed: 'IN00' });
    assert.equal(asIn00.timeEmbed, 'IN00');
    assert.ok(!asIn00.blocks.some((x) => x.group === 'BASE'));
    const in00 = asIn00.blocks.find((x) => x.group === 'IN00')!;
    assert.ok(in00.relResidual > 0.05, `IN00 relResidual ${in00.relResidual}`);
    assert.match(asIn00.description, /IN00 \(SuperMerger\/meh convention\)/);
  });

  test('three parents: non-negative sum-to-one weights 0.2/0.3/0.5 in every block', () => {
    const est = estimateRecipe({ dir: f.out, result: f.result }, f.index('m_three.safetensors'), {
      parents: ['a.safetensors', 'b.safetensors', 'c.safetensors'].map(f.index),
    });
    for (const blk of [...est.blocks, ...est.components, est.overall!]) {
      [0.2, 0.3, 0.5].forEach((w, i) => assert.ok(Math.abs(blk.weights[i]! - w) < 1e-3, `${blk.group}: ${blk.weights}`));
      assert.ok(blk.relResidual < REL_RESIDUAL_FLOOR);
    }
  });

  test('an unrelated fourth parent gets weight 0', () => {
    const est = estimateRecipe({ dir: f.out, result: f.result }, f.index('m_three.safetensors'), {
      parents: ['a.safetensors', 'b.safetensors', 'c.safetensors', 'm_blocks.safetensors'].map(f.index),
    });
    assert.ok(est.overall!.weights[3]! < 1e-3);
    [0.2, 0.3, 0.5].forEach((w, i) => assert.ok(Math.abs(est.overall!.weights[i]! - w) < 1e-3));
  });

  test('parents chosen automatically: the true pair among the nearest models', () => {
    const m = f.index('m_three.safetensors');
    const est = estimateRecipe({ dir: f.out, result: f.result }, m, { count: 3 });
    assert.equal(est.parentsFrom, 'nearest');
    assert.deepEqual(est.parents.map((p) => p.file).sort(), ['a.safetensors', 'b.safetensors', 'c.safetensors']);
    const blocks = estimateRecipe({ dir: f.out, result: f.result }, f.index('m_blocks.safetensors'));
    assert.deepEqual(blocks.parents.map((p) => p.file).sort(), ['a.safetensors', 'b.safetensors']);
    const chosen = chooseParents(f.result, f.index('m_blocks.safetensors'));
    assert.ok(chosen.candidates.length > 1 && chosen.candidates[0]!.relResidual <= chosen.candidates[1]!.relResidual);
  });
});

describe('estimateRecipe, SDXL base (fp16, 20 slots)', () => {
  const root = tmpRoot('recipe-xl');
  let f: ComparedFolder;
  const XL_SLOTS = ['BASE', ...Array.from({ length: 9 }, (_, i) => `IN0${i}`), 'M00', ...Array.from({ length: 9 }, (_, i) => `OUT0${i}`)];
  const xlWeight = (slot: string) => ((XL_SLOTS.indexOf(slot) * 3) % 20) / 19;
  const xlSlot = (key: string): string | null => {
    const k = key.replace(/^model\.diffusion_model\./, '');
    if (k === key) return null;
    const m = k.match(/^(input|output)_blocks\.(\d+)\./);
    if (m) return `${m[1] === 'input' ? 'IN' : 'OUT'}0${m[2]}`;
    if (k.startsWith('middle_block.')) return 'M00';
    if (k.startsWith('out.')) return 'OUT08';
    return 'BASE'; // time_embed, label_emb
  };
  before(async () => {
    const b = base(layout('sdxl_base', { scale: 48 }), 21);
    const A = finetune(b, { components: ['unet'], sigma: 0.01, seed: 31 });
    const B = finetune(b, { components: ['unet'], sigma: 0.01, seed: 32 });
    f = await comparedFolder(root.path, [
      { file: 'a.safetensors', recipe: A },
      { file: 'b.safetensors', recipe: B },
      { file: 'm.safetensors', recipe: blockMerge(A, B, (k) => (xlSlot(k) === null ? 0 : xlWeight(xlSlot(k)!))) },
    ]);
  });
  after(() => root.cleanup());

  test('every SDXL block weight recovered within 1e-3 (out.* in OUT08, label_emb in BASE)', () => {
    const est = estimateRecipe({ dir: f.out, result: f.result }, f.index('m.safetensors'), { parents: [f.index('a.safetensors'), f.index('b.safetensors')] });
    assert.equal(est.layout, 'sdxl');
    assert.deepEqual(est.blocks.map((x) => x.group), XL_SLOTS);
    for (const blk of est.blocks) assert.ok(Math.abs(blk.weights[1]! - xlWeight(blk.group)) < 1e-3, `${blk.group}: ${blk.weights[1]} vs ${xlWeight(blk.group)}`);
  });
});
