/**
 * The key space LoRA targets are expressed in: a base checkpoint's own canonical keys (validated: a target the base
 * lacks, or of another shape, is reported), or, without a base, the standard single-file keys of a family (every
 * LoRA of the family then lands on the same names, so two LoRAs compare without a base).
 */
import { basename } from 'node:path';
import type { Checkpoint, TensorRef } from '../model/checkpoint';
import type { Arch } from '../../shared/result';
import { ModeldiffError } from '../../shared/errors';
import { loadModel } from '../model/loadModel';
import { FAMILY_LABEL, UNET_PREFIX } from './targets';
import type { LoraFamily } from './types';

export interface KeySpace {
  family: LoraFamily;
  /** For people: "base sd_xl_base_1.0.safetensors (SDXL)" or "standard SDXL keys (no base)". */
  description: string;
  /** The base checkpoint, when there is one, and the architecture recognised from its keys. */
  base?: { path: string; tensors: ReadonlyMap<string, TensorRef>; arch: Arch };
  /** The base's key, shape and tensor for a standard key; undefined when a base is given and lacks it. */
  lookup(standardKey: string): { key: string; shape?: number[]; ref?: TensorRef } | undefined;
}

/** Key space of a family's standard names, for LoRAs compared without a base. */
export function standardKeySpace(family: LoraFamily): KeySpace {
  return { family, description: `standard ${FAMILY_LABEL[family]} keys (no base model)`, lookup: (key) => ({ key }) };
}

/** Architectures whose LoRA module names map by the SD tables (FLUX.1 and SD3 are found by their marks above). */
const SD_ARCHES: ReadonlySet<string> = new Set(['sd1', 'sd2', 'sdxl-base', 'sdxl-refiner']);

const FLUX_MARK = 'double_blocks.0.img_attn.qkv.weight';
const SD3_MARK = 'joint_blocks.0.x_block.attn.qkv.weight';

/**
 * Key space of a base checkpoint: its canonical keys (as the engine compares them) and its family. FLUX and SD3
 * transformers stored with bare keys (the BFL release file) are matched without the `model.diffusion_model.` prefix.
 */
export function baseKeySpace(checkpoint: Checkpoint): KeySpace {
  const loaded = loadModel(checkpoint, 0);
  const tensors = new Map<string, TensorRef>();
  for (const [key, { ref }] of loaded.tensors) tensors.set(key, ref);
  const has = (k: string) => tensors.has(k) || tensors.has(UNET_PREFIX + k);
  let family: LoraFamily;
  if (has(FLUX_MARK)) family = 'flux';
  else if (has(SD3_MARK)) family = 'sd3';
  else if (SD_ARCHES.has(loaded.info.arch)) family = loaded.info.arch as LoraFamily;
  else {
    throw new ModeldiffError('LORA_INVALID', 'the base model is neither SD 1.x/2.x, SDXL, FLUX.1 nor SD3, so LoRA module names cannot be mapped onto it', {
      file: checkpoint.path,
    });
  }
  const bare = (family === 'flux' || family === 'sd3') && !tensors.has(UNET_PREFIX + (family === 'flux' ? FLUX_MARK : SD3_MARK));
  return {
    family,
    description: `base ${basename(checkpoint.path)} (${FAMILY_LABEL[family]}${bare ? ', diffusion model only, bare keys' : ''})`,
    base: { path: checkpoint.path, tensors, arch: loaded.info.arch },
    lookup(standardKey) {
      const key = bare && standardKey.startsWith(UNET_PREFIX) ? standardKey.slice(UNET_PREFIX.length) : standardKey;
      const ref = tensors.get(key);
      return ref ? { key, shape: ref.shape, ref } : undefined;
    },
  };
}
