// LoRAs as models: what the engine, the CLI and the panel call.
//
//   const space = base ? baseKeySpace(await openCheckpoint(base)) : undefined;
//   const loras = files.map(async (f) => readLora(await openCheckpoint(f), { space }));   // LORA_* errors per file
//   forEachKeyPairs(loras, (kp) => totals.add(kp, kp.component));                       // all pairs, key by key
//   attributeLoras(await openCheckpoint(ckpt), space, loras);                            // strengths in ckpt - base
import type { Checkpoint } from '../model/checkpoint';
import { splitTensorName } from './names';

export { readLora, flat2, type ReadLoraOptions } from './parse';
export { baseKeySpace, standardKeySpace, type KeySpace } from './keySpace';
export { familyFromMetadata } from './family';
export { targetDelta, type KeyDelta, type LowRank } from './deltas';
export { inner, pairStats, selfStats, sameToRounding, squaredDistanceDirect, TRUST, type PairStats, type SelfStats } from './inner';
export { differenceRows, innerWithRows, residualDirect, type DenseRows } from './dense';
export { forEachKeyPairs, type KeyPairs, type PairwiseOptions } from './pairwise';
export { PairTotals, type GroupTotals } from './totals';
export { attributeLoras, type Attribution, type AttributeOptions, type FitSummary } from './attribute';
export { leastSquares, nonNegativeLeastSquares } from './nnls';
export { FAMILY_LABEL } from './targets';
export { FileHandles } from './io';
export type * from './types';

/** A file is read as a LoRA when most of its tensors are named as LoRA / LyCORIS factors. */
export function looksLikeLora(checkpoint: Pick<Checkpoint, 'tensors'>): boolean {
  let hits = 0;
  for (const t of checkpoint.tensors) if (splitTensorName(t.name)) hits++;
  return hits > 0 && hits * 2 >= checkpoint.tensors.length;
}
