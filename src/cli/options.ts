/** Options several commands share, described once (their --help says the same everywhere). */
import { DEFAULT_FACTOR_BUDGET_MIB, DEFAULT_MEMORY_BUDGET_MIB, KNOWN_COMPONENTS } from '../compute';
import type { OptionSpec } from './args';

export const MAX_WORKERS = 64;
export const MEMORY_MIB = { min: 16, max: 1 << 20 } as const;

export const JSON_OPTION: OptionSpec = { type: 'boolean', short: 'j', help: 'print JSON to standard output instead of text' };
export const QUIET_OPTION: OptionSpec = { type: 'boolean', short: 'q', help: 'print nothing but errors' };
export const TIME_EMBED_OPTION: OptionSpec = { type: 'string', arg: 'BASE|IN00', help: "where the UNet's time embedding counts in merge blocks (default BASE)" };
/** FLUX block names: ComfyUI's model-merge nodes (double_blocks.0...) or SuperMerger's (D00...). */
export const BLOCK_NAMINGS = ['comfyui', 'supermerger'] as const;
export const BLOCK_NAMES_OPTION: OptionSpec = { type: 'string', arg: BLOCK_NAMINGS.join('|'), help: "FLUX merge blocks by ComfyUI's names (double_blocks.0..., default) or SuperMerger's (D00...)" };
export const EXTRACT_WEIGHTS_OPTION: OptionSpec = {
  type: 'boolean',
  help: 'also read .ckpt/.pt files that pickle Lightning callbacks, numpy scalars or argparse.Namespace\nbeside the weights (kept as inert data and left out, never run)',
};

export const CACHE_OPTIONS: Record<string, OptionSpec> = {
  cache: { type: 'string', arg: 'file', help: 'hash cache file (default: ~/.cache/modeldiff/hashes.json)' },
  'no-cache': { type: 'boolean', help: 'use no hash cache' },
};

/** What every command that compares models accepts (compare, and report/charts given models). */
export const COMPARE_OPTIONS: Record<string, OptionSpec> = {
  components: { type: 'string', short: 'c', arg: 'list', help: `compare only these components, comma-separated (${KNOWN_COMPONENTS.join(' ')})` },
  'no-ema': { type: 'boolean', help: 'leave the EMA copy out' },
  workers: { type: 'string', short: 'w', arg: 'N', help: `worker threads, 0 to ${MAX_WORKERS} (default: one per core, at most 4; 0: in the main thread)` },
  memory: { type: 'string', arg: 'MiB', help: `memory budget for the engine's buffers, ${MEMORY_MIB.min} to ${MEMORY_MIB.max} (default ${DEFAULT_MEMORY_BUDGET_MIB}; LoRA factor buffers ${DEFAULT_FACTOR_BUDGET_MIB})` },
  hashes: { type: 'boolean', help: 'also SHA-256/AutoV2, legacy, AutoV3 and per-component hashes, computed during the run\nand cached by (path, size, mtime)' },
  ...CACHE_OPTIONS,
  'extract-weights': EXTRACT_WEIGHTS_OPTION,
  base: {
    type: 'string',
    arg: 'checkpoint',
    help: 'for inputs with LoRAs: the checkpoint they were trained on. LoRAs are compared by the change\nthey make to its weights (without --base, on their family\'s standard keys); checkpoints among\nthe inputs are measured as (checkpoint - base)',
  },
};
