/**
 * LoRA targets in the FLUX.1 and SD3 transformers: a diffusers module path mapped to the single-file module (through
 * the project's one diffusers -> single-file table, keys/diffusersTransformers.ts), with the row-block sizes a LoRA's
 * up matrix needs where diffusers split a fused projection (q, k, v: 1 input width each; FLUX's single-block MLP: 4),
 * and the single-file module paths a LoRA may target.
 */
import { fluxDiffusersKey, sd3DiffusersKey } from '../keys/diffusersTransformers';

export interface TransformerModuleMap {
  /** Single-file module path (no prefix, no `.weight`). */
  path: string;
  part?: { index: number; sizes: number[] };
  swapHalves?: true;
  swapIfHalves?: true;
}

const THREE = [1, 1, 1];
/** FLUX single blocks: linear1 = [q, k, v, mlp] with mlp_ratio 4. */
const FLUX_LINEAR1 = [1, 1, 1, 4];

/**
 * The single-file module a diffusers transformer module is (or a row block of), from the one diffusers -> single-file
 * table (keys/diffusersTransformers.ts); undefined for modules without a weight matrix there (norm scales).
 */
export function transformerModule(family: 'flux' | 'sd3', path: string): TransformerModuleMap | undefined {
  const k = (family === 'flux' ? fluxDiffusersKey : sd3DiffusersKey)(`${path}.weight`);
  if (!k || !k.key.endsWith('.weight')) return undefined;
  const m: TransformerModuleMap = { path: k.key.slice(0, -'.weight'.length) };
  if (k.part) m.part = { index: k.part.index, sizes: k.part.of === 4 ? FLUX_LINEAR1 : THREE };
  if (k.swapHalves) m.swapHalves = true;
  if (k.swapIfHalves) m.swapIfHalves = true;
  return m;
}

/** Single-file FLUX module paths a LoRA can target (Linear layers). */
export const FLUX_SINGLE_MODULE =
  /^(double_blocks\.\d+\.(img|txt)_(attn\.(qkv|proj)|mlp\.[02]|mod\.lin)|single_blocks\.\d+\.(linear1|linear2|modulation\.lin)|(img_in|txt_in)|(time_in|vector_in|guidance_in)\.(in_layer|out_layer)|final_layer\.(linear|adaLN_modulation\.1))$/;

/** Single-file SD3 (MMDiT) module paths a LoRA can target. */
export const SD3_SINGLE_MODULE =
  /^(joint_blocks\.\d+\.(x_block|context_block)\.(attn2?\.(qkv|proj)|mlp\.fc[12]|adaLN_modulation\.1)|x_embedder\.proj|context_embedder|(t_embedder|y_embedder)\.mlp\.[02]|final_layer\.(linear|adaLN_modulation\.1))$/;
