import { basename } from 'node:path';
import type { Checkpoint, StorageFacts, TensorRef } from './checkpoint';
import { canonicalizeKeys } from '../keys/canonical';
import { describeArch } from '../keys/arch';
import type { ComponentStats, ModelInfo } from '../../shared/result';
import { sortComponents } from '../keys/components';
import type { FileRecord } from '../io/regularFile';
import { boundedMetadata, checkTensorCount, checkTensorName } from './limits';
import type { SharedHeaders } from './sharedHeaders';
import { keySet, ModelTensors, refLayout } from './modelTensors';

/** One opened model, keyed by canonical names: what the planner and the result writers need. */
export interface LoadedModel {
  info: ModelInfo;
  /** canonical key -> tensor */
  tensors: ModelTensors;
  /** the files its tensors were read from, with the versions read */
  files: FileRecord[];
  /** component -> the architecture of that component (two models' components are compared only when equal);
   *  absent for the components of an unknown architecture and for `other` */
  kinds: Map<string, string>;
  /** storage facts of the file for the health check (bytes after the last tensor, the scaled_fp8 marker) */
  facts: StorageFacts;
}

/** `shared`: one copy of the names and shapes many models hold (a run over a folder passes one for all its models). */
export function loadModel(checkpoint: Checkpoint, index: number, shared?: SharedHeaders): LoadedModel {
  // the readers refuse these first (before a huge header is built); any reader's output is held to them here
  checkTensorCount(checkpoint.tensors.length, checkpoint.path);
  for (const t of checkpoint.tensors) checkTensorName(t.name, checkpoint.path);
  const metadata = boundedMetadata(checkpoint.metadata);
  const names = checkpoint.tensors.map((t) => t.name);
  const canon = canonicalizeKeys(names, checkpoint.tensors.map((t) => t.shape), { metadata: checkpoint.metadata });
  // the first tensor of a canonical key is the one compared
  const seen = new Set<string>();
  const keys: string[] = [];
  const keyComponents: string[] = [];
  const refs: TensorRef[] = [];
  checkpoint.tensors.forEach((ref, i) => {
    const key = shared ? shared.string(canon.keys[i]!) : canon.keys[i]!;
    if (seen.has(key)) return;
    seen.add(key);
    keys.push(key);
    keyComponents.push(canon.components[i]!);
    refs.push(shared ? shared.ref(ref) : ref);
  });
  const tensors = shared
    ? new ModelTensors(shared.keySet(keys, keyComponents), shared.refLayout(refs), refs)
    : new ModelTensors(keySet(keys, keyComponents), refLayout(refs), refs);
  const arch = describeArch(
    canon.family,
    canon.detection,
    keys,
    refs.map((r) => r.shape),
    keyComponents,
    checkpoint.metadata,
  );

  const byComponent: Record<string, ComponentStats> = {};
  let paramCount = 0;
  for (const [, { ref, component }] of tensors) {
    const s = (byComponent[component] ??= { tensors: 0, params: 0, bytes: 0, dtypes: {} });
    s.tensors++;
    s.params += ref.numel;
    s.bytes += ref.byteLength;
    s.dtypes[ref.dtype] = (s.dtypes[ref.dtype] ?? 0) + 1;
    paramCount += ref.numel;
  }
  const components: Record<string, ComponentStats> = {};
  for (const c of sortComponents(Object.keys(byComponent))) {
    const name = arch.components[c]?.name;
    components[c] = name === undefined ? byComponent[c]! : { ...byComponent[c]!, name };
  }

  return {
    info: {
      index,
      file: basename(checkpoint.path),
      path: checkpoint.path,
      format: checkpoint.format,
      arch: arch.arch,
      archDetail: arch.detail,
      role: arch.role,
      ...(arch.variants.length ? { variants: arch.variants } : {}),
      sizeBytes: checkpoint.sizeBytes,
      tensorCount: tensors.size,
      paramCount,
      components,
      metadata: metadata.metadata,
      notes: [...checkpoint.notes, ...canon.notes, ...(metadata.note ? [metadata.note] : [])],
      tensorHealth: { nonFinite: [], allZero: [], nonFiniteCount: 0, allZeroCount: 0 },
    },
    tensors,
    files: checkpoint.files,
    kinds: new Map(Object.entries(arch.components).map(([c, { kind }]) => [c, kind])),
    facts: checkpoint.facts ?? {},
  };
}
