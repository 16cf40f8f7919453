/**
 * Stored LoRA tensor names: which module and which role each tensor is, and where a module name points
 * (diffusion model or which text encoder, and the module path in diffusers, single-file or Hugging Face naming).
 *
 * kohya writes module paths with every dot turned into an underscore (`lora_unet_down_blocks_0_attentions_0_...`).
 * The dots come back by reading the name as a sequence of known segment names (longest match first, so
 * `single_transformer_blocks` wins over `single`); every other piece is a segment of its own. A name read wrongly
 * does not map to any weight and is reported as unknown, never matched to a wrong weight.
 */
import type { FactorRole, LoraNaming } from './types';

export type TensorRole = FactorRole | 'alpha' | 'dora_scale' | 'diff_b';

/** Unsupported network types, recognised so the note can say what they are. */
export type UnsupportedRole = 'oft' | 'boft' | 'glora' | 'ia3' | 'norm';

/** Suffixes after the module name, longest first where one ends another. */
const ROLE_SUFFIXES: [string, TensorRole][] = [
  ['.lora_linear_layer.down.weight', 'down'],
  ['.lora_linear_layer.up.weight', 'up'],
  ['.lora_down.weight', 'down'],
  ['.lora_up.weight', 'up'],
  ['.lora_mid.weight', 'mid'],
  ['.lora.down.weight', 'down'],
  ['.lora.up.weight', 'up'],
  ['.lora_A.weight', 'down'],
  ['.lora_B.weight', 'up'],
  ['.hada_w1_a', 'w1a'],
  ['.hada_w1_b', 'w1b'],
  ['.hada_w2_a', 'w2a'],
  ['.hada_w2_b', 'w2b'],
  ['.hada_t1', 't1'],
  ['.hada_t2', 't2'],
  ['.lokr_w1_a', 'w1a'],
  ['.lokr_w1_b', 'w1b'],
  ['.lokr_w2_a', 'w2a'],
  ['.lokr_w2_b', 'w2b'],
  ['.lokr_w1', 'w1'],
  ['.lokr_w2', 'w2'],
  ['.lokr_t2', 't2'],
  ['.dora_scale', 'dora_scale'],
  ['.alpha', 'alpha'],
  ['.diff_b', 'diff_b'],
  ['.diff', 'diff'],
  // the diffusers attention-processor format: `...attn1.processor.to_q_lora.down.weight`
  ['.down.weight', 'down'],
  ['.up.weight', 'up'],
];

const UNSUPPORTED_SUFFIXES: [string, UnsupportedRole][] = [
  ['.oft_blocks', 'oft'],
  ['.oft_diag', 'oft'],
  ['.oft_R', 'boft'],
  ['.a1.weight', 'glora'],
  ['.a2.weight', 'glora'],
  ['.b1.weight', 'glora'],
  ['.b2.weight', 'glora'],
  ['.on_input', 'ia3'],
  ['.w_norm', 'norm'],
  ['.b_norm', 'norm'],
];

export type SplitName =
  | { module: string; role: TensorRole; family: 'lora' | 'loha' | 'lokr' | 'full' | 'any' }
  | { module: string; unsupported: UnsupportedRole }
  | undefined;

/** The module and role of one stored tensor name, or undefined when no LoRA suffix fits. */
export function splitTensorName(name: string): SplitName {
  for (const [suffix, role] of ROLE_SUFFIXES) {
    if (name.endsWith(suffix) && name.length > suffix.length) {
      const family = suffix.startsWith('.hada_') ? 'loha' : suffix.startsWith('.lokr_') ? 'lokr' : role === 'diff' || role === 'diff_b' ? 'full' : role === 'alpha' || role === 'dora_scale' ? 'any' : 'lora';
      return { module: name.slice(0, -suffix.length), role, family };
    }
  }
  for (const [suffix, unsupported] of UNSUPPORTED_SUFFIXES) {
    if (name.endsWith(suffix) && name.length > suffix.length) return { module: name.slice(0, -suffix.length), unsupported };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Where a module name points

export type ModulePart = 'unet' | 'te' | 'te1' | 'te2' | 'te3';

export interface ModuleLocation {
  part: ModulePart;
  /** Dotted module path inside that part (no `.weight`). */
  path: string;
  /** How `path` is named: diffusers model names, single-file (LDM/SGM/BFL/MMDiT) names, or Hugging Face text-model names. */
  pathNaming: 'diffusers' | 'single' | 'hf';
  naming: LoraNaming;
}

/** First segments of single-file diffusion-model paths (LDM UNet, FLUX, SD3 MMDiT). */
const SINGLE_FILE_ROOTS = new Set([
  'input_blocks',
  'middle_block',
  'output_blocks',
  'time_embed',
  'label_emb',
  'out',
  'double_blocks',
  'single_blocks',
  'img_in',
  'txt_in',
  'time_in',
  'vector_in',
  'guidance_in',
  'final_layer',
  'joint_blocks',
  'x_embedder',
  't_embedder',
  'y_embedder',
]);

/**
 * Where a module name (role suffix removed) points, or undefined when it has no known prefix.
 * kohya: `lora_unet_`, `lora_te_` (SD 1.x/2.x), `lora_te1_`/`lora_te2_`/`lora_te3_`; OneTrainer `lora_transformer_`;
 * SimpleTuner `lycoris_`; PEFT/diffusers `unet.`, `transformer.`, `text_encoder(_2|_3).` (optionally under
 * `base_model.model.`); ComfyUI's generic `diffusion_model.`/`model.diffusion_model.`/`text_encoders.<te>.transformer.`.
 */
export function locateModule(stored: string): ModuleLocation | undefined {
  let m = /^lora_unet_(.+)$/.exec(stored);
  if (m) return unetLocation(undot(m[1]!), 'kohya');
  m = /^lora_te([123]?)_(.+)$/.exec(stored);
  if (m) return { part: m[1] ? (`te${m[1]}` as ModulePart) : 'te', path: undot(m[2]!), pathNaming: 'hf', naming: 'kohya' };
  m = /^lora_transformer_(.+)$/.exec(stored);
  if (m) return unetLocation(undot(m[1]!), 'onetrainer');
  m = /^lycoris_(.+)$/.exec(stored);
  if (m) return unetLocation(undot(m[1]!), 'lycoris-simpletuner');

  let name = stored.startsWith('base_model.model.') ? stored.slice('base_model.model.'.length) : stored;
  name = normalizeProcessor(name);
  m = /^(?:model\.)?diffusion_model\.(.+)$/.exec(name);
  if (m) return { part: 'unet', path: m[1]!, pathNaming: 'single', naming: 'single-file' };
  m = /^text_encoders\.(clip_l|clip_g|t5xxl)\.transformer\.(.+)$/.exec(name);
  if (m) return { part: m[1] === 'clip_l' ? 'te1' : m[1] === 'clip_g' ? 'te2' : 'te3', path: m[2]!, pathNaming: 'hf', naming: 'single-file' };
  m = /^(unet|transformer)\.(.+)$/.exec(name);
  if (m) return unetLocation(m[2]!, name.startsWith('unet.') ? 'diffusers' : 'peft');
  m = /^text_encoder(?:_([23]))?\.(.+)$/.exec(name);
  if (m) return { part: m[1] ? (`te${m[1]}` as ModulePart) : 'te1', path: m[2]!, pathNaming: 'hf', naming: 'peft' };
  return undefined;
}

function unetLocation(path: string, naming: LoraNaming): ModuleLocation {
  const root = path.split('.')[0]!;
  return { part: 'unet', path, pathNaming: SINGLE_FILE_ROOTS.has(root) ? 'single' : 'diffusers', naming };
}

/** `attn1.processor.to_q_lora` -> `attn1.to_q`, `to_out_lora` -> `to_out.0` (the diffusers attention-processor format). */
function normalizeProcessor(name: string): string {
  const m = /^(.*)\.processor\.(to_q|to_k|to_v|to_out|add_q_proj|add_k_proj|add_v_proj|to_add_out)_lora$/.exec(name);
  if (!m) return name;
  return `${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Underscores back to dots

/** Segment names that contain underscores, in every naming a module path can use. */
const COMPOUND_SEGMENTS = [
  // diffusers UNet
  'down_blocks', 'up_blocks', 'mid_block', 'transformer_blocks', 'to_q', 'to_k', 'to_v', 'to_out', 'proj_in', 'proj_out',
  'time_emb_proj', 'conv_shortcut', 'conv_in', 'conv_out', 'conv_norm_out', 'time_embedding', 'add_embedding',
  'linear_1', 'linear_2',
  // LDM / SGM UNet
  'input_blocks', 'middle_block', 'output_blocks', 'in_layers', 'out_layers', 'emb_layers', 'skip_connection',
  'time_embed', 'label_emb',
  // Hugging Face CLIP and T5 text models
  'text_model', 'self_attn', 'q_proj', 'k_proj', 'v_proj', 'out_proj', 'layer_norm1', 'layer_norm2', 'final_layer_norm',
  'token_embedding', 'position_embedding', 'text_projection', 'layer_norm', 'wi_0', 'wi_1', 'relative_attention_bias',
  // FLUX single-file (BFL)
  'double_blocks', 'single_blocks', 'img_attn', 'txt_attn', 'img_mlp', 'txt_mlp', 'img_mod', 'txt_mod', 'query_norm',
  'key_norm', 'img_in', 'txt_in', 'time_in', 'vector_in', 'guidance_in', 'in_layer', 'out_layer', 'final_layer',
  'adaLN_modulation',
  // FLUX / SD3 diffusers transformers
  'single_transformer_blocks', 'add_q_proj', 'add_k_proj', 'add_v_proj', 'to_add_out', 'ff_context', 'norm1_context',
  'proj_mlp', 'norm_out', 'time_text_embed', 'timestep_embedder', 'guidance_embedder', 'text_embedder', 'x_embedder',
  'context_embedder', 'pos_embed', 'norm_q', 'norm_k', 'norm_added_q', 'norm_added_k',
  // SD3 single-file (MMDiT)
  'joint_blocks', 'context_block', 'x_block', 't_embedder', 'y_embedder', 'ln_q', 'ln_k',
];
const COMPOUNDS = new Set(COMPOUND_SEGMENTS);
const LONGEST = Math.max(...COMPOUND_SEGMENTS.map((s) => s.split('_').length));

/** `down_blocks_0_attentions_0_proj_in` -> `down_blocks.0.attentions.0.proj_in`. */
export function undot(underscored: string): string {
  const tokens = underscored.split('_');
  const out: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    let taken = 1;
    for (let k = Math.min(LONGEST, tokens.length - i); k >= 2; k--) {
      if (COMPOUNDS.has(tokens.slice(i, i + k).join('_'))) {
        taken = k;
        break;
      }
    }
    out.push(tokens.slice(i, i + taken).join('_'));
    i += taken;
  }
  return out.join('.');
}
