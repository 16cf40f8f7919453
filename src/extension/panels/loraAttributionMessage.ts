/**
 * The part of the panel's "LoRA strengths" request that needs no VS Code: the file a model reference of the result
 * names, the LoRAs of the result, and the attribution as the panel shows it (LoRAs and unusable LoRA files by their
 * index in the result). loraAttribution.ts adds the file dialogs and the progress notification.
 */
import { basename } from 'node:path';
import type { AttributeFilesResult, CompareResult } from '../../compute';
import type { LoraAttributionMessage } from '../../shared/protocol';

/** The path of a checkpoint of the result (by index) or of the comparison's base. */
export function resultModelPath(result: CompareResult, ref: number | 'comparison-base'): string {
  if (ref === 'comparison-base') {
    if (!result.options.base) throw new Error('this comparison was run without a base');
    return result.options.base;
  }
  const m = result.models[ref];
  if (!m) throw new Error(`no model ${ref} in this result`);
  if (m.lora) throw new Error(`${m.file} is a LoRA, not a checkpoint`);
  return m.path;
}

/** The paths of the result's LoRAs, the ones the panel attributes to. */
export function resultLoraPaths(result: CompareResult): string[] {
  const loras = result.models.filter((m) => m.lora).map((m) => m.path);
  if (!loras.length) throw new Error('this result has no LoRA');
  return loras;
}

export function attributionMessage(result: CompareResult, r: AttributeFilesResult, nonNegative: boolean): LoraAttributionMessage {
  const a = r.attribution;
  const indexOf = new Map(result.models.filter((m) => m.lora).map((m) => [m.path, m.index]));
  return {
    checkpoint: a.checkpoint,
    base: a.base,
    nonNegative,
    loras: a.loras.map((l) => ({ model: indexOf.get(l.file) ?? -1, file: basename(l.file), strength: l.strength, keys: l.keys, dependent: l.dependent })),
    relResidual: a.relResidual,
    explained: a.explained,
    keys: a.keys,
    notes: a.notes,
    errors: r.errors.map((e) => {
      const model = indexOf.get(e.path);
      return { ...(model === undefined ? {} : { model }), file: e.file, message: e.message };
    }),
  };
}
