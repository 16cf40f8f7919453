/**
 * diffusers tensor names -> single-file LDM/SGM names (SD 1.x, SD 2.x, SDXL base and refiner), after the renaming
 * rules of diffusers' `convert_diffusers_to_original_stable_diffusion.py` and `..._sdxl.py`; and for FLUX.1 and SD3
 * pipelines, to the names of ComfyUI's all-in-one checkpoints (the transformer by keys/diffusersTransformers.ts, the
 * text encoders under `text_encoders.<clip_l|clip_g|t5xxl>.transformer.` with their Hugging Face names, the VAE as for
 * SD).
 *
 * Three kinds of names need more than a rename, and the result says what to do:
 * - VAE mid-block attention q/k/v/proj are Linear [C, C] in diffusers and 1x1 conv [C, C, 1, 1] in LDM: `shape`
 *   is the LDM shape; the bytes are the same, so the tensor is only reshaped.
 * - OpenCLIP `text_projection` is the transpose of the diffusers `text_projection.weight`: `transpose` is set and
 *   the reader describes the tensor as a strided view of the same bytes.
 * - OpenCLIP `attn.in_proj_weight`/`in_proj_bias` is the concatenation of q, k and v: `part` says which third this
 *   tensor is; the reader joins the three into one tensor made of parts.
 */

import { fluxDiffusersKey, sd3DiffusersKey } from './diffusersTransformers';

export type DiffusersArch = 'sd1' | 'sd2' | 'sdxl-base' | 'sdxl-refiner' | 'flux' | 'sd3';
type UnetArch = Exclude<DiffusersArch, 'flux' | 'sd3'>;

export interface LdmKey {
  key: string;
  /** LDM shape when it differs from the diffusers shape (same element count, same bytes). */
  shape?: number[];
  /** The LDM tensor is the transpose of this 2-D tensor. */
  transpose?: true;
  /** This tensor is part `index` (q=0, k=1, v=2) of the LDM tensor `key`, concatenated along dimension 0. */
  part?: { index: number; of: number };
  /** The LDM tensor is this one with the two halves of dimension 0 swapped (diffusers' (scale, shift) order). */
  swapHalves?: true;
}

interface UnetTopology {
  blocks: number;
  downAttention: ReadonlySet<number>;
  upAttention: ReadonlySet<number>;
}

const UNET: Record<UnetArch, UnetTopology> = {
  sd1: { blocks: 4, downAttention: new Set([0, 1, 2]), upAttention: new Set([1, 2, 3]) },
  sd2: { blocks: 4, downAttention: new Set([0, 1, 2]), upAttention: new Set([1, 2, 3]) },
  'sdxl-base': { blocks: 3, downAttention: new Set([1, 2]), upAttention: new Set([0, 1]) },
  'sdxl-refiner': { blocks: 4, downAttention: new Set([1, 2]), upAttention: new Set([1, 2]) },
};
const DOWN_LAYERS = 2;
const UP_LAYERS = 3;

const UNET_PREFIX = 'model.diffusion_model.';
const VAE_PREFIX = 'first_stage_model.';

/** Where each text encoder lives in the single file, and in which naming (HF CLIP kept, or OpenCLIP). */
const TEXT_ENCODERS: Record<DiffusersArch, Partial<Record<string, { prefix: string; openClip: boolean }>>> = {
  sd1: { text_encoder: { prefix: 'cond_stage_model.transformer.', openClip: false } },
  sd2: { text_encoder: { prefix: 'cond_stage_model.model.', openClip: true } },
  'sdxl-base': {
    text_encoder: { prefix: 'conditioner.embedders.0.transformer.', openClip: false },
    text_encoder_2: { prefix: 'conditioner.embedders.1.model.', openClip: true },
  },
  'sdxl-refiner': { text_encoder_2: { prefix: 'conditioner.embedders.0.model.', openClip: true } },
  flux: {
    text_encoder: { prefix: 'text_encoders.clip_l.transformer.', openClip: false },
    text_encoder_2: { prefix: 'text_encoders.t5xxl.transformer.', openClip: false },
  },
  sd3: {
    text_encoder: { prefix: 'text_encoders.clip_l.transformer.', openClip: false },
    text_encoder_2: { prefix: 'text_encoders.clip_g.transformer.', openClip: false },
    text_encoder_3: { prefix: 'text_encoders.t5xxl.transformer.', openClip: false },
  },
};

/** Hugging Face names kept under the prefix: CLIP (`text_model.*`, SD3's `text_projection.weight`) and T5. */
const HF_TEXT_ENCODER = /^(text_model\.|text_projection\.weight$|encoder\.|shared\.weight$)/;

/** The LDM name of a diffusers tensor, or undefined when it has none (it then keeps a `diffusers.` name). */
export function diffusersToLdm(subfolder: string, name: string, shape: readonly number[], arch: DiffusersArch, shapeOf: (name: string) => readonly number[] | undefined = () => undefined): LdmKey | undefined {
  if (subfolder === 'unet') {
    if (arch === 'flux' || arch === 'sd3') return undefined;
    const key = unetKey(name, UNET[arch]);
    return key === undefined ? undefined : { key: UNET_PREFIX + key };
  }
  if (subfolder === 'transformer') return transformerKey(name, shape, arch, shapeOf);
  if (subfolder === 'vae') return vaeKey(name, shape);
  const te = TEXT_ENCODERS[arch][subfolder];
  if (!te) return undefined;
  if (!te.openClip) return HF_TEXT_ENCODER.test(name) && (arch === 'flux' || arch === 'sd3' || name.startsWith('text_model.')) ? { key: te.prefix + name } : undefined;
  return openClipKey(name, shape, te.prefix);
}

/**
 * A FLUX.1 or SD3 transformer parameter under `model.diffusion_model.`. Where the map swaps by shape (SD3's last
 * context norm), the layer's weight decides, for its bias too: 2w rows for a width w, where other blocks have 6w.
 */
export function transformerKey(name: string, shape: readonly number[], arch: DiffusersArch, shapeOf: (name: string) => readonly number[] | undefined = () => undefined): LdmKey | undefined {
  const t = arch === 'flux' ? fluxDiffusersKey(name) : arch === 'sd3' ? sd3DiffusersKey(name) : undefined;
  if (!t) return undefined;
  const out: LdmKey = { key: UNET_PREFIX + t.key };
  if (t.part) out.part = t.part;
  const w = name.endsWith('.bias') ? shapeOf(name.slice(0, -'.bias'.length) + '.weight') : shape;
  if (t.swapHalves || (t.swapIfHalves && w?.length === 2 && w[0] === 2 * w[1]!)) out.swapHalves = true;
  return out;
}

// --- UNet ------------------------------------------------------------------------------------------------------

const UNET_TOP: Record<string, string> = {
  'time_embedding.linear_1': 'time_embed.0',
  'time_embedding.linear_2': 'time_embed.2',
  conv_in: 'input_blocks.0.0',
  conv_norm_out: 'out.0',
  conv_out: 'out.2',
  'add_embedding.linear_1': 'label_emb.0.0',
  'add_embedding.linear_2': 'label_emb.0.2',
};

const UNET_RESNET: Record<string, string> = {
  norm1: 'in_layers.0',
  conv1: 'in_layers.2',
  norm2: 'out_layers.0',
  conv2: 'out_layers.3',
  time_emb_proj: 'emb_layers.1',
  conv_shortcut: 'skip_connection',
};

const PARAM = /^(weight|bias)$/;
const TRANSFORMER_INNER =
  /^(norm|proj_in|proj_out)\.(weight|bias)$|^transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v)\.weight|attn[12]\.to_out\.0\.(weight|bias)|ff\.net\.0\.proj\.(weight|bias)|ff\.net\.2\.(weight|bias)|norm[123]\.(weight|bias))$/;

function unetKey(name: string, topo: UnetTopology): string | undefined {
  const lastDot = name.lastIndexOf('.');
  const top = UNET_TOP[name.slice(0, lastDot)];
  if (top !== undefined) return PARAM.test(name.slice(lastDot + 1)) ? `${top}.${name.slice(lastDot + 1)}` : undefined;

  let m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const i = Number(m[1]);
    const j = Number(m[3]);
    if (i >= topo.blocks || j >= DOWN_LAYERS) return undefined;
    const at = `input_blocks.${3 * i + j + 1}`;
    if (m[2] === 'resnets') return resnet(`${at}.0`, m[4]!);
    return topo.downAttention.has(i) && TRANSFORMER_INNER.test(m[4]!) ? `${at}.1.${m[4]}` : undefined;
  }
  m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)$/.exec(name);
  if (m) {
    const i = Number(m[1]);
    return i < topo.blocks - 1 ? `input_blocks.${3 * (i + 1)}.0.op.${m[2]}` : undefined;
  }
  m = /^mid_block\.resnets\.([01])\.(.+)$/.exec(name);
  if (m) return resnet(`middle_block.${2 * Number(m[1])}`, m[2]!);
  m = /^mid_block\.attentions\.0\.(.+)$/.exec(name);
  if (m) return TRANSFORMER_INNER.test(m[1]!) ? `middle_block.1.${m[1]}` : undefined;
  m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const i = Number(m[1]);
    const j = Number(m[3]);
    if (i >= topo.blocks || j >= UP_LAYERS) return undefined;
    const at = `output_blocks.${3 * i + j}`;
    if (m[2] === 'resnets') return resnet(`${at}.0`, m[4]!);
    return topo.upAttention.has(i) && TRANSFORMER_INNER.test(m[4]!) ? `${at}.1.${m[4]}` : undefined;
  }
  m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(weight|bias)$/.exec(name);
  if (m) {
    const i = Number(m[1]);
    // The upsampler follows the block's attention when it has one.
    return i < topo.blocks - 1 ? `output_blocks.${3 * i + 2}.${topo.upAttention.has(i) ? 2 : 1}.conv.${m[2]}` : undefined;
  }
  return undefined;
}

function resnet(at: string, rest: string): string | undefined {
  const m = /^([a-z_0-9]+)\.(weight|bias)$/.exec(rest);
  const renamed = m ? UNET_RESNET[m[1]!] : undefined;
  return renamed === undefined ? undefined : `${at}.${renamed}.${m![2]}`;
}

// --- VAE -------------------------------------------------------------------------------------------------------

const VAE_RESNET: Record<string, string> = { norm1: 'norm1', conv1: 'conv1', norm2: 'norm2', conv2: 'conv2', conv_shortcut: 'nin_shortcut' };
/** Both spellings of the mid-block attention: the legacy one (query...) and the current one (to_q...). */
const VAE_ATTENTION: Record<string, string> = {
  group_norm: 'norm',
  query: 'q',
  key: 'k',
  value: 'v',
  proj_attn: 'proj_out',
  to_q: 'q',
  to_k: 'k',
  to_v: 'v',
  'to_out.0': 'proj_out',
};
const VAE_BLOCKS = 4;

function vaeKey(name: string, shape: readonly number[]): LdmKey | undefined {
  const key = (k: string | undefined): LdmKey | undefined => (k === undefined ? undefined : { key: VAE_PREFIX + k });
  let m = /^(quant_conv|post_quant_conv|(?:encoder|decoder)\.(?:conv_in|conv_out))\.(weight|bias)$/.exec(name);
  if (m) return key(name);
  m = /^(encoder|decoder)\.conv_norm_out\.(weight|bias)$/.exec(name);
  if (m) return key(`${m[1]}.norm_out.${m[2]}`);
  m = /^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(name);
  if (m) return Number(m[1]) < VAE_BLOCKS && Number(m[2]) < DOWN_LAYERS ? key(vaeResnet(`encoder.down.${m[1]}.block.${m[2]}`, m[3]!)) : undefined;
  m = /^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)$/.exec(name);
  if (m) return Number(m[1]) < VAE_BLOCKS - 1 ? key(`encoder.down.${m[1]}.downsample.conv.${m[2]}`) : undefined;
  // diffusers numbers the decoder's up blocks from the bottom, LDM from the top.
  m = /^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(name);
  if (m) return Number(m[1]) < VAE_BLOCKS && Number(m[2]) < UP_LAYERS ? key(vaeResnet(`decoder.up.${VAE_BLOCKS - 1 - Number(m[1])}.block.${m[2]}`, m[3]!)) : undefined;
  m = /^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(weight|bias)$/.exec(name);
  if (m) return Number(m[1]) < VAE_BLOCKS - 1 ? key(`decoder.up.${VAE_BLOCKS - 1 - Number(m[1])}.upsample.conv.${m[2]}`) : undefined;
  m = /^(encoder|decoder)\.mid_block\.resnets\.([01])\.(.+)$/.exec(name);
  if (m) return key(vaeResnet(`${m[1]}.mid.block_${Number(m[2]) + 1}`, m[3]!));
  m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|query|key|value|proj_attn|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(name);
  if (m) {
    const renamed = VAE_ATTENTION[m[2]!]!;
    const out: LdmKey = { key: `${VAE_PREFIX}${m[1]}.mid.attn_1.${renamed}.${m[3]}` };
    if (renamed !== 'norm' && m[3] === 'weight' && shape.length === 2) out.shape = [shape[0]!, shape[1]!, 1, 1];
    return out;
  }
  return undefined;
}

function vaeResnet(at: string, rest: string): string | undefined {
  const m = /^([a-z_0-9]+)\.(weight|bias)$/.exec(rest);
  const renamed = m ? VAE_RESNET[m[1]!] : undefined;
  return renamed === undefined ? undefined : `${at}.${renamed}.${m![2]}`;
}

// --- OpenCLIP text encoders ------------------------------------------------------------------------------------

const OPEN_CLIP_LAYER: Record<string, string> = {
  layer_norm1: 'ln_1',
  layer_norm2: 'ln_2',
  'mlp.fc1': 'mlp.c_fc',
  'mlp.fc2': 'mlp.c_proj',
  'self_attn.out_proj': 'attn.out_proj',
};
const QKV: Record<string, number> = { q_proj: 0, k_proj: 1, v_proj: 2 };

function openClipKey(name: string, shape: readonly number[], prefix: string): LdmKey | undefined {
  switch (name) {
    case 'text_model.embeddings.token_embedding.weight':
      return { key: `${prefix}token_embedding.weight` };
    case 'text_model.embeddings.position_embedding.weight':
      return { key: `${prefix}positional_embedding` };
    case 'text_model.final_layer_norm.weight':
      return { key: `${prefix}ln_final.weight` };
    case 'text_model.final_layer_norm.bias':
      return { key: `${prefix}ln_final.bias` };
    case 'text_projection.weight':
      return shape.length === 2 ? { key: `${prefix}text_projection`, shape: [shape[1]!, shape[0]!], transpose: true } : undefined;
  }
  let m = /^text_model\.encoder\.layers\.(\d+)\.(layer_norm1|layer_norm2|mlp\.fc1|mlp\.fc2|self_attn\.out_proj)\.(weight|bias)$/.exec(name);
  if (m) return { key: `${prefix}transformer.resblocks.${m[1]}.${OPEN_CLIP_LAYER[m[2]!]}.${m[3]}` };
  m = /^text_model\.encoder\.layers\.(\d+)\.self_attn\.(q_proj|k_proj|v_proj)\.(weight|bias)$/.exec(name);
  if (m) return { key: `${prefix}transformer.resblocks.${m[1]}.attn.in_proj_${m[3]}`, part: { index: QKV[m[2]!]!, of: 3 } };
  return undefined;
}
