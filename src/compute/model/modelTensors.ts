import type { TensorRef } from './checkpoint';

export interface TensorEntry {
  ref: TensorRef;
  component: string;
}

/** Canonical keys in a model's order, their components, and key -> position: what the models of a key set share. */
export interface KeySet {
  keys: string[];
  components: string[];
  index: Map<string, number>;
}

export function keySet(keys: string[], components: string[]): KeySet {
  const index = new Map<string, number>();
  keys.forEach((k, i) => index.set(k, i));
  return { keys, components, index };
}

/**
 * A model's tensors by canonical key. The key set (keys, components, the index) is shared by every model that holds
 * the same keys in the same order (model/sharedHeaders.ts), so a model costs its refs alone: at 1,000 SD 1.5 models
 * a map and an entry object per tensor were about 100 MiB.
 */
export class ModelTensors implements Iterable<[string, TensorEntry]> {
  constructor(
    private readonly set: KeySet,
    private readonly refs: TensorRef[],
  ) {}

  get size(): number {
    return this.refs.length;
  }

  get(key: string): TensorEntry | undefined {
    const i = this.set.index.get(key);
    return i === undefined ? undefined : { ref: this.refs[i]!, component: this.set.components[i]! };
  }

  has(key: string): boolean {
    return this.set.index.has(key);
  }

  keys(): string[] {
    return this.set.keys;
  }

  *values(): IterableIterator<TensorEntry> {
    for (const [, entry] of this) yield entry;
  }

  *[Symbol.iterator](): IterableIterator<[string, TensorEntry]> {
    for (let i = 0; i < this.refs.length; i++) yield [this.set.keys[i]!, { ref: this.refs[i]!, component: this.set.components[i]! }];
  }
}
