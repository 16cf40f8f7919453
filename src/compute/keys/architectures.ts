/**
 * The architectures modeldiff recognises and their components, as data: one row per family of checkpoints, and one
 * per component that people keep as a file of its own (a VAE, a text encoder). Everything that knows an architecture
 * reads it from here: detection (keys/arch.ts), the canonical key names and component assignment
 * (keys/canonical.ts), the comparability of components (their `kind`), the health checks (expected components,
 * known key trees), the content hashes (component prefixes) and the merge-block breakdowns (block scheme).
 *
 * Adding a family (docs/architecture.md, "A new architecture"): add its id to `Arch` in src/shared/result.ts and to
 * schema/result.schema.json, then a row to ARCHITECTURES. Rows are tried in order and the first whose `detect` holds
 * wins, so put a more specific family before the one it would otherwise be taken for.
 *
 * Facts (shared/notes/model-zoo-2026.md): ComfyUI `comfy/model_detection.py` for the identifying keys, kohya-ss
 * sd-scripts `library/flux_utils.py` / `sd3_utils.py` for the variants, sd-mecha's model configs for the components
 * of all-in-one checkpoints.
 */
import type { UnetLayout } from '../../shared/analysis';
import type { Arch } from '../../shared/result';

/** The canonical prefix of every diffusion model (UNet or transformer), whatever the family. */
export const DIFFUSION_PREFIX = 'model.diffusion_model.';
/** The canonical prefix of every VAE (a FLUX all-in-one's `vae.` and a bare VAE file are read under it). */
export const VAE_PREFIX = 'first_stage_model.';

export type ComponentPart = 'diffusion_model' | 'text_encoder' | 'vae' | 'ema';

export interface ComponentRow {
  /** component id in result.json (`unet`, `transformer`, `clip_l`...): the slot it is shown in */
  id: string;
  /** canonical key prefix that makes a key part of this component */
  prefix: string;
  /** for people: "CLIP-L text encoder" */
  name: string;
  /**
   * the component's own architecture: two models' components of the same id are compared only when their kinds are
   * equal (an SD 1.x UNet and an SDXL UNet are both `unet`, but not comparable: "different architectures")
   */
  kind: string;
  part: ComponentPart;
  /** a full checkpoint of this family normally carries it (health: "missing component") */
  expected: boolean;
  /** the key tree this family keeps under `prefix`, when narrower (health: anything else is an unexpected key) */
  tree?: string;
}

/** What detection looks at: canonical key names (SD aliases resolved), their shapes, and declared metadata. */
export interface ArchEvidence {
  hasKey(key: string): boolean;
  hasPrefix(prefix: string): boolean;
  shapeOf(key: string): readonly number[] | undefined;
  /** the largest N of keys `${prefix}N...` (-1 when there is none) */
  maxIndex(prefix: string): number;
  /** a key of the diffusion model, stored under `model.diffusion_model.` or bare */
  dm(key: string): boolean;
  dmPrefix(prefix: string): boolean;
  dmShape(key: string): readonly number[] | undefined;
  dmMaxIndex(prefix: string): number;
}

export interface ArchitectureRow {
  id: Exclude<Arch, 'generic'>;
  /** for people: "SDXL base" */
  label: string;
  /** whether the keys are this family's (rows are tried in order; the first that holds wins) */
  detect(e: ArchEvidence): boolean;
  components: readonly ComponentRow[];
  /** merge-block scheme of the diffusion model's breakdown, or none */
  mergeBlocks: UnetLayout | null;
  /** where the keys of a bare file (one whose keys sit under none of the row's prefixes) are read: a bare FLUX
   *  transformer's keys get `model.diffusion_model.`, a bare VAE's `first_stage_model.` */
  bare: string;
  /** stored prefixes read under canonical ones, so equal things compare across files */
  aliases?: readonly { from: string; to: string; what: string }[];
  /** how related families are grouped when a file's metadata declares one (GGUF general.architecture, modelspec) */
  group: 'sd1' | 'sd2' | 'sdxl' | 'sd3' | 'flux' | 'component';
}

// --- components ------------------------------------------------------------------------------------------------

const unet = (kind: string): ComponentRow => ({ id: 'unet', prefix: DIFFUSION_PREFIX, name: 'UNet', kind, part: 'diffusion_model', expected: true });
const transformer = (name: string, kind: string): ComponentRow => ({ id: 'transformer', prefix: DIFFUSION_PREFIX, name, kind, part: 'diffusion_model', expected: true });
const ema = (kind: string): ComponentRow => ({ id: 'ema', prefix: 'model_ema.', name: 'EMA copy', kind: `ema-${kind}`, part: 'ema', expected: false });
const VAE_4CH: ComponentRow = { id: 'vae', prefix: VAE_PREFIX, name: 'VAE', kind: 'vae-kl-f8-4ch', part: 'vae', expected: true };
const VAE_16CH: ComponentRow = { id: 'vae', prefix: VAE_PREFIX, name: 'VAE (16 channels)', kind: 'vae-kl-f8-16ch', part: 'vae', expected: true };
const SD_TE = { id: 'te', prefix: 'cond_stage_model.', part: 'text_encoder', expected: true } as const;
const TE0: ComponentRow = { id: 'te0', prefix: 'conditioner.embedders.0.', name: 'CLIP-L text encoder', kind: 'clip-l', part: 'text_encoder', expected: true, tree: 'conditioner.embedders.0.transformer.' };
const TE1: ComponentRow = { id: 'te1', prefix: 'conditioner.embedders.1.', name: 'OpenCLIP bigG text encoder', kind: 'openclip-bigg', part: 'text_encoder', expected: true, tree: 'conditioner.embedders.1.model.' };
const CLIP_L: ComponentRow = { id: 'clip_l', prefix: 'text_encoders.clip_l.', name: 'CLIP-L text encoder', kind: 'clip-l', part: 'text_encoder', expected: true };
const CLIP_G: ComponentRow = { id: 'clip_g', prefix: 'text_encoders.clip_g.', name: 'CLIP-G text encoder', kind: 'clip-g', part: 'text_encoder', expected: true };
const T5XXL: ComponentRow = { id: 't5xxl', prefix: 'text_encoders.t5xxl.', name: 'T5-XXL text encoder', kind: 't5xxl', part: 'text_encoder', expected: true };
const optional = (c: ComponentRow): ComponentRow => ({ ...c, expected: false });

/** A FLUX all-in-one checkpoint (ComfyUI) stores its VAE (ae) under `vae.`. */
const FLUX_VAE_ALIAS = [{ from: 'vae.', to: VAE_PREFIX, what: 'VAE' }] as const;

// --- detection ---------------------------------------------------------------------------------------------------

/** FLUX.1 and its relatives: double and single stream blocks with RMS-normed attention. */
const isFluxLike = (e: ArchEvidence) => e.dm('double_blocks.0.img_attn.norm.key_norm.scale') && e.dm('img_in.weight');
const isMmdit = (e: ArchEvidence) => e.dm('joint_blocks.0.context_block.attn.qkv.weight');
/** SD 3.5 normalises q and k (`ln_k`); 3.5 Medium (MMDiT-X) adds a second attention to the first blocks. */
const hasQkNorm = (e: ArchEvidence) => e.dm('joint_blocks.0.x_block.attn.ln_k.weight');
const hasAttn2 = (e: ArchEvidence) => e.dm('joint_blocks.0.x_block.attn2.qkv.weight');
const isSdUnet = (e: ArchEvidence) => e.dmPrefix('input_blocks.') || e.dmPrefix('middle_block.') || e.dmPrefix('output_blocks.');
/** SDXL: either text encoder, or the label embedding of its UNet (a UNet-only file). */
const isSdxl = (e: ArchEvidence) => e.hasPrefix('conditioner.embedders.') || (isSdUnet(e) && e.dm('label_emb.0.0.weight'));
/** The refiner has 12 input blocks (0..11) and OpenCLIP bigG only; the base 9 and both encoders. */
const isRefiner = (e: ArchEvidence) => !e.hasPrefix('conditioner.embedders.0.') && (e.hasPrefix('conditioner.embedders.1.') || e.dmMaxIndex('input_blocks.') >= 11);

/** Latent channels of a VAE from its encoder's output convolution (2 x channels: mean and log-variance). */
export function vaeLatentChannels(e: ArchEvidence): number | undefined {
  for (const p of [VAE_PREFIX, 'vae.', '']) {
    const s = e.shapeOf(`${p}encoder.conv_out.weight`);
    if (s && s.length === 4 && e.hasKey(`${p}decoder.conv_in.weight`)) return s[0]! / 2;
  }
  return undefined;
}
const clipLayers = (e: ArchEvidence, prefix: string) =>
  e.hasKey(`${prefix}text_model.embeddings.token_embedding.weight`) ? e.maxIndex(`${prefix}text_model.encoder.layers.`) + 1 : 0;
const isT5 = (e: ArchEvidence, prefix: string) => e.hasKey(`${prefix}encoder.block.0.layer.0.SelfAttention.q.weight`);

export const ARCHITECTURES: readonly ArchitectureRow[] = [
  {
    id: 'flux2',
    label: 'FLUX.2',
    detect: (e) => isFluxLike(e) && e.dm('double_stream_modulation_img.lin.weight'),
    components: [transformer('FLUX.2 transformer', 'flux2')],
    mergeBlocks: 'flux',
    bare: DIFFUSION_PREFIX,
    group: 'flux',
  },
  {
    id: 'chroma',
    label: 'Chroma',
    // FLUX.1 schnell with the per-block modulation replaced by one distilled guidance network
    detect: (e) => isFluxLike(e) && e.dmPrefix('distilled_guidance_layer.'),
    components: [transformer('Chroma transformer', 'chroma'), T5XXL, optional(VAE_16CH)],
    mergeBlocks: 'flux',
    bare: DIFFUSION_PREFIX,
    aliases: FLUX_VAE_ALIAS,
    group: 'flux',
  },
  {
    id: 'flux-dev',
    label: 'FLUX.1 dev',
    // guidance distilled: the guidance embedding (kohya flux_utils: dev vs schnell)
    detect: (e) => isFluxLike(e) && e.dmPrefix('guidance_in.'),
    components: [transformer('FLUX.1 transformer', 'flux1'), CLIP_L, T5XXL, VAE_16CH],
    mergeBlocks: 'flux',
    bare: DIFFUSION_PREFIX,
    aliases: FLUX_VAE_ALIAS,
    group: 'flux',
  },
  {
    id: 'flux-schnell',
    label: 'FLUX.1 schnell',
    detect: (e) => isFluxLike(e),
    components: [transformer('FLUX.1 transformer', 'flux1'), CLIP_L, T5XXL, VAE_16CH],
    mergeBlocks: 'flux',
    bare: DIFFUSION_PREFIX,
    aliases: FLUX_VAE_ALIAS,
    group: 'flux',
  },
  {
    id: 'sd35-medium',
    label: 'SD 3.5 Medium',
    detect: (e) => isMmdit(e) && hasAttn2(e),
    components: [transformer('MMDiT-X transformer (SD 3.5 Medium)', 'mmdit-sd35-medium'), CLIP_L, CLIP_G, T5XXL, VAE_16CH],
    mergeBlocks: 'sd3',
    bare: DIFFUSION_PREFIX,
    group: 'sd3',
  },
  {
    id: 'sd35-large',
    label: 'SD 3.5 Large',
    detect: (e) => isMmdit(e) && hasQkNorm(e),
    components: [transformer('MMDiT transformer (SD 3.5 Large)', 'mmdit-sd35-large'), CLIP_L, CLIP_G, T5XXL, VAE_16CH],
    mergeBlocks: 'sd3',
    bare: DIFFUSION_PREFIX,
    group: 'sd3',
  },
  {
    id: 'sd3-medium',
    label: 'SD3 Medium',
    detect: (e) => isMmdit(e),
    components: [transformer('MMDiT transformer (SD3 Medium)', 'mmdit-sd3-medium'), CLIP_L, CLIP_G, T5XXL, VAE_16CH],
    mergeBlocks: 'sd3',
    bare: DIFFUSION_PREFIX,
    group: 'sd3',
  },
  {
    id: 'sdxl-base',
    label: 'SDXL base',
    detect: (e) => isSdxl(e) && !isRefiner(e),
    components: [unet('unet-sdxl'), TE0, TE1, VAE_4CH, ema('unet-sdxl')],
    mergeBlocks: 'sdxl',
    bare: DIFFUSION_PREFIX,
    group: 'sdxl',
  },
  {
    id: 'sdxl-refiner',
    label: 'SDXL refiner',
    detect: (e) => isSdxl(e) && isRefiner(e),
    // the refiner stores OpenCLIP bigG at conditioner.embedders.0.model.; keys/canonical.ts reads it as te1
    components: [unet('unet-sdxl-refiner'), TE1, VAE_4CH, ema('unet-sdxl-refiner')],
    mergeBlocks: 'sd',
    bare: DIFFUSION_PREFIX,
    group: 'sdxl',
  },
  {
    id: 'sd2',
    label: 'SD 2.x',
    // with no text encoder: SD2 projects attention with linear layers, SD1 with 1x1 convolutions
    detect: (e) => e.hasPrefix('cond_stage_model.model.') || (isSdUnet(e) && !e.hasPrefix('cond_stage_model.transformer.') && e.dmShape('input_blocks.1.1.proj_in.weight')?.length === 2),
    components: [unet('unet-sd2'), { ...SD_TE, name: 'OpenCLIP-H text encoder', kind: 'openclip-h', tree: 'cond_stage_model.model.' }, VAE_4CH, ema('unet-sd2')],
    mergeBlocks: 'sd',
    bare: DIFFUSION_PREFIX,
    group: 'sd2',
  },
  {
    id: 'sd1',
    label: 'SD 1.x',
    detect: (e) => isSdUnet(e) || e.hasPrefix('cond_stage_model.'),
    components: [unet('unet-sd1'), { ...SD_TE, name: 'CLIP-L text encoder', kind: 'clip-l', tree: 'cond_stage_model.transformer.' }, VAE_4CH, ema('unet-sd1')],
    mergeBlocks: 'sd',
    bare: DIFFUSION_PREFIX,
    group: 'sd1',
  },
  // --- one component alone -----------------------------------------------------------------------------------------
  {
    id: 'vae-16ch',
    label: 'VAE, 16 channels (FLUX.1, SD3)',
    detect: (e) => vaeLatentChannels(e) === 16,
    components: [VAE_16CH],
    mergeBlocks: null,
    bare: VAE_PREFIX,
    aliases: FLUX_VAE_ALIAS,
    group: 'component',
  },
  {
    id: 'vae-4ch',
    label: 'VAE (SD 1.x, SD 2.x, SDXL)',
    detect: (e) => vaeLatentChannels(e) === 4,
    components: [VAE_4CH],
    mergeBlocks: null,
    bare: VAE_PREFIX,
    aliases: FLUX_VAE_ALIAS,
    group: 'component',
  },
  {
    id: 'clip-g',
    label: 'CLIP-G text encoder',
    detect: (e) => clipLayers(e, '') === 32 || clipLayers(e, 'text_encoders.clip_g.transformer.') > 0,
    components: [CLIP_G],
    mergeBlocks: null,
    bare: 'text_encoders.clip_g.transformer.',
    group: 'component',
  },
  {
    id: 'clip-l',
    label: 'CLIP-L text encoder',
    detect: (e) => clipLayers(e, '') === 12 || clipLayers(e, 'text_encoders.clip_l.transformer.') > 0,
    components: [CLIP_L],
    mergeBlocks: null,
    bare: 'text_encoders.clip_l.transformer.',
    group: 'component',
  },
  {
    id: 't5xxl',
    label: 'T5-XXL text encoder',
    detect: (e) => isT5(e, '') || isT5(e, 'text_encoders.t5xxl.transformer.'),
    components: [T5XXL],
    mergeBlocks: null,
    bare: 'text_encoders.t5xxl.transformer.',
    group: 'component',
  },
];

/** Shown for a model whose keys are no family's. */
export const GENERIC_LABEL = 'unknown architecture';

/**
 * Families recognised by a key (the note's table, from ComfyUI `detect_unet_config`) that modeldiff does not break
 * down: named in the model's description, compared by leading key names like any unknown architecture.
 */
export const UNSUPPORTED_FAMILIES: readonly { label: string; key: string; prefix?: true }[] = [
  { label: 'AuraFlow', key: 'double_layers.0.attn.w1q.weight' },
  { label: 'Hunyuan-DiT', key: 'mlp_t5.0.weight' },
  { label: 'Stable Cascade', key: 'clf.1.weight' },
  { label: 'PixArt', key: 't_block.1.weight' },
  { label: 'Lumina 2', key: 'cap_embedder.1.weight' },
  { label: 'Wan', key: 'head.modulation' },
  { label: 'HunyuanVideo', key: 'txt_in.individual_token_refiner.', prefix: true },
  { label: 'HiDream', key: 'caption_projection.0.linear.weight' },
  { label: 'Qwen-Image', key: 'txt_norm.weight' },
];

/** GGUF `general.architecture` values of image models (city96/ComfyUI-GGUF) -> family group or a name. */
export const GGUF_ARCHITECTURES: Readonly<Record<string, ArchitectureRow['group'] | string>> = {
  flux: 'flux',
  sd1: 'sd1',
  sdxl: 'sdxl',
  sd3: 'sd3',
  aura: 'AuraFlow',
  hidream: 'HiDream',
  cosmos: 'Cosmos',
  ltxv: 'LTX-Video',
  hyvid: 'HunyuanVideo',
  wan: 'Wan',
  lumina2: 'Lumina 2',
  qwen_image: 'Qwen-Image',
};

/** Top-level keys SD checkpoints legitimately carry (LDM DDPM buffers and the markers sd-mecha lists as optional). */
export const KNOWN_TOP_LEVEL: ReadonlySet<string> = new Set([
  'betas',
  'alphas_cumprod',
  'alphas_cumprod_prev',
  'sqrt_alphas_cumprod',
  'sqrt_one_minus_alphas_cumprod',
  'log_one_minus_alphas_cumprod',
  'sqrt_recip_alphas_cumprod',
  'sqrt_recipm1_alphas_cumprod',
  'posterior_variance',
  'posterior_log_variance_clipped',
  'posterior_mean_coef1',
  'posterior_mean_coef2',
  'logvar',
  'v_pred',
  'ztsnr',
  'edm_mean',
  'edm_std',
  'edm_vpred.sigma_min',
  'edm_vpred.sigma_max',
  // ComfyUI's sampling buffers in SD3 / FLUX all-in-one checkpoints
  'model.model_sampling.sigmas',
]);

export function architecture(id: Arch): ArchitectureRow | undefined {
  return ARCHITECTURES.find((a) => a.id === id);
}

/** The row of a component id in a family (undefined for `other` and generic components). */
export function componentRow(arch: Arch, component: string): ComponentRow | undefined {
  return architecture(arch)?.components.find((c) => c.id === component);
}

/**
 * The prefix of a component's keys, or undefined for a generic component. Every family that has a component id
 * keeps it under the same canonical prefix (checked by the table's test).
 */
export function componentPrefix(component: string): string | undefined {
  for (const a of ARCHITECTURES) for (const c of a.components) if (c.id === component) return c.prefix;
  return undefined;
}

/** Components of the families' models proper (diffusion model, text encoders, VAE): all but EMA copies and `other`. */
export function isModelComponent(component: string): boolean {
  return ARCHITECTURES.some((a) => a.components.some((c) => c.id === component && c.part !== 'ema'));
}

/** Every component id a family of the table can have. */
export const KNOWN_COMPONENT_IDS: readonly string[] = [...new Set(ARCHITECTURES.flatMap((a) => a.components.map((c) => c.id)))];
