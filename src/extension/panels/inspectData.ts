/** The inspector's tensor table from an opened checkpoint. Pure (no vscode import). */
import type { Checkpoint, LoadedModel } from '../../compute';
import type { InspectTensor } from '../../shared/protocol';

/**
 * Every stored tensor in file order, with its canonical key and component. Aliases that canonicalise to a key
 * already taken keep their stored name as key and the component of the tensor they alias, when known.
 */
export function inspectTensors(checkpoint: Checkpoint, model: LoadedModel): InspectTensor[] {
  const byName = new Map<string, { key: string; component: string }>();
  for (const [key, t] of model.tensors) byName.set(t.ref.name, { key, component: t.component });
  return checkpoint.tensors.map((t) => {
    const k = byName.get(t.name);
    return { key: k?.key ?? t.name, name: t.name, component: k?.component ?? 'other', dtype: t.dtype, shape: t.shape.slice(), bytes: t.byteLength };
  });
}
