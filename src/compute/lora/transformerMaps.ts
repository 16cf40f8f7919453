/**
 * diffusers transformer module paths -> single-file module paths, for FLUX.1 (BFL names: double_blocks,
 * single_blocks) and SD3 (MMDiT names: joint_blocks), after the renaming of diffusers' conversion scripts
 * (`convert_flux_to_diffusers.py`, `convert_sd3_to_diffusers.py`).
 *
 * Two kinds of module need more than a rename:
 * - diffusers splits the fused projections: to_q/to_k/to_v are row blocks of `qkv` (FLUX double blocks, SD3) and
 *   to_q/to_k/to_v/proj_mlp row blocks of a FLUX single block's `linear1`. `part` says which block; block sizes are
 *   multiples of the layer's input width (q, k, v: 1 each; FLUX's MLP: 4).
 * - diffusers' AdaLayerNormContinuous orders its output (scale, shift) where the single file has (shift, scale):
 *   `swapHalves` says the two row halves trade places. In SD3 only the last block's context norm is such a layer,
 *   and it is recognised by its shape (2 x width rows instead of 6): `swapIfHalves`.
 */

export interface TransformerModuleMap {
  /** Single-file module path (no prefix, no `.weight`). */
  path: string;
  part?: { index: number; sizes: number[] };
  swapHalves?: true;
  swapIfHalves?: true;
}

const QKV: Record<string, number> = { to_q: 0, to_k: 1, to_v: 2, add_q_proj: 0, add_k_proj: 1, add_v_proj: 2 };
const THREE = [1, 1, 1];
/** FLUX single blocks: linear1 = [q, k, v, mlp] with mlp_ratio 4. */
const FLUX_LINEAR1 = [1, 1, 1, 4];

const FLUX_DOUBLE: Record<string, string> = {
  'attn.to_out.0': 'img_attn.proj',
  'attn.to_add_out': 'txt_attn.proj',
  'ff.net.0.proj': 'img_mlp.0',
  'ff.net.2': 'img_mlp.2',
  'ff_context.net.0.proj': 'txt_mlp.0',
  'ff_context.net.2': 'txt_mlp.2',
  'norm1.linear': 'img_mod.lin',
  'norm1_context.linear': 'txt_mod.lin',
};

const FLUX_TOP: Record<string, TransformerModuleMap> = {
  x_embedder: { path: 'img_in' },
  context_embedder: { path: 'txt_in' },
  proj_out: { path: 'final_layer.linear' },
  'norm_out.linear': { path: 'final_layer.adaLN_modulation.1', swapHalves: true },
  'time_text_embed.timestep_embedder.linear_1': { path: 'time_in.in_layer' },
  'time_text_embed.timestep_embedder.linear_2': { path: 'time_in.out_layer' },
  'time_text_embed.text_embedder.linear_1': { path: 'vector_in.in_layer' },
  'time_text_embed.text_embedder.linear_2': { path: 'vector_in.out_layer' },
  'time_text_embed.guidance_embedder.linear_1': { path: 'guidance_in.in_layer' },
  'time_text_embed.guidance_embedder.linear_2': { path: 'guidance_in.out_layer' },
};

export function fluxDiffusersModule(path: string): TransformerModuleMap | undefined {
  let m = /^transformer_blocks\.(\d+)\.attn\.(to_q|to_k|to_v|add_q_proj|add_k_proj|add_v_proj)$/.exec(path);
  if (m) return { path: `double_blocks.${m[1]}.${m[2]!.startsWith('add_') ? 'txt' : 'img'}_attn.qkv`, part: { index: QKV[m[2]!]!, sizes: THREE } };
  m = /^transformer_blocks\.(\d+)\.(.+)$/.exec(path);
  if (m) {
    const to = FLUX_DOUBLE[m[2]!];
    return to === undefined ? undefined : { path: `double_blocks.${m[1]}.${to}` };
  }
  m = /^single_transformer_blocks\.(\d+)\.(attn\.to_q|attn\.to_k|attn\.to_v|proj_mlp|proj_out|norm\.linear)$/.exec(path);
  if (m) {
    const at = `single_blocks.${m[1]}`;
    switch (m[2]) {
      case 'proj_mlp':
        return { path: `${at}.linear1`, part: { index: 3, sizes: FLUX_LINEAR1 } };
      case 'proj_out':
        return { path: `${at}.linear2` };
      case 'norm.linear':
        return { path: `${at}.modulation.lin` };
      default:
        return { path: `${at}.linear1`, part: { index: QKV[m[2]!.slice('attn.'.length)]!, sizes: FLUX_LINEAR1 } };
    }
  }
  return FLUX_TOP[path];
}

const SD3_BLOCK: Record<string, TransformerModuleMap> = {
  'attn.to_out.0': { path: 'x_block.attn.proj' },
  'attn.to_add_out': { path: 'context_block.attn.proj' },
  'attn2.to_out.0': { path: 'x_block.attn2.proj' },
  'ff.net.0.proj': { path: 'x_block.mlp.fc1' },
  'ff.net.2': { path: 'x_block.mlp.fc2' },
  'ff_context.net.0.proj': { path: 'context_block.mlp.fc1' },
  'ff_context.net.2': { path: 'context_block.mlp.fc2' },
  'norm1.linear': { path: 'x_block.adaLN_modulation.1' },
  'norm1_context.linear': { path: 'context_block.adaLN_modulation.1', swapIfHalves: true },
};

const SD3_TOP: Record<string, TransformerModuleMap> = {
  'pos_embed.proj': { path: 'x_embedder.proj' },
  context_embedder: { path: 'context_embedder' },
  proj_out: { path: 'final_layer.linear' },
  'norm_out.linear': { path: 'final_layer.adaLN_modulation.1', swapHalves: true },
  'time_text_embed.timestep_embedder.linear_1': { path: 't_embedder.mlp.0' },
  'time_text_embed.timestep_embedder.linear_2': { path: 't_embedder.mlp.2' },
  'time_text_embed.text_embedder.linear_1': { path: 'y_embedder.mlp.0' },
  'time_text_embed.text_embedder.linear_2': { path: 'y_embedder.mlp.2' },
};

export function sd3DiffusersModule(path: string): TransformerModuleMap | undefined {
  let m = /^transformer_blocks\.(\d+)\.(attn2?)\.(to_q|to_k|to_v|add_q_proj|add_k_proj|add_v_proj)$/.exec(path);
  if (m) {
    const added = m[3]!.startsWith('add_');
    if (added && m[2] === 'attn2') return undefined;
    const block = added ? 'context_block.attn' : `x_block.${m[2]}`;
    return { path: `joint_blocks.${m[1]}.${block}.qkv`, part: { index: QKV[m[3]!]!, sizes: THREE } };
  }
  m = /^transformer_blocks\.(\d+)\.(.+)$/.exec(path);
  if (m) {
    const to = SD3_BLOCK[m[2]!];
    return to === undefined ? undefined : { ...to, path: `joint_blocks.${m[1]}.${to.path}` };
  }
  return SD3_TOP[path];
}

/** Single-file FLUX module paths a LoRA can target (Linear layers). */
export const FLUX_SINGLE_MODULE =
  /^(double_blocks\.\d+\.(img|txt)_(attn\.(qkv|proj)|mlp\.[02]|mod\.lin)|single_blocks\.\d+\.(linear1|linear2|modulation\.lin)|(img_in|txt_in)|(time_in|vector_in|guidance_in)\.(in_layer|out_layer)|final_layer\.(linear|adaLN_modulation\.1))$/;

/** Single-file SD3 (MMDiT) module paths a LoRA can target. */
export const SD3_SINGLE_MODULE =
  /^(joint_blocks\.\d+\.(x_block|context_block)\.(attn2?\.(qkv|proj)|mlp\.fc[12]|adaLN_modulation\.1)|x_embedder\.proj|context_embedder|(t_embedder|y_embedder)\.mlp\.[02]|final_layer\.(linear|adaLN_modulation\.1))$/;
