import type { TensorRef } from '../model/checkpoint';

/** Base-model families whose LoRAs are mapped onto single-file keys. */
export type LoraFamily = 'sd1' | 'sd2' | 'sdxl-base' | 'sdxl-refiner' | 'flux' | 'sd3';

/** How a module's delta is built from its factors. */
export type DeltaKind = 'lora' | 'loha' | 'lokr' | 'full';

/** Stored-name conventions of a LoRA file's modules (a file may mix them; the most common one is reported). */
export type LoraNaming = 'kohya' | 'peft' | 'diffusers' | 'lycoris-simpletuner' | 'onetrainer' | 'single-file';

/**
 * The tensors of one network module, by role:
 * - lora: `down` [r, in(, kh, kw)], `up` [out, r(, 1, 1)], optional `mid` [r, r, kh, kw] (Tucker LoCon);
 * - loha: `w1a` [out, r], `w1b` [r, in*k], `w2a`, `w2b`; with Tucker `t1`, `t2` [r, r, kh, kw] and then `w1a`,
 *   `w2a` are [r, out] and `w1b`, `w2b` [r, in];
 * - lokr: `w1` [a, b] or `w1a` [a, r1] + `w1b` [r1, b]; `w2` [c, d(, kh, kw)] or `w2a` [c, r2] + `w2b` [r2, d*k],
 *   with Tucker `t2` [r2, r2, kh, kw], `w2a` [r2, c] and `w2b` [r2, d];
 * - full: `diff` (the delta itself).
 */
export type FactorRole = 'down' | 'up' | 'mid' | 'w1a' | 'w1b' | 'w2a' | 'w2b' | 't1' | 't2' | 'w1' | 'w2' | 'diff';

export interface LoraModule {
  /** Module name as stored (the tensor names minus their role suffix). */
  name: string;
  kind: DeltaKind;
  factors: Partial<Record<FactorRole, TensorRef>>;
  /** The stored alpha, when the file has one. */
  alpha: number | null;
  /** The rank alpha is divided by (kohya: rows of down; LoHa: rows of w1b; LoKr: rows of the factored w1b/w2b). */
  rank: number | null;
  /** alpha / rank, or 1 when the file stores no alpha (or LoKr has no factored side): dW = scale * (product). */
  scale: number;
  /** Shape of the delta this module makes, as the layer's weight is shaped: [out, in] or [out, in, kh, kw]. */
  shape: number[];
  /** DoRA magnitude vector: the delta then depends on the base weight (see deltas.ts). */
  doraScale?: TensorRef;
  /** The delta is of the layer's bias (LyCORIS full `diff_b`), not of its weight. */
  bias?: true;
}

/**
 * One contribution of a module to one base weight. Usually the whole module maps onto the whole weight; a
 * diffusers q/k/v projection maps onto a row block of a fused qkv weight (FLUX, SD3, OpenCLIP in_proj), and the
 * diffusers AdaLayerNormContinuous maps with its two halves swapped (two contributions).
 */
export interface LoraContribution {
  /** Index into LoraModel.modules. */
  module: number;
  /** Rows [start, end) of the module's delta that this contribution uses (all rows when absent). */
  srcRows?: [number, number];
  /** Rows [start, end) of the target weight they land on (all rows when absent; same length as srcRows). */
  rows?: [number, number];
}

export interface LoraTarget {
  /** The weight's key in the base model's single-file key space (canonical names, as the engine compares them). */
  key: string;
  /** Component of that key (unet, transformer, te, te0, te1, clip_l, clip_g, t5xxl). */
  component: string;
  /** Full shape of the target weight: from the base when there is one, else inferred from the module(s). */
  shape: number[];
  contributions: LoraContribution[];
  /** The base weight, when a DoRA module needs it to make its change. */
  base?: TensorRef;
}

/** A problem with one key of one file, reported and left out; the rest of the file is still used. */
export interface LoraNote {
  file: string;
  /** The stored tensor or module name concerned, when there is one. */
  key?: string;
  message: string;
}

export interface LoraModel {
  file: string;
  family: LoraFamily;
  /** How the family was decided (metadata, key names, the base). */
  familyFrom: string;
  naming: LoraNaming;
  modules: LoraModule[];
  /** One entry per distinct base weight the file changes, sorted by key. */
  targets: LoraTarget[];
  metadata: Record<string, string>;
  /** Modules that could not be used (unknown name, not in the base, unsupported type) and other remarks. */
  notes: LoraNote[];
}
