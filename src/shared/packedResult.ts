/**
 * A CompareResult on its way to the panel with its pairs packed into typed arrays. 232 models are 26,796 pairs of
 * four components: as JSON objects that is about 30 MB, serialised by the extension host, sent and cloned twice
 * before the panel sees it; as columns it is about 3 MB of binary, which VS Code hands over without JSON (engines
 * >= 1.57 transfer ArrayBuffers as such). Unpacking gives back exactly the pairs result.json holds. Pure.
 */
import type { CompareResult, ComponentDiff, ComponentStatus, PairDifferences, PairResult } from './result';

const STATUSES: readonly ComponentStatus[] = ['identical', 'equal_values', 'changed', 'only_in_a', 'only_in_b', 'not_comparable'];
/** status code of a pair without an entry for the component */
const NONE = 255;
const COUNTS = ['shared', 'only_a', 'only_b', 'mismatched', 'dtype_diff', 'changed', 'non_finite', 'bytes_only'] as const;
const IDENTICAL = 1;
const EQUAL_VALUES = 2;
const BYTES_ONLY_SET = 4;

export interface PackedComponent {
  /** STATUSES index per pair, NONE without an entry */
  status: Uint8Array;
  /** NaN where result.json has null */
  l2: Float64Array;
  cosine: Float64Array;
  /** COUNTS per pair, pair-major, in the narrowest unsigned array that holds them (narrowest()) */
  counts: UintArray;
  /** IDENTICAL | EQUAL_VALUES | BYTES_ONLY_SET (bytes_only written) per pair */
  flags: Uint8Array;
}

/** An array of non-negative integers as narrow as its values allow. */
export type UintArray = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/**
 * The values in the narrowest of Uint8Array, Uint16Array, Uint32Array (counts and model indexes are mostly small:
 * 232 models of 2,515 keys fit in 16 bits, half the bytes to send); an Int32Array when a value does not fit (a count
 * is never negative, but an odd one must come back as it was).
 */
export function narrowest(values: Int32Array): UintArray {
  let min = 0;
  let max = 0;
  for (const v of values) {
    if (v > max) max = v;
    if (v < min) min = v;
  }
  if (min < 0) return values;
  return max <= 0xff ? Uint8Array.from(values) : max <= 0xffff ? Uint16Array.from(values) : Uint32Array.from(values);
}

export interface PackedPairs {
  a: UintArray;
  b: UintArray;
  components: Record<string, PackedComponent>;
  /** pairs with a non-empty difference list (or a cut one), and those lists */
  differencesAt: Int32Array;
  differences: PairDifferences[];
  /** the few pairs drilled into with the extra metrics */
  extra: { pair: number; extra: NonNullable<PairResult['extra']> }[];
}

/** What result/didChange carries: the result without `pairs`, and the pairs packed. */
export type PackedResult = Omit<CompareResult, 'pairs'> & { pairs: []; packedPairs: PackedPairs };

export function isPacked(r: CompareResult | PackedResult): r is PackedResult {
  return !!(r as PackedResult).packedPairs;
}

const EMPTY: PairDifferences = { only_a: [], only_b: [], mismatched: [], dtype: [], truncated: false };

export function packResult(r: CompareResult): PackedResult {
  const P = r.pairs.length;
  const names = new Set<string>(r.components);
  for (const p of r.pairs) for (const c of Object.keys(p.components)) names.add(c);
  const components: Record<string, PackedComponent> = {};
  for (const c of names) components[c] = { status: new Uint8Array(P).fill(NONE), l2: new Float64Array(P), cosine: new Float64Array(P), counts: new Int32Array(P * COUNTS.length), flags: new Uint8Array(P) };
  const a = new Int32Array(P);
  const b = new Int32Array(P);
  const differencesAt: number[] = [];
  const differences: PairDifferences[] = [];
  const extra: PackedPairs['extra'] = [];
  const statusCode = new Map(STATUSES.map((s, k) => [s, k]));
  for (let i = 0; i < P; i++) {
    const p = r.pairs[i]!;
    a[i] = p.a;
    b[i] = p.b;
    for (const c in p.components) {
      const d = p.components[c]!;
      const col = components[c]!;
      col.status[i] = statusCode.get(d.status) ?? NONE;
      col.l2[i] = d.l2 ?? NaN;
      col.cosine[i] = d.cosine ?? NaN;
      const o = i * COUNTS.length;
      col.counts[o] = d.shared;
      col.counts[o + 1] = d.only_a;
      col.counts[o + 2] = d.only_b;
      col.counts[o + 3] = d.mismatched;
      col.counts[o + 4] = d.dtype_diff;
      col.counts[o + 5] = d.changed;
      col.counts[o + 6] = d.non_finite;
      col.counts[o + 7] = d.bytes_only ?? 0;
      col.flags[i] = (d.identical ? IDENTICAL : 0) | (d.equal_values ? EQUAL_VALUES : 0) | (d.bytes_only !== undefined ? BYTES_ONLY_SET : 0);
    }
    const df = p.differences;
    if (df && (df.only_a.length || df.only_b.length || df.mismatched.length || df.dtype.length || df.truncated)) {
      differencesAt.push(i);
      differences.push(df);
    }
    if (p.extra) extra.push({ pair: i, extra: p.extra });
  }
  for (const col of Object.values(components)) col.counts = narrowest(col.counts as Int32Array);
  const { pairs: _pairs, ...rest } = r;
  return { ...rest, pairs: [], packedPairs: { a: narrowest(a), b: narrowest(b), components, differencesAt: Int32Array.from(differencesAt), differences, extra } };
}

/** The result as result.json has it (a result that is not packed comes back as it is). */
export function unpackResult(w: CompareResult | PackedResult): CompareResult {
  if (!isPacked(w)) return w;
  const { packedPairs: pk, ...rest } = w;
  const P = pk.a.length;
  const diffs = new Map<number, PairDifferences>();
  pk.differencesAt.forEach((i, k) => diffs.set(i, pk.differences[k]!));
  const extra = new Map(pk.extra.map((e) => [e.pair, e.extra]));
  const cols = Object.entries(pk.components);
  const pairs: PairResult[] = new Array(P);
  for (let i = 0; i < P; i++) {
    const components: Record<string, ComponentDiff> = {};
    for (const [c, col] of cols) {
      const s = col.status[i]!;
      if (s === NONE) continue;
      const o = i * COUNTS.length;
      const l2 = col.l2[i]!;
      const cosine = col.cosine[i]!;
      const f = col.flags[i]!;
      const d: ComponentDiff = {
        status: STATUSES[s]!,
        l2: Number.isNaN(l2) ? null : l2,
        cosine: Number.isNaN(cosine) ? null : cosine,
        identical: (f & IDENTICAL) !== 0,
        equal_values: (f & EQUAL_VALUES) !== 0,
        shared: col.counts[o]!,
        only_a: col.counts[o + 1]!,
        only_b: col.counts[o + 2]!,
        mismatched: col.counts[o + 3]!,
        dtype_diff: col.counts[o + 4]!,
        changed: col.counts[o + 5]!,
        non_finite: col.counts[o + 6]!,
        bytes_only: col.counts[o + 7]!,
      };
      if (!(f & BYTES_ONLY_SET)) delete (d as Partial<ComponentDiff>).bytes_only;
      components[c] = d;
    }
    const p: PairResult = { a: pk.a[i]!, b: pk.b[i]!, components, differences: diffs.get(i) ?? { ...EMPTY, only_a: [], only_b: [], mismatched: [], dtype: [] } };
    const x = extra.get(i);
    if (x) p.extra = x;
    pairs[i] = p;
  }
  return { ...rest, pairs };
}
