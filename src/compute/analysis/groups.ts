/**
 * Key -> group label: the ways a distance between two models is broken down.
 *
 * Every scheme works on CANONICAL keys (as in result.json `layers.keys`) and their component, and returns null for a
 * key it does not cover (the VAE scheme ignores UNet keys, and so on).
 *
 * - `block`: the merge-block slots merge tools use (SuperMerger, sd-mecha, meh, ComfyUI's model-merge nodes).
 *     SD 1.x/2.x (and the SDXL refiner, which also has 12 input/output blocks): BASE, IN00-IN11, M00, OUT00-OUT11;
 *     SDXL base: BASE, IN00-IN08, M00, OUT00-OUT08.
 *     `input_blocks.N.*` -> IN{N}, `middle_block.*` -> M00, `output_blocks.N.*` -> OUT{N}, `out.*` (final norm and
 *     conv) -> the last OUT block (OUT11, or OUT08 for SDXL base), as every tool does.
 *     `time_embed.*` and `label_emb.*` go to BASE (sd-mecha) or IN00 (SuperMerger since 2025-11, meh): the
 *     `timeEmbed` option, default BASE (see DEFAULT_TIME_EMBED). Other components are left out unless
 *     `otherComponents` is set, in which case each gets one slot named after it: TE (SD1/SD2 text encoder),
 *     TE0 (SDXL CLIP-L), TE1 (SDXL OpenCLIP bigG), VAE. A UNet key outside these patterns is UNET_OTHER.
 *     FLUX.1 (and Chroma, FLUX.2), ComfyUI's ModelMergeFlux1 names: img_in, time_in, guidance_in, vector_in, txt_in,
 *     double_blocks.0-18, single_blocks.0-37, final_layer (Chroma adds distilled_guidance_layer, FLUX.2
 *     double_stream_modulation_img/_txt and single_stream_modulation); with `blockNames: 'supermerger'` SuperMerger's
 *     BLOCKIDFLUX: IN (the embedders), D00-D18, S00-S37, OUT (final_layer). SD3 (ModelMergeSD3_2B /
 *     ModelMergeSD35_Large): pos_embed, x_embedder, context_embedder, y_embedder, t_embedder, joint_blocks.0..depth-1,
 *     final_layer. Text encoders and VAE with `otherComponents`: CLIP_L, CLIP_G, T5XXL, VAE (SuperMerger: CLIP, T5).
 *     A transformer key outside these patterns is TRANSFORMER_OTHER.
 * - `type`: the UNet layer types of the notebook's notation. First match wins, on the key after
 *   `model.diffusion_model.`:
 *     attn1      a `.attn1.` module: self-attention (to_q, to_k, to_v, to_out) of a transformer block
 *     attn2      a `.attn2.` module: cross-attention to the text embedding
 *     ff         a `.ff.` module: the transformer block's feed-forward (GEGLU `ff.net.0.proj` and `ff.net.2`)
 *     norm       normalisation layers: `norm`, `norm1`, `norm2`, `norm3` modules (the SpatialTransformer's GroupNorm
 *                and the blocks' LayerNorms), the ResBlocks' GroupNorms `in_layers.0` and `out_layers.0`, and the
 *                final GroupNorm `out.0`
 *     proj       the SpatialTransformer projections `proj_in` and `proj_out`
 *     emb_layers the timestep-embedding path: each ResBlock's `emb_layers`, plus `time_embed` and `label_emb`
 *     others     everything else: ResBlock convolutions (`in_layers.2`, `out_layers.3`), `skip_connection`,
 *                down/upsampling convs (`op`, `conv`), the input conv `input_blocks.0.0` and the output conv `out.2`
 *   The notebook's findings table has three columns, attn1, attn2 and "others" = ff + norm + proj + emb_layers
 *   (+ the rest): its "others" is the quadrature sum of every group here but attn1 and attn2.
 *   Only UNet keys are typed.
 * - `vae`: encoder, decoder, quant_conv, post_quant_conv (and `other` for anything else under first_stage_model.).
 * - `te`: per text encoder (te, te0, te1, clip_l, clip_g, t5xxl), labels `<component>.embeddings` (token and position
 *   embeddings, the position_ids buffer, T5's `shared`), `<component>.layerNN` (transformer layer NN: HF
 *   `encoder.layers.NN`, OpenCLIP `transformer.resblocks.NN`, T5 `encoder.block.NN`), `<component>.final_norm`
 *   (`final_layer_norm` / `ln_final`),
 *   `<component>.projection` (`text_projection`), `<component>.other` (e.g. OpenCLIP `logit_scale`).
 */
import { ModeldiffError } from '../../shared/errors';
import type { BlockNaming, SchemeName, TimeEmbedPlacement, UnetLayout } from '../../shared/analysis';
import type { Arch } from '../../shared/result';
import { architecture, componentPrefix, DIFFUSION_PREFIX, VAE_PREFIX } from '../keys/architectures';

export type { BlockNaming, SchemeName, TimeEmbedPlacement, UnetLayout };
export const SCHEME_NAMES: readonly SchemeName[] = ['block', 'type', 'vae', 'te'];

export const DEFAULT_TIME_EMBED: TimeEmbedPlacement = 'BASE';

export interface SchemeOptions {
  timeEmbed?: TimeEmbedPlacement;
  layout?: UnetLayout;
  /** block scheme only: give TE/TE0/TE1/VAE a slot each instead of leaving them out */
  otherComponents?: boolean;
  /** block scheme of the transformer layouts: ComfyUI's names (default) or SuperMerger's */
  blockNames?: BlockNaming;
}

export interface GroupScheme {
  name: SchemeName;
  /** what the labels mean and which conventions are in force, for people */
  description: string;
  /** every label this scheme can produce, in display order */
  labels: string[];
  groupOf(key: string, component: string): string | null;
}

const UNET = DIFFUSION_PREFIX;
const VAE = VAE_PREFIX;
export const TE_COMPONENTS = ['te', 'te0', 'te1', 'clip_l', 'clip_g', 't5xxl'] as const;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The UNet layout of an architecture (its merge-block scheme in the architecture table; 12 blocks by default). */
export function unetLayoutOf(arch: Arch): UnetLayout {
  return architecture(arch)?.mergeBlocks ?? 'sd';
}

/**
 * The layout for a pair: a transformer layout when a side has one (the diffusion models of two different layouts are
 * never compared, so the other side's keys have no value); else 9 blocks (SDXL) when one side has them and neither
 * side is a 12-block architecture.
 */
export function pairLayout(archA: Arch, archB: Arch): UnetLayout {
  const blocks = [architecture(archA)?.mergeBlocks, architecture(archB)?.mergeBlocks];
  const dit = blocks.find((b) => b === 'flux' || b === 'sd3');
  if (dit) return dit;
  return blocks.includes('sdxl') && !blocks.includes('sd') ? 'sdxl' : 'sd';
}

/** Blocks the transformer labels go up to (FLUX.1 has 19 double and 38 single blocks, FLUX.2 48 single, SD 3.5 Large 38 joint). */
const MAX_BLOCKS = 64;
/** FLUX-style embedders and global layers, in ComfyUI's order (then Chroma's and FLUX.2's). */
export const FLUX_EMBEDDERS = ['img_in', 'time_in', 'guidance_in', 'vector_in', 'txt_in', 'distilled_guidance_layer', 'double_stream_modulation_img', 'double_stream_modulation_txt', 'single_stream_modulation'] as const;
export const SD3_EMBEDDERS = ['pos_embed', 'x_embedder', 'context_embedder', 'y_embedder', 't_embedder'] as const;
const isDit = (layout: UnetLayout) => layout === 'flux' || layout === 'sd3';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Block slots of a transformer layout, in the merge tools' order. */
function transformerLabels(layout: 'flux' | 'sd3', naming: BlockNaming): string[] {
  if (layout === 'sd3') return [...SD3_EMBEDDERS, ...range(MAX_BLOCKS).map((i) => `joint_blocks.${i}`), 'final_layer'];
  if (naming === 'supermerger') return ['IN', ...range(MAX_BLOCKS).map((i) => `D${pad2(i)}`), ...range(MAX_BLOCKS).map((i) => `S${pad2(i)}`), 'OUT'];
  return [...FLUX_EMBEDDERS, ...range(MAX_BLOCKS).map((i) => `double_blocks.${i}`), ...range(MAX_BLOCKS).map((i) => `single_blocks.${i}`), 'final_layer'];
}

/** Block slot of a transformer key (the part after `model.diffusion_model.`). */
export function transformerBlockOf(rest: string, layout: 'flux' | 'sd3', naming: BlockNaming = 'comfyui'): string {
  const m = /^(double_blocks|single_blocks|joint_blocks)\.(\d+)\./.exec(rest);
  const supermerger = naming === 'supermerger' && layout === 'flux';
  if (m) {
    if (m[1] === 'joint_blocks' ? layout !== 'sd3' : layout !== 'flux') return 'TRANSFORMER_OTHER';
    return supermerger ? `${m[1] === 'double_blocks' ? 'D' : 'S'}${pad2(Number(m[2]))}` : `${m[1]}.${Number(m[2])}`;
  }
  const head = rest.split('.', 1)[0]!;
  if (head === 'final_layer') return supermerger ? 'OUT' : 'final_layer';
  const embedders: readonly string[] = layout === 'flux' ? FLUX_EMBEDDERS : SD3_EMBEDDERS;
  if (embedders.includes(head)) return supermerger ? 'IN' : head;
  return 'TRANSFORMER_OTHER';
}

/** The slot a text encoder or VAE gets in the block scheme with `otherComponents`. */
export function componentSlot(component: string, naming: BlockNaming = 'comfyui'): string | null {
  if (component === 'vae' || component === 'te' || component === 'te0' || component === 'te1' || component === 'clip_g') return component.toUpperCase();
  if (component === 'clip_l') return naming === 'supermerger' ? 'CLIP' : 'CLIP_L';
  if (component === 't5xxl') return naming === 'supermerger' ? 'T5' : 'T5XXL';
  return null;
}

/** Every slot componentSlot can give: the block scheme's non-diffusion-model groups. */
export const COMPONENT_SLOTS: ReadonlySet<string> = new Set(['TE', 'TE0', 'TE1', 'CLIP_L', 'CLIP_G', 'T5XXL', 'CLIP', 'T5', 'VAE']);

/** Merge-block slots of a layout, in the merge tools' order (BASE first for the UNets, the embedders for the transformers). */
export function blockLabels(layout: UnetLayout, naming: BlockNaming = 'comfyui'): string[] {
  if (layout === 'flux' || layout === 'sd3') return transformerLabels(layout, naming);
  const n = layout === 'sdxl' ? 9 : 12;
  const out = ['BASE'];
  for (let i = 0; i < n; i++) out.push(`IN${pad2(i)}`);
  out.push('M00');
  for (let i = 0; i < n; i++) out.push(`OUT${pad2(i)}`);
  return out;
}

/** Block slot of a UNet key (the part after `model.diffusion_model.`). */
export function unetBlockOf(rest: string, layout: UnetLayout, timeEmbed: TimeEmbedPlacement): string {
  let m = /^input_blocks\.(\d+)\./.exec(rest);
  if (m) return `IN${pad2(Number(m[1]))}`;
  if (rest.startsWith('middle_block.')) return 'M00';
  m = /^output_blocks\.(\d+)\./.exec(rest);
  if (m) return `OUT${pad2(Number(m[1]))}`;
  if (rest.startsWith('out.')) return layout === 'sdxl' ? 'OUT08' : 'OUT11';
  if (rest.startsWith('time_embed.') || rest.startsWith('label_emb.')) return timeEmbed;
  return 'UNET_OTHER';
}

export const LAYER_TYPES = ['attn1', 'attn2', 'ff', 'norm', 'proj', 'emb_layers', 'others'] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

/** Layer type of a UNet key (the part after `model.diffusion_model.`); see the file comment. */
export function unetTypeOf(rest: string): LayerType {
  const r = '.' + rest;
  if (r.includes('.attn1.')) return 'attn1';
  if (r.includes('.attn2.')) return 'attn2';
  if (r.includes('.ff.')) return 'ff';
  if (/\.norm\d*\./.test(r) || /\.(in_layers|out_layers)\.0\./.test(r) || rest.startsWith('out.0.')) return 'norm';
  if (/\.(proj_in|proj_out)\./.test(r)) return 'proj';
  if (r.includes('.emb_layers.') || rest.startsWith('time_embed.') || rest.startsWith('label_emb.')) return 'emb_layers';
  return 'others';
}

export const VAE_PARTS = ['encoder', 'decoder', 'quant_conv', 'post_quant_conv', 'other'] as const;

/** VAE part of a VAE key (the part after `first_stage_model.`). */
export function vaePartOf(rest: string): (typeof VAE_PARTS)[number] {
  if (rest.startsWith('encoder.')) return 'encoder';
  if (rest.startsWith('decoder.')) return 'decoder';
  if (rest.startsWith('quant_conv.')) return 'quant_conv';
  if (rest.startsWith('post_quant_conv.')) return 'post_quant_conv';
  return 'other';
}

/**
 * Text-encoder part of a key of component te/te0/te1 (the part after the component prefix):
 * 'embeddings', 'layerNN', 'final_norm', 'projection' or 'other'. Works for HF CLIP names
 * (`transformer.text_model.*`) and OpenCLIP names (`model.*`).
 */
export function tePartOf(rest: string): string {
  let r = rest;
  if (r.startsWith('model.')) r = r.slice('model.'.length);
  if (r.startsWith('transformer.text_model.') || r.startsWith('transformer.text_projection')) r = r.slice('transformer.'.length);
  if (r.startsWith('text_model.')) r = r.slice('text_model.'.length);
  // T5 (HF T5EncoderModel names under transformer.)
  if (r.startsWith('transformer.shared.') || r.startsWith('transformer.encoder.')) r = r.slice('transformer.'.length);
  if (r.startsWith('shared.')) return 'embeddings';
  const t5 = /^encoder\.block\.(\d+)\./.exec(r);
  if (t5) return `layer${pad2(Number(t5[1]))}`;
  if (r.startsWith('encoder.final_layer_norm.')) return 'final_norm';
  if (r.startsWith('embeddings.') || r.startsWith('token_embedding.') || r === 'positional_embedding' || r.startsWith('positional_embedding.')) return 'embeddings';
  const m = /^(?:encoder\.layers|transformer\.resblocks)\.(\d+)\./.exec(r);
  if (m) return `layer${pad2(Number(m[1]))}`;
  if (r.startsWith('final_layer_norm.') || r.startsWith('ln_final.')) return 'final_norm';
  if (r === 'text_projection' || r.startsWith('text_projection.')) return 'projection';
  return 'other';
}

/** Sort key of a TE label: component order, then embeddings, layers, final norm, projection, other. */
function teOrder(label: string): [number, number] {
  const [c, part] = label.split('.', 2) as [string, string];
  const ci = (TE_COMPONENTS as readonly string[]).indexOf(c);
  let pi: number;
  if (part === 'embeddings') pi = 0;
  else if (part.startsWith('layer')) pi = 1 + Number(part.slice(5));
  else if (part === 'final_norm') pi = 1000;
  else if (part === 'projection') pi = 1001;
  else pi = 1002;
  return [ci < 0 ? 99 : ci, pi];
}

export function compareTeLabels(a: string, b: string): number {
  const x = teOrder(a);
  const y = teOrder(b);
  return x[0] - y[0] || x[1] - y[1] || (a < b ? -1 : a > b ? 1 : 0);
}

/** Builds a scheme. */
export function makeScheme(name: SchemeName, opts: SchemeOptions = {}): GroupScheme {
  const layout = opts.layout ?? 'sd';
  const timeEmbed = opts.timeEmbed ?? DEFAULT_TIME_EMBED;
  switch (name) {
    case 'block': {
      const other = opts.otherComponents ?? false;
      const naming = opts.blockNames ?? 'comfyui';
      if (isDit(layout)) {
        const dit = layout as 'flux' | 'sd3';
        const slots = dit === 'flux' && naming === 'supermerger' ? ['CLIP', 'T5', 'VAE'] : ['CLIP_L', 'CLIP_G', 'T5XXL', 'VAE'];
        return {
          name,
          description:
            (dit === 'flux'
              ? naming === 'supermerger'
                ? 'FLUX transformer blocks, SuperMerger names (IN = the embedders, D00-D18, S00-S37, OUT = final_layer for FLUX.1)'
                : 'FLUX transformer blocks, ComfyUI names (img_in, time_in, guidance_in, vector_in, txt_in, double_blocks.0-18, single_blocks.0-37, final_layer for FLUX.1)'
              : 'MMDiT blocks, ComfyUI names (pos_embed, x_embedder, context_embedder, y_embedder, t_embedder, joint_blocks.0..depth-1, final_layer)') +
            (other ? `; text encoders and VAE as ${slots.join('/')}` : ''),
          labels: [...blockLabels(dit, naming), 'TRANSFORMER_OTHER', ...(other ? slots : [])],
          groupOf(key, component) {
            if (component === 'transformer' && key.startsWith(UNET)) return transformerBlockOf(key.slice(UNET.length), dit, naming);
            return other ? componentSlot(component, naming) : null;
          },
        };
      }
      const labels = [...blockLabels(layout), 'UNET_OTHER', ...(other ? ['TE', 'TE0', 'TE1', 'VAE'] : [])];
      const tool = timeEmbed === 'BASE' ? 'sd-mecha' : 'SuperMerger/meh';
      return {
        name,
        description:
          `UNet merge blocks, ${layout === 'sdxl' ? 'SDXL base (BASE, IN00-IN08, M00, OUT00-OUT08)' : 'SD 1.x/2.x (BASE, IN00-IN11, M00, OUT00-OUT11)'}; ` +
          `time_embed/label_emb in ${timeEmbed} (${tool} convention); out.* in ${layout === 'sdxl' ? 'OUT08' : 'OUT11'}` +
          (other ? '; text encoders and VAE as TE/TE0/TE1/VAE' : ''),
        labels,
        groupOf(key, component) {
          if (component === 'unet' && key.startsWith(UNET)) return unetBlockOf(key.slice(UNET.length), layout, timeEmbed);
          if (!other) return null;
          if (component === 'vae' || component === 'te' || component === 'te0' || component === 'te1') return component.toUpperCase();
          return null;
        },
      };
    }
    case 'type':
      return {
        name,
        description: 'UNet layer types: attn1 (self-attention), attn2 (cross-attention), ff, norm, proj (proj_in/proj_out), emb_layers (incl. time_embed/label_emb), others',
        labels: [...LAYER_TYPES],
        groupOf(key, component) {
          return component === 'unet' && key.startsWith(UNET) ? unetTypeOf(key.slice(UNET.length)) : null;
        },
      };
    case 'vae':
      return {
        name,
        description: 'VAE parts: encoder, decoder, quant_conv, post_quant_conv',
        labels: [...VAE_PARTS],
        groupOf(key, component) {
          return component === 'vae' && key.startsWith(VAE) ? vaePartOf(key.slice(VAE.length)) : null;
        },
      };
    case 'te': {
      const labels: string[] = [];
      return {
        name,
        description: 'text-encoder parts per encoder: embeddings, transformer layers, final norm, projection',
        labels,
        groupOf(key, component) {
          const prefix = (TE_COMPONENTS as readonly string[]).includes(component) ? componentPrefix(component) : undefined;
          if (prefix === undefined || !key.startsWith(prefix)) return null;
          return `${component}.${tePartOf(key.slice(prefix.length))}`;
        },
      };
    }
  }
}

/** Orders labels found in data by the scheme's display order (TE labels are open-ended, so sorted by rule). */
export function orderLabels(scheme: GroupScheme, found: Iterable<string>): string[] {
  const set = new Set(found);
  if (scheme.name === 'te') return [...set].sort(compareTeLabels);
  const known = scheme.labels.filter((l) => set.has(l));
  const rest = [...set].filter((l) => !scheme.labels.includes(l)).sort();
  return [...known, ...rest];
}

export function isSchemeName(s: string): s is SchemeName {
  return (SCHEME_NAMES as readonly string[]).includes(s);
}

export function parseTimeEmbed(s: string | undefined): TimeEmbedPlacement | undefined {
  if (s === undefined) return undefined;
  const u = s.toUpperCase();
  if (u === 'BASE' || u === 'IN00') return u;
  throw new ModeldiffError('USAGE', `the time_embed placement is BASE or IN00, not "${s}"`);
}
