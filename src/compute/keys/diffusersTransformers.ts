/**
 * diffusers transformer parameter names -> single-file names, for FLUX.1 (BFL names: double_blocks, single_blocks)
 * and SD3 / SD 3.5 (MMDiT names: joint_blocks), after the renaming of diffusers' conversion scripts
 * (`scripts/convert_flux_to_diffusers.py`, `scripts/convert_sd3_to_diffusers.py`), read backwards.
 *
 * Two kinds of parameter need more than a rename:
 * - diffusers splits the fused projections: to_q/to_k/to_v are row blocks of `qkv` (FLUX double blocks, SD3), and
 *   to_q/to_k/to_v/proj_mlp the row blocks of a FLUX single block's `linear1`: `part` says which block of how many;
 * - diffusers' AdaLayerNormContinuous orders its output (scale, shift) where the single file has (shift, scale):
 *   `swapHalves` says the two row halves trade places. In SD3 only the last block's context norm is such a layer,
 *   recognised by its shape (2 x width rows instead of 6): `swapIfHalves`.
 */

export interface TransformerKey {
  /** single-file name (no `model.diffusion_model.` prefix) */
  key: string;
  part?: { index: number; of: number };
  swapHalves?: true;
  swapIfHalves?: true;
}

const QKV: Record<string, number> = { to_q: 0, to_k: 1, to_v: 2, add_q_proj: 0, add_k_proj: 1, add_v_proj: 2 };

/** Modules of a FLUX double block (diffusers `transformer_blocks.N.`) that are plain renames. */
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
/** RMSNorm scales: diffusers `weight`, BFL `scale`. */
const FLUX_DOUBLE_NORMS: Record<string, string> = {
  'attn.norm_q': 'img_attn.norm.query_norm',
  'attn.norm_k': 'img_attn.norm.key_norm',
  'attn.norm_added_q': 'txt_attn.norm.query_norm',
  'attn.norm_added_k': 'txt_attn.norm.key_norm',
};
const FLUX_TOP: Record<string, Omit<TransformerKey, 'key'> & { module: string }> = {
  x_embedder: { module: 'img_in' },
  context_embedder: { module: 'txt_in' },
  proj_out: { module: 'final_layer.linear' },
  'norm_out.linear': { module: 'final_layer.adaLN_modulation.1', swapHalves: true },
  'time_text_embed.timestep_embedder.linear_1': { module: 'time_in.in_layer' },
  'time_text_embed.timestep_embedder.linear_2': { module: 'time_in.out_layer' },
  'time_text_embed.text_embedder.linear_1': { module: 'vector_in.in_layer' },
  'time_text_embed.text_embedder.linear_2': { module: 'vector_in.out_layer' },
  'time_text_embed.guidance_embedder.linear_1': { module: 'guidance_in.in_layer' },
  'time_text_embed.guidance_embedder.linear_2': { module: 'guidance_in.out_layer' },
};

const PARAM = /^(.+)\.(weight|bias)$/;

/** The BFL name of a diffusers FLUX.1 transformer parameter, or undefined when it has none. */
export function fluxDiffusersKey(name: string): TransformerKey | undefined {
  const p = PARAM.exec(name);
  if (!p) return undefined;
  const [, module, param] = p as unknown as [string, string, string];
  let m = /^transformer_blocks\.(\d+)\.attn\.(to_q|to_k|to_v|add_q_proj|add_k_proj|add_v_proj)$/.exec(module);
  if (m) return { key: `double_blocks.${m[1]}.${m[2]!.startsWith('add_') ? 'txt' : 'img'}_attn.qkv.${param}`, part: { index: QKV[m[2]!]!, of: 3 } };
  m = /^transformer_blocks\.(\d+)\.(.+)$/.exec(module);
  if (m) {
    const norm = FLUX_DOUBLE_NORMS[m[2]!];
    if (norm !== undefined) return param === 'weight' ? { key: `double_blocks.${m[1]}.${norm}.scale` } : undefined;
    const to = FLUX_DOUBLE[m[2]!];
    return to === undefined ? undefined : { key: `double_blocks.${m[1]}.${to}.${param}` };
  }
  m = /^single_transformer_blocks\.(\d+)\.(attn\.to_q|attn\.to_k|attn\.to_v|proj_mlp|proj_out|norm\.linear|attn\.norm_q|attn\.norm_k)$/.exec(module);
  if (m) {
    const at = `single_blocks.${m[1]}`;
    switch (m[2]) {
      case 'proj_mlp':
        return { key: `${at}.linear1.${param}`, part: { index: 3, of: 4 } };
      case 'proj_out':
        return { key: `${at}.linear2.${param}` };
      case 'norm.linear':
        return { key: `${at}.modulation.lin.${param}` };
      case 'attn.norm_q':
        return param === 'weight' ? { key: `${at}.norm.query_norm.scale` } : undefined;
      case 'attn.norm_k':
        return param === 'weight' ? { key: `${at}.norm.key_norm.scale` } : undefined;
      default:
        return { key: `${at}.linear1.${param}`, part: { index: QKV[m[2]!.slice('attn.'.length)]!, of: 4 } };
    }
  }
  const top = FLUX_TOP[module];
  if (!top) return undefined;
  const { module: to, ...rest } = top;
  return { key: `${to}.${param}`, ...rest };
}

/** Modules of an SD3 joint block (diffusers `transformer_blocks.N.`) that are plain renames. */
const SD3_BLOCK: Record<string, Omit<TransformerKey, 'key'> & { module: string }> = {
  'attn.to_out.0': { module: 'x_block.attn.proj' },
  'attn.to_add_out': { module: 'context_block.attn.proj' },
  'attn2.to_out.0': { module: 'x_block.attn2.proj' },
  'ff.net.0.proj': { module: 'x_block.mlp.fc1' },
  'ff.net.2': { module: 'x_block.mlp.fc2' },
  'ff_context.net.0.proj': { module: 'context_block.mlp.fc1' },
  'ff_context.net.2': { module: 'context_block.mlp.fc2' },
  'norm1.linear': { module: 'x_block.adaLN_modulation.1' },
  'norm1_context.linear': { module: 'context_block.adaLN_modulation.1', swapIfHalves: true },
  'attn.norm_q': { module: 'x_block.attn.ln_q' },
  'attn.norm_k': { module: 'x_block.attn.ln_k' },
  'attn.norm_added_q': { module: 'context_block.attn.ln_q' },
  'attn.norm_added_k': { module: 'context_block.attn.ln_k' },
  'attn2.norm_q': { module: 'x_block.attn2.ln_q' },
  'attn2.norm_k': { module: 'x_block.attn2.ln_k' },
};
const SD3_TOP: Record<string, Omit<TransformerKey, 'key'> & { module: string }> = {
  'pos_embed.proj': { module: 'x_embedder.proj' },
  context_embedder: { module: 'context_embedder' },
  proj_out: { module: 'final_layer.linear' },
  'norm_out.linear': { module: 'final_layer.adaLN_modulation.1', swapHalves: true },
  'time_text_embed.timestep_embedder.linear_1': { module: 't_embedder.mlp.0' },
  'time_text_embed.timestep_embedder.linear_2': { module: 't_embedder.mlp.2' },
  'time_text_embed.text_embedder.linear_1': { module: 'y_embedder.mlp.0' },
  'time_text_embed.text_embedder.linear_2': { module: 'y_embedder.mlp.2' },
};

/** The MMDiT name of a diffusers SD3 / SD 3.5 transformer parameter, or undefined when it has none. */
export function sd3DiffusersKey(name: string): TransformerKey | undefined {
  if (name === 'pos_embed.pos_embed') return { key: 'pos_embed' };
  const p = PARAM.exec(name);
  if (!p) return undefined;
  const [, module, param] = p as unknown as [string, string, string];
  let m = /^transformer_blocks\.(\d+)\.(attn2?)\.(to_q|to_k|to_v|add_q_proj|add_k_proj|add_v_proj)$/.exec(module);
  if (m) {
    const added = m[3]!.startsWith('add_');
    if (added && m[2] === 'attn2') return undefined;
    const block = added ? 'context_block.attn' : `x_block.${m[2]}`;
    return { key: `joint_blocks.${m[1]}.${block}.qkv.${param}`, part: { index: QKV[m[3]!]!, of: 3 } };
  }
  m = /^transformer_blocks\.(\d+)\.(.+)$/.exec(module);
  if (m) {
    const to = SD3_BLOCK[m[2]!];
    if (!to) return undefined;
    const { module: path, ...rest } = to;
    return { key: `joint_blocks.${m[1]}.${path}.${param}`, ...rest };
  }
  const top = SD3_TOP[module];
  if (!top) return undefined;
  const { module: to, ...rest } = top;
  return { key: `${to}.${param}`, ...rest };
}

/** Which transformer a diffusers tensor-name set is (FLUX.1: single stream blocks; SD3: a patch-embedding position table). */
export function diffusersTransformerFamily(names: ReadonlySet<string>): 'flux' | 'sd3' | undefined {
  if (!names.has('transformer_blocks.0.attn.add_k_proj.weight')) return undefined;
  if ([...names].some((n) => n.startsWith('single_transformer_blocks.'))) return 'flux';
  if (names.has('pos_embed.proj.weight')) return 'sd3';
  return undefined;
}
