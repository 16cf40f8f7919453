/**
 * The architectures modeldiff recognises and their components, as data: one row per family. Everything that knows
 * an architecture reads it from here: component assignment (keys/components.ts), detection and the one-line
 * description (keys/arch.ts), the health checks (expected components, known key trees), the content hashes (component
 * prefixes) and the merge-block breakdowns (block scheme).
 *
 * Adding a family (docs/architecture.md, "A new architecture"): add its id to `Arch` in src/shared/result.ts and to
 * schema/result.schema.json, then a row to ARCHITECTURES. Rows are tried in order and the first whose `detect` holds
 * wins, so put a more specific family before the one it would otherwise be taken for. A component prefix used by no
 * row yet is picked up by component assignment automatically (most specific prefix first).
 */
import type { UnetLayout } from '../../shared/analysis';
import type { Arch } from '../../shared/result';

export interface ComponentRow {
  /** component id in result.json (`unet`, `te0`...): the same id in two families means "comparable" */
  id: string;
  /** canonical key prefix that makes a key part of this component */
  prefix: string;
  /** for people: "CLIP-L text encoder" */
  name: string;
  /** a checkpoint of this family normally carries it (health: "missing component") */
  expected: boolean;
  /** the key tree this family keeps under `prefix`, when narrower (health: anything else is an unexpected key) */
  tree?: string;
}

/** What detection looks at: canonical keys, their shapes, and the components assigned from prefixes. */
export interface ArchEvidence {
  components: ReadonlySet<string>;
  hasKey(key: string): boolean;
  hasPrefix(prefix: string): boolean;
  shapeOf(key: string): readonly number[] | undefined;
  /** the largest N of keys `${prefix}N...` (-1 when there is none) */
  maxIndex(prefix: string): number;
}

export interface ArchitectureRow {
  id: Exclude<Arch, 'generic'>;
  /** for people: "SDXL base" */
  label: string;
  /** whether the keys are this family's (rows are tried in order; the first that holds wins) */
  detect(e: ArchEvidence): boolean;
  components: readonly ComponentRow[];
  /** merge-block scheme of the UNet breakdown: 12 input/output blocks (`sd`), 9 (`sdxl`), or none */
  mergeBlocks: UnetLayout | null;
}

const UNET: ComponentRow = { id: 'unet', prefix: 'model.diffusion_model.', name: 'UNet', expected: true };
const VAE: ComponentRow = { id: 'vae', prefix: 'first_stage_model.', name: 'VAE', expected: true };
const EMA: ComponentRow = { id: 'ema', prefix: 'model_ema.', name: 'EMA copy', expected: false };
const SD_TE = { id: 'te', prefix: 'cond_stage_model.', expected: true } as const;
const TE0 = { id: 'te0', prefix: 'conditioner.embedders.0.', name: 'CLIP-L text encoder', expected: true } as const;
const TE1 = { id: 'te1', prefix: 'conditioner.embedders.1.', name: 'OpenCLIP bigG text encoder', expected: true } as const;

/** SDXL: either text encoder, or the label embedding of its UNet (a UNet-only file). */
const isSdxl = (e: ArchEvidence) => e.components.has('te0') || e.components.has('te1') || e.hasKey('model.diffusion_model.label_emb.0.0.weight');
/** The refiner has 12 input blocks (0..11) and OpenCLIP bigG only; the base 9 and both encoders. */
const isRefiner = (e: ArchEvidence) => !e.components.has('te0') && (e.components.has('te1') || e.maxIndex('model.diffusion_model.input_blocks.') >= 11);

export const ARCHITECTURES: readonly ArchitectureRow[] = [
  {
    id: 'sdxl-base',
    label: 'SDXL base',
    detect: (e) => isSdxl(e) && !isRefiner(e),
    components: [UNET, { ...TE0, tree: 'conditioner.embedders.0.transformer.' }, { ...TE1, tree: 'conditioner.embedders.1.model.' }, VAE, EMA],
    mergeBlocks: 'sdxl',
  },
  {
    id: 'sdxl-refiner',
    label: 'SDXL refiner',
    detect: (e) => isSdxl(e) && isRefiner(e),
    // the refiner stores OpenCLIP bigG at conditioner.embedders.0.model.; keys/canonical.ts reads it as te1
    components: [UNET, { ...TE1, tree: 'conditioner.embedders.1.model.' }, VAE, EMA],
    mergeBlocks: 'sd',
  },
  {
    id: 'sd2',
    label: 'SD 2.x',
    // with no text encoder: SD2 projects attention with linear layers, SD1 with 1x1 convolutions
    detect: (e) => e.hasPrefix('cond_stage_model.model.') || (!e.hasPrefix('cond_stage_model.transformer.') && e.shapeOf('model.diffusion_model.input_blocks.1.1.proj_in.weight')?.length === 2),
    components: [UNET, { ...SD_TE, name: 'OpenCLIP-H text encoder', tree: 'cond_stage_model.model.' }, VAE, EMA],
    mergeBlocks: 'sd',
  },
  {
    id: 'sd1',
    label: 'SD 1.x',
    // also every other Stable Diffusion key set
    detect: () => true,
    components: [UNET, { ...SD_TE, name: 'CLIP-L text encoder', tree: 'cond_stage_model.transformer.' }, VAE, EMA],
    mergeBlocks: 'sd',
  },
];

/** Shown for a model whose keys are not Stable Diffusion's. */
export const GENERIC_LABEL = 'not Stable Diffusion';

export function architecture(id: Arch): ArchitectureRow | undefined {
  return ARCHITECTURES.find((a) => a.id === id);
}

/**
 * Every component prefix of every family, most specific first, with its component id: what component assignment
 * tries on each canonical key.
 */
export const COMPONENT_PREFIXES: readonly (readonly [prefix: string, component: string])[] = (() => {
  const seen = new Map<string, string>();
  for (const a of ARCHITECTURES) {
    for (const c of a.components) {
      const had = seen.get(c.prefix);
      if (had !== undefined && had !== c.id) throw new Error(`architectures: prefix ${c.prefix} is ${had} and ${c.id}`);
      seen.set(c.prefix, c.id);
    }
  }
  return [...seen].sort((x, y) => y[0].length - x[0].length);
})();

/** The prefix of a component's keys (the same in every family that has it), or undefined for a generic component. */
export function componentPrefix(component: string): string | undefined {
  return COMPONENT_PREFIXES.find(([, c]) => c === component)?.[0];
}

/** Components of the family's model proper (UNet, text encoders, VAE): all but the EMA copy and `other`. */
export function isModelComponent(component: string): boolean {
  return ARCHITECTURES.some((a) => a.components.some((c) => c.id === component && c.expected));
}
