import type { TensorRef } from './checkpoint';
import { keySet, refLayout, type KeySet, type RefLayout } from './modelTensors';

/**
 * One copy of each tensor name, canonical key and shape for all the models of a run. The models of a folder nearly
 * always share their key layout, and each header parse makes its own copies: at 1,000 SD 1.5 models (1.1 million
 * tensors) those copies were about half of the headers' 470 MiB. Shapes are shared, so they are never mutated; so are
 * key sets and ref layouts (model/modelTensors.ts).
 */
export class SharedHeaders {
  private strings = new Map<string, string>();
  private shapes = new Map<string, number[]>();
  private keySets = new Map<string, KeySet>();
  private layouts = new Map<string, RefLayout>();

  /** One key set for all the models with these keys and components in this order. */
  keySet(keys: string[], components: string[]): KeySet {
    const id = `${keys.join('\n')}\n\n${components.join('\n')}`;
    const known = this.keySets.get(id);
    if (known) return known;
    const made = keySet(keys, components);
    this.keySets.set(id, made);
    return made;
  }

  /** One ref layout for all the models whose refs have these names, dtypes and shapes in this order. */
  refLayout(refs: readonly TensorRef[]): RefLayout {
    const id = refs.map((r) => `${r.name}\0${r.dtype}\0${r.shape.join(',')}`).join('\n');
    const known = this.layouts.get(id);
    if (known) return known;
    const made = refLayout(refs);
    this.layouts.set(id, made);
    return made;
  }

  string(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    this.strings.set(s, s);
    return s;
  }

  shape(shape: number[]): number[] {
    const text = shape.join(',');
    const known = this.shapes.get(text);
    if (known !== undefined) return known;
    this.shapes.set(text, shape);
    return shape;
  }

  /** The ref with its name and shape replaced by the shared copies (in place: the ref is the reader's own). */
  ref(ref: TensorRef): TensorRef {
    ref.name = this.string(ref.name);
    ref.shape = this.shape(ref.shape);
    return ref;
  }
}
