import { ModeldiffError } from '../../shared/errors';

/**
 * Limits that keep one hostile or broken file from costing the run (README, "Limits"). Real checkpoints are far
 * below each: an SDXL all-in-one has about 2,500 tensors, FLUX.1 about 1,800, with names under 200 characters.
 * A file beyond a limit is refused with a reason naming it, and the others are compared.
 */

/** Tensors in one model (a file, or a diffusers folder): 400k tiny tensors took 1.9 GB and a multi-GB layers.bin. */
export const MAX_TENSORS_PER_MODEL = 100_000;

/** Characters in a tensor name: a 50 MB name once ended a run with "Invalid string length". */
export const MAX_TENSOR_NAME_LENGTH = 1024;

/**
 * Bytes the tensors of a PyTorch file may claim, beyond the file's own size: views and tied weights share bytes, so a
 * model's tensors may claim more than its file holds, but a zero-stride view of 2^51 elements over one stored number
 * must not make the engine iterate 2^51 elements (README, "Limits").
 */
export const CLAIMED_BYTES_FACTOR = 4;
export const CLAIMED_BYTES_SLACK = 64 * 1024 * 1024;

/**
 * Characters of metadata (keys and values) a model keeps in result.json: real metadata is a few KB (a training
 * recipe, a thumbnail: a few hundred KB); a header may hold 100 MB of it, and a result holds every model's.
 */
export const MAX_METADATA_CHARS = 1024 * 1024;

/** The metadata within MAX_METADATA_CHARS, the largest values left out first, and a note naming what was left out. */
export function boundedMetadata(metadata: Record<string, string>): { metadata: Record<string, string>; note?: string } {
  const entries = Object.entries(metadata);
  let total = entries.reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (total <= MAX_METADATA_CHARS) return { metadata };
  const dropped = new Set<string>();
  for (const [k, v] of entries.slice().sort((a, b) => b[0].length + b[1].length - (a[0].length + a[1].length))) {
    if (total <= MAX_METADATA_CHARS) break;
    dropped.add(k);
    total -= k.length + v.length;
  }
  const kept: Record<string, string> = Object.create(null);
  for (const [k, v] of entries) if (!dropped.has(k)) kept[k] = v;
  const names = [...dropped].map((k) => JSON.stringify(k.length > 60 ? `${k.slice(0, 60)}…` : k));
  return {
    metadata: kept,
    note: `${dropped.size} metadata ${dropped.size === 1 ? 'entry was' : 'entries were'} left out of the result (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}): a model keeps at most ${MAX_METADATA_CHARS} characters of metadata`,
  };
}

export function checkTensorCount(count: number, path?: string): void {
  if (count > MAX_TENSORS_PER_MODEL) throw tooManyTensors(path, count);
}

/** The refusal of a model with too many tensors; `count` when it is known (a parser may stop counting at the limit). */
export function tooManyTensors(path?: string, count?: number): ModeldiffError {
  const held = count === undefined ? `more than ${MAX_TENSORS_PER_MODEL} tensors` : `${count} tensors, more than ${MAX_TENSORS_PER_MODEL}`;
  return new ModeldiffError('MODEL_LIMIT', `holds ${held}, the most one model may have: it is refused (see "Limits" in the README)`, {
    file: path,
    details: { ...(count === undefined ? {} : { tensors: count }), limit: MAX_TENSORS_PER_MODEL },
  });
}

export function checkTensorName(name: string, path?: string): void {
  if (name.length > MAX_TENSOR_NAME_LENGTH) {
    throw new ModeldiffError(
      'MODEL_LIMIT',
      `has a tensor name of ${name.length} characters (it starts ${JSON.stringify(name.slice(0, 40))}), more than the ${MAX_TENSOR_NAME_LENGTH} allowed: it is refused (see "Limits" in the README)`,
      { file: path, details: { nameLength: name.length, limit: MAX_TENSOR_NAME_LENGTH } },
    );
  }
}

/** The tensors of a file claim at most CLAIMED_BYTES_FACTOR times its size (plus a little for tiny files). */
export function checkClaimedBytes(claimed: number, fileSize: number, path: string): void {
  const limit = CLAIMED_BYTES_FACTOR * fileSize + CLAIMED_BYTES_SLACK;
  if (claimed > limit) {
    throw new ModeldiffError(
      'MODEL_LIMIT',
      `its tensors claim ${claimed} bytes but the file holds ${fileSize}: views repeat the same stored bytes more than this tool reads (at most ${CLAIMED_BYTES_FACTOR} times the file size, plus ${CLAIMED_BYTES_SLACK / 1048576} MiB), so it is refused (see "Limits" in the README)`,
      { file: path, details: { claimedBytes: claimed, fileSize, limit } },
    );
  }
}
