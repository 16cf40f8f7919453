// A FLUX.1 transformer in diffusers naming (as diffusers' convert_flux_to_diffusers.py writes it: q/k/v split out of
// the fused projections, (scale, shift) order in the last norm) is read with single-file names: it covers the
// FLUX.1-dev layout exactly, and a diffusers copy of a file compares equal with it (distance 0).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareModels } from '../../../src/compute';
import { diffusersToLdm } from '../../../src/compute/keys/diffusersMap';
import { encode, writeSafetensors } from '../../fixtures/safetensorsWriter';
import { layout } from '../../fixtures/synth';
import { tmpDir } from '../../helpers/tmp';

interface T {
  name: string;
  shape: number[];
  values: number[];
}

/** Rows [from, to) of a tensor of `shape` (row-major). */
function rows(t: T, from: number, to: number): T & { from: number } {
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { name: t.name, shape: [to - from, ...t.shape.slice(1)], values: t.values.slice(from * width, to * width), from };
}

/** The diffusers tensors of a BFL FLUX transformer, written out from the conversion script's module structure. */
function toDiffusers(bfl: Map<string, T>): T[] {
  const out: T[] = [];
  const put = (name: string, t: T) => out.push({ name, shape: t.shape, values: t.values });
  const both = (from: string, to: string) => {
    for (const p of ['weight', 'bias']) if (bfl.has(`${from}.${p}`)) put(`${to}.${p}`, bfl.get(`${from}.${p}`)!);
  };
  const split = (from: string, names: string[], sizes: number[]) => {
    for (const p of ['weight', 'bias']) {
      const t = bfl.get(`${from}.${p}`)!;
      let at = 0;
      names.forEach((n, i) => {
        put(`${n}.${p}`, rows(t, at, at + sizes[i]!));
        at += sizes[i]!;
      });
      assert.equal(at, t.shape[0]);
    }
  };
  for (let i = 0; bfl.has(`double_blocks.${i}.img_attn.qkv.weight`); i++) {
    const s = `double_blocks.${i}`;
    const d = `transformer_blocks.${i}`;
    const h = bfl.get(`${s}.img_attn.proj.weight`)!.shape[0]!;
    split(`${s}.img_attn.qkv`, [`${d}.attn.to_q`, `${d}.attn.to_k`, `${d}.attn.to_v`], [h, h, h]);
    split(`${s}.txt_attn.qkv`, [`${d}.attn.add_q_proj`, `${d}.attn.add_k_proj`, `${d}.attn.add_v_proj`], [h, h, h]);
    both(`${s}.img_attn.proj`, `${d}.attn.to_out.0`);
    both(`${s}.txt_attn.proj`, `${d}.attn.to_add_out`);
    both(`${s}.img_mlp.0`, `${d}.ff.net.0.proj`);
    both(`${s}.img_mlp.2`, `${d}.ff.net.2`);
    both(`${s}.txt_mlp.0`, `${d}.ff_context.net.0.proj`);
    both(`${s}.txt_mlp.2`, `${d}.ff_context.net.2`);
    both(`${s}.img_mod.lin`, `${d}.norm1.linear`);
    both(`${s}.txt_mod.lin`, `${d}.norm1_context.linear`);
    put(`${d}.attn.norm_q.weight`, bfl.get(`${s}.img_attn.norm.query_norm.scale`)!);
    put(`${d}.attn.norm_k.weight`, bfl.get(`${s}.img_attn.norm.key_norm.scale`)!);
    put(`${d}.attn.norm_added_q.weight`, bfl.get(`${s}.txt_attn.norm.query_norm.scale`)!);
    put(`${d}.attn.norm_added_k.weight`, bfl.get(`${s}.txt_attn.norm.key_norm.scale`)!);
  }
  for (let i = 0; bfl.has(`single_blocks.${i}.linear1.weight`); i++) {
    const s = `single_blocks.${i}`;
    const d = `single_transformer_blocks.${i}`;
    const h = bfl.get(`${s}.linear2.weight`)!.shape[0]!;
    const mlp = bfl.get(`${s}.linear1.weight`)!.shape[0]! - 3 * h;
    split(`${s}.linear1`, [`${d}.attn.to_q`, `${d}.attn.to_k`, `${d}.attn.to_v`, `${d}.proj_mlp`], [h, h, h, mlp]);
    both(`${s}.linear2`, `${d}.proj_out`);
    both(`${s}.modulation.lin`, `${d}.norm.linear`);
    put(`${d}.attn.norm_q.weight`, bfl.get(`${s}.norm.query_norm.scale`)!);
    put(`${d}.attn.norm_k.weight`, bfl.get(`${s}.norm.key_norm.scale`)!);
  }
  both('img_in', 'x_embedder');
  both('txt_in', 'context_embedder');
  both('time_in.in_layer', 'time_text_embed.timestep_embedder.linear_1');
  both('time_in.out_layer', 'time_text_embed.timestep_embedder.linear_2');
  both('guidance_in.in_layer', 'time_text_embed.guidance_embedder.linear_1');
  both('guidance_in.out_layer', 'time_text_embed.guidance_embedder.linear_2');
  both('vector_in.in_layer', 'time_text_embed.text_embedder.linear_1');
  both('vector_in.out_layer', 'time_text_embed.text_embedder.linear_2');
  both('final_layer.linear', 'proj_out');
  // AdaLayerNormContinuous: (scale, shift) where BFL has (shift, scale)
  for (const p of ['weight', 'bias']) {
    const t = bfl.get(`final_layer.adaLN_modulation.1.${p}`)!;
    const half = t.shape[0]! / 2;
    const [shift, scale] = [rows(t, 0, half), rows(t, half, 2 * half)];
    out.push({ name: `norm_out.linear.${p}`, shape: t.shape, values: [...scale.values, ...shift.values] });
  }
  return out;
}

/** The BFL tensors of the layout; at full size (scale 1) shapes only, no values. */
function bflTensors(scale: number): Map<string, T> {
  const m = new Map<string, T>();
  for (const t of layout('flux_dev_transformer', { scale }).tensors) {
    const n = scale === 1 ? 0 : t.shape.reduce((a, b) => a * b, 1);
    m.set(t.name, { name: t.name, shape: t.shape.slice(), values: Array.from({ length: n }, (_, i) => ((i * 7 + t.name.length * 13) % 97) / 128 - 0.37) });
  }
  return m;
}

describe('FLUX.1 transformer in diffusers naming', () => {
  it('the names map onto the FLUX.1-dev single-file layout, every tensor once, parts filling their tensor', () => {
    const bfl = bflTensors(1);
    const diffusers = toDiffusers(bfl);
    const shapes = new Map(diffusers.map((t) => [t.name, t.shape]));
    const rowsOf = new Map<string, number>();
    for (const t of diffusers) {
      const k = diffusersToLdm('transformer', t.name, t.shape, 'flux', (n) => shapes.get(n));
      assert.ok(k, `${t.name} has a single-file name`);
      assert.ok(k.key.startsWith('model.diffusion_model.'));
      const key = k.key.slice('model.diffusion_model.'.length);
      assert.ok(bfl.has(key), `${t.name} -> ${key}`);
      assert.equal(Boolean(k.swapHalves), t.name.startsWith('norm_out.linear.'), t.name);
      rowsOf.set(key, (rowsOf.get(key) ?? 0) + (k.part ? t.shape[0]! : bfl.get(key)!.shape[0] ?? 1));
    }
    assert.deepEqual([...rowsOf.keys()].sort(), [...bfl.keys()].sort());
    for (const [key, n] of rowsOf) assert.equal(n, bfl.get(key)!.shape[0] ?? 1, key);
  });

  it('a diffusers copy of a transformer file compares equal with it, in a folder', async () => {
    const dir = tmpDir('modeldiff-flux-diffusers-');
    const models = join(dir, 'models');
    mkdirSync(models);
    const bfl = bflTensors(64);
    const write = (file: string, ts: T[]) => writeSafetensors(join(models, file), ts.map((t) => ({ name: t.name, dtype: 'F16', shape: t.shape, data: encode('F16', t.values) })));
    write('a-flux.safetensors', [...bfl.values()]);
    write('b-flux-diffusers.safetensors', toDiffusers(bfl));
    const result = await compareModels([models], { outDir: join(dir, 'out'), workers: 0 });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.models.map((m) => m.arch), ['flux-dev', 'flux-dev']);
    assert.ok(result.models[1]!.notes.some((n) => /diffusers naming/.test(n)), result.models[1]!.notes.join('\n'));
    const c = result.pairs[0]!.components['transformer']!;
    assert.deepEqual({ only_a: c.only_a, only_b: c.only_b, mismatched: c.mismatched }, { only_a: 0, only_b: 0, mismatched: 0 });
    assert.equal(c.l2, 0);
    assert.ok(c.status === 'identical' || c.status === 'equal_values', c.status);
  });
});
