import type { TensorRef } from './checkpoint';
import type { DType } from './dtypes';

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

/** What the refs of models with one tensor table share, position by position: names as stored, dtypes, shapes. */
export interface RefLayout {
  names: string[];
  dtypes: DType[];
  shapes: number[][];
  numels: Float64Array;
}

export function refLayout(refs: readonly TensorRef[]): RefLayout {
  return { names: refs.map((r) => r.name), dtypes: refs.map((r) => r.dtype), shapes: refs.map((r) => r.shape), numels: Float64Array.from(refs, (r) => r.numel) };
}

/** A ref the columns hold in full: a plain run of little-endian bytes (any other is kept as the reader's object). */
function isPlain(r: TensorRef): boolean {
  return r.strides === undefined && r.parts === undefined && r.quant === undefined && r.byteOrder === undefined;
}

/**
 * A model's tensors by canonical key, held in columns. The key set (keys, components, the index) and the ref layout
 * (names, dtypes, shapes) are shared by every model with the same tensor table (model/sharedHeaders.ts), so a model
 * costs its offsets and lengths alone: at 1,000 SD 1.5 models an object per tensor (a ref, a map entry, a unit
 * member) was 130 MiB of the main thread's heap. Refs are made when asked for; the few that are not a plain run of
 * bytes (strided views, split q/k/v, quantised, big-endian) are kept as the objects the reader made.
 */
export class ModelTensors implements Iterable<[string, TensorEntry]> {
  private readonly offsets: Float64Array;
  private readonly byteLengths: Float64Array;
  /** the file of each tensor, as an index into `files` (null: all in files[0]) */
  private readonly fileOf: Uint16Array | null;
  private readonly files: string[];
  private readonly whole: Map<number, TensorRef> | null;

  /** `layout` must describe `refs` (refLayout(refs), or a shared copy equal to it). */
  constructor(
    readonly set: KeySet,
    readonly layout: RefLayout,
    refs: readonly TensorRef[],
  ) {
    const n = refs.length;
    this.offsets = new Float64Array(n);
    this.byteLengths = new Float64Array(n);
    const fileIndex = new Map<string, number>();
    const fileOf = new Uint16Array(n);
    let whole: Map<number, TensorRef> | null = null;
    refs.forEach((r, i) => {
      this.offsets[i] = r.offset;
      this.byteLengths[i] = r.byteLength;
      let f = fileIndex.get(r.file);
      if (f === undefined) fileIndex.set(r.file, (f = fileIndex.size));
      fileOf[i] = f;
      if (!isPlain(r) || f > 0xffff) (whole ??= new Map()).set(i, r);
    });
    this.files = [...fileIndex.keys()];
    this.fileOf = this.files.length > 1 ? fileOf : null;
    this.whole = whole;
  }

  get size(): number {
    return this.offsets.length;
  }

  /** The position of a key in this model's tables (undefined: the model lacks it). */
  slot(key: string): number | undefined {
    return this.set.index.get(key);
  }

  refAt(i: number): TensorRef {
    const kept = this.whole?.get(i);
    if (kept) return kept;
    const L = this.layout;
    return {
      name: L.names[i]!,
      dtype: L.dtypes[i]!,
      shape: L.shapes[i]!,
      numel: L.numels[i]!,
      file: this.files[this.fileOf ? this.fileOf[i]! : 0]!,
      offset: this.offsets[i]!,
      byteLength: this.byteLengths[i]!,
    };
  }

  componentAt(i: number): string {
    return this.set.components[i]!;
  }

  shapeAt(i: number): number[] {
    return this.layout.shapes[i]!;
  }

  dtypeAt(i: number): DType {
    return this.layout.dtypes[i]!;
  }

  get(key: string): TensorEntry | undefined {
    const i = this.set.index.get(key);
    return i === undefined ? undefined : { ref: this.refAt(i), component: this.set.components[i]! };
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
    for (let i = 0; i < this.size; i++) yield [this.set.keys[i]!, { ref: this.refAt(i), component: this.set.components[i]! }];
  }
}
