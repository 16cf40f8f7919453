// LoRAs as models: what the engine, the CLI and the panel call.
//
// 1. Read:   space = base ? baseKeySpace(await openCheckpoint(base)) : undefined
//            model = readLora(await openCheckpoint(file), { space })   // LORA_INVALID / LORA_UNSUPPORTED per file
//            model.notes: modules left out (unknown name, not in the base, DoRA without a base...), naming file and key
//            Without a base every LoRA lands on its family's standard keys (model.family): compare within a family.
// 2. Pairs:  forEachKeyPairs(models, (kp) => totals.add(kp, groupOf(kp.key, kp.component)), { onModelError, onProgress, signal })
//            kp has norm2, dot, d2 (exact float64, near-duplicates recomputed directly), same (equal to rounding);
//            PairTotals gives distance (null = not comparable) and sameDelta per group (component, merge block...).
// 3. Against a checkpoint difference: forEachKeyPairs(models, onKey, { against: (key, files) => differenceRows(key,
//            ckptRef, baseRef, files) }) fills kp.against (||D||^2, <dW, D>, ||D - dW||^2) on the LoRAs' keys; keys
//            only the checkpoints change add their ||D||^2 from the checkpoint comparison.
// 4. Attribute: attributeLoras(await openCheckpoint(ckpt), space, models) -> strengths, relResidual, explained.
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
export { attributeFiles, type AttributeFilesOptions, type AttributeFilesResult } from './attributeFiles';
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
