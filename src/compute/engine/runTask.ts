import { bytesPerElement } from '../model/dtypes';
import { isQuantised } from '../io/readQuant';
import { readFully, readTensorElements } from '../io/tensorBytes';
import { PAIR_SUB_COLUMNS, type Kernels } from '../kernels/types';
import { decodeToF64 } from './decodeF64';
import { FileHandles } from '../io/fileHandles';
import { auxRanges } from '../quant/layout';
import { decodeMember, identityKey, itemRoute, readMember, slotBytes } from './members';
import { FP8_E4M3FN, FP8_E5M2, fp8GridFlags, isHalfDtype, isPlainFp8, reachesFp8Max } from './fp8Grid';
import { fresh, type ResultArrays } from './resultArrays';
import { pairSlot, SUM_BLOCK_ELEMENTS, type ItemResult, type TaskResult, type WorkItem, type WorkTask } from './workTask';


/**
 * Runs one task: for each item, reads the members' bytes chunk by chunk, groups bit-identical members, and adds
 * every pair's squared distance and inner product. Float32-decodable members (quantised ones dequantised first) go
 * through the direct pair kernel; anything else through an exact float64 path. Every pair's sums are added per
 * canonical block of SUM_BLOCK_ELEMENTS counted from the item's start, in block order, so they depend on the pair's
 * two members alone (not on the other members, the chunk size, the task or the worker).
 */
/** `arrays`: where the items' pair arrays come from (a worker's, used again by its next task); none: made anew. */
export function runTask(task: WorkTask, kernels: Kernels, arrays?: ResultArrays): TaskResult {
  const files = new FileHandles(task.files);
  const stats: TaskStats = { bytesRead: 0, arrays };
  try {
    // the route is the one the result records per unit (resultBuilder) and incremental runs check (members.ts)
    const items = task.items.map((item) => {
      const route = itemRoute(item.members);
      if (route === 'pair') return pairItem(item, task, kernels, files, stats);
      if (route === 'f64') return f64Item(item, task.chunkElements, kernels, files, stats);
      return bytesOnlyItem(item, task.chunkElements * 4, files, stats);
    });
    // what was read is kept only if every file is still the version the plan was made from
    files.verify();
    return { items, bytesRead: stats.bytesRead, kernels: kernels.name };
  } finally {
    files.closeAll();
  }
}


interface TaskStats {
  bytesRead: number;
  arrays: ResultArrays | undefined;
}

function newResult(item: WorkItem, stats: TaskStats): ItemResult {
  const m = item.members.length;
  const pairs = (m * (m - 1)) / 2;
  const { d2, dot, identical } = stats.arrays ? stats.arrays.take(pairs) : fresh(pairs);
  return {
    unit: item.unit,
    start: item.start,
    count: item.count,
    m,
    d2: d2.fill(0),
    dot: dot.fill(0),
    sq: new Float64Array(m),
    identical: identical.fill(1),
    nonFinite: new Uint8Array(m),
    allZero: new Uint8Array(m).fill(1),
    undecodable: false,
    fp8Grid: Uint8Array.from(item.members, (r) => (isHalfDtype(r.dtype) && !isQuantised(r) ? FP8_E4M3FN | FP8_E5M2 : 0)),
    fp8AtMax: new Uint8Array(m),
  };
}

/** The fp8 facts of the members' raw little-endian bytes of one chunk (fp8Grid.ts); each stops once settled. */
function fp8Facts(res: ItemResult, members: readonly WorkItem['members'][number][], u8: Uint8Array, slots: readonly number[], n: number): void {
  members.forEach((r, i) => {
    if (res.fp8Grid[i]) res.fp8Grid[i] = fp8GridFlags(r.dtype as 'F16' | 'BF16', u8, slots[i]!, n, res.fp8Grid[i]!);
    else if (!res.fp8AtMax[i] && isPlainFp8(r.dtype) && !isQuantised(r) && reachesFp8Max(r.dtype, u8, slots[i]!, n)) res.fp8AtMax[i] = 1;
  });
}

/**
 * Groups members whose bytes are equal and whose identity keys (members.ts: the dtype, and a quantised member's
 * encoding) are equal. Returns class per member and the first member of each class. Each row is compared in full only
 * with the representatives whose identity key, length and sampled bytes match its own, so a chunk of m distinct rows
 * costs m fingerprints, not m^2/2 comparisons.
 */
export function byteClasses(keys: string[], u8: Uint8Array, slots: number[], lengths: number[]): { cls: Int32Array; reps: number[] } {
  const m = keys.length;
  const cls = new Int32Array(m);
  const reps: number[] = [];
  const views: Buffer[] = [];
  const buckets = new Map<string, number[]>();
  for (let i = 0; i < m; i++) {
    const vi = Buffer.from(u8.buffer, u8.byteOffset + slots[i]!, lengths[i]!);
    views.push(vi);
    const key = `${keys[i]} ${lengths[i]} ${sampleHash(u8, slots[i]!, lengths[i]!)}`;
    let candidates = buckets.get(key);
    if (!candidates) buckets.set(key, (candidates = []));
    let found = -1;
    for (const q of candidates) {
      if (vi.equals(views[reps[q]!]!)) {
        found = q;
        break;
      }
    }
    if (found < 0) {
      found = reps.length;
      reps.push(i);
      candidates.push(found);
    }
    cls[i] = found;
  }
  return { cls, reps };
}

/** A hash of 8 bytes at each of 8 places spread over bytes [at, at+length) (all of them when fewer than 64). */
function sampleHash(u8: Uint8Array, at: number, length: number): number {
  let h = 0x811c9dc5;
  const mix = (b: number) => (h = Math.imul(h ^ b, 0x01000193));
  if (length <= 64) {
    for (let e = at, end = at + length; e < end; e++) mix(u8[e]!);
  } else {
    for (let k = 0; k < 8; k++) {
      const from = at + Math.floor((k * (length - 8)) / 7);
      for (let e = from; e < from + 8; e++) mix(u8[e]!);
    }
  }
  return h >>> 0;
}

/** Every value of a[from, from+n) is zero (either sign); stops at the first that is not, usually the first. */
function allZeros(a: Float32Array | Float64Array, from: number, n: number): boolean {
  for (let e = from, end = from + n; e < end; e++) if (a[e] !== 0) return false;
  return true;
}

function markIdentity(res: ItemResult, cls: Int32Array): void {
  const m = res.m;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) if (cls[i] !== cls[j]) res.identical[pairSlot(i, j, m)] = 0;
}

/** The squared norms of classes [0, classes) over columns [col, col+n), in float64; NaN/Inf where a row is not finite. */
function blockNorms(k: Kernels, rowOf: (q: number) => number, classes: number, col: number, n: number, out: Float64Array): void {
  for (let q = 0; q < classes; q++) {
    const at = rowOf(q) + col * 4;
    out[q] = k.dot(at, at, n);
  }
}

/**
 * Float32-decodable members: per chunk, one decoded row per class of bit-identical members, then per canonical block
 * (SUM_BLOCK_ELEMENTS from the item's start) every class pair's direct sum of squared differences (pairBlock) and
 * every class's squared norm (in float64), added to the member pairs' float64 totals in block order. Each pair's sums
 * thus depend on its two members' values alone: not on the other members, the chunk size or the worker.
 * The block's inner product comes from those, <a,b> = (|a|^2 + |b|^2 - |a-b|^2) / 2, when |a-b|^2 <= |2<a,b>|: its
 * error is then about that of |a-b|^2 (1e-8 to 1e-7 relative, float32 chains of exact differences) over 2, at most
 * that of <a,b>, and near nothing against it for similar models (a float32 inner product would err by 1e-7 of it:
 * ties-to-even biases sums of exact fp16 products, and cost a second multiply-add per element and pair). Otherwise
 * (models far apart in that block) the inner product is summed directly in float64.
 */
function pairItem(item: WorkItem, task: WorkTask, k: Kernels, files: FileHandles, stats: TaskStats): ItemResult {
  const res = newResult(item, stats);
  const m = res.m;
  const members = item.members;
  const B = SUM_BLOCK_ELEMENTS;
  const C = Math.max(B, Math.ceil(Math.min(task.chunkElements, item.count) / B) * B);
  const wanted = item.rowsWanted;
  const rawSize = Math.max(16, ...members.map((r) => slotBytes(r, C)));
  // Layout: raw slots (m), decoded rows (m + 1: the row after the last class pads the row lists), row lists II and JJ
  // (int32), D (f64), the kernel's packed sub-block.
  const dStride = m + 1;
  const rawBase = 0;
  const rowsBase = rawBase + m * rawSize;
  const listBase = rowsBase + (m + 1) * C * 4;
  const listBytes = Math.ceil(((m + 4) * 4) / 16) * 16;
  const dBase = listBase + 2 * listBytes;
  const packedBase = dBase + dStride * dStride * 8;
  k.reserve(packedBase + (m + 1) * PAIR_SUB_COLUMNS * 4);

  const slots = members.map((_, i) => rawBase + i * rawSize);
  const keys = members.map(identityKey);
  const rowOf = (q: number) => rowsBase + q * C * 4;
  const norms = new Float64Array(m);
  const classWanted = new Uint8Array(m);
  for (let start = item.start, end = item.start + item.count; start < end; start += C) {
    const n = Math.min(C, end - start);
    const u8 = k.u8();
    const lengths = members.map((r, i) => {
      const { length, bytesRead } = readMember(files.get(r.file), r, start, n, u8, slots[i]!);
      stats.bytesRead += bytesRead;
      return length;
    });
    const { cls, reps } = byteClasses(keys, u8, slots, lengths);
    markIdentity(res, cls);
    fp8Facts(res, members, u8, slots, n);
    reps.forEach((i, q) => decodeMember(k, members[i]!, slots[i]!, rowOf(q), start, n, C));
    const classes = reps.length;
    const f32 = k.f32();
    for (let i = 0; i < m; i++) if (res.allZero[i] && !allZeros(f32, rowOf(cls[i]!) / 4, n)) res.allZero[i] = 0;
    // the kernel takes whole 4-column steps: zero columns past the end (+0 changes no sum)
    const nPad = Math.ceil(n / 4) * 4;
    if (nPad > n) for (let q = 0; q < classes; q++) f32.fill(0, rowOf(q) / 4 + n, rowOf(q) / 4 + nPad);

    // Which class pairs to compute: all (the upper triangle), or, in rows-subset mode, the wanted classes' rows.
    classWanted.fill(0);
    if (wanted) for (let i = 0; i < m; i++) if (wanted[i]) classWanted[cls[i]!] = 1;
    const list = new Int32Array(k.u8().buffer);
    let ni = 0;
    let nj = 0;
    for (let q = 0; q < classes; q++) {
      if (!wanted || classWanted[q]) list[listBase / 4 + ni++] = q;
      list[(listBase + listBytes) / 4 + nj++] = q;
    }
    // whole tiles (4 rows of II, 2 of JJ; II is JJ without a subset): row `classes` holds no class, its entries are
    // computed and never read
    while (ni % 4) list[listBase / 4 + ni++] = classes;
    while (nj % 4) list[(listBase + listBytes) / 4 + nj++] = classes;
    const II = listBase;
    const JJ = wanted ? listBase + listBytes : listBase;

    for (let b0 = 0; b0 < n; b0 += B) {
      const w = Math.min(B, n - b0);
      blockNorms(k, rowOf, classes, b0, w, norms);
      const f64 = k.f64();
      f64.fill(0, dBase / 8, dBase / 8 + dStride * dStride);
      if (ni > 0) k.pairBlock(rowsBase, C, b0, Math.ceil(w / 4) * 4, classes + 1, packedBase, II, ni, JJ, wanted ? nj : ni, wanted ? 0 : 1, dBase, dStride);
      const g = k.f64();
      const D = dBase / 8;
      for (let i = 0; i < m; i++) {
        const ci = cls[i]!;
        const finiteI = Number.isFinite(norms[ci]!);
        if (!finiteI) res.nonFinite[i] = 1;
        res.sq[i] += norms[ci]!;
        const row = pairSlot(i, i + 1, m) - (i + 1);
        for (let j = i + 1; j < m; j++) {
          if (wanted && !wanted[i] && !wanted[j]) continue;
          const cj = cls[j]!;
          const at = row + j;
          // bit-identical rows: d2 is exactly 0, the inner product the squared norm
          if (ci === cj) {
            res.dot[at] += norms[ci]!;
            continue;
          }
          // the entry the kernel computed: (p, q) with p in II and, without a subset, p < q
          const iFirst = wanted ? classWanted[ci] === 1 : ci < cj;
          const p = iFirst ? ci : cj;
          const q = iFirst ? cj : ci;
          let d2 = g[D + p * dStride + q]!;
          const finite = finiteI && Number.isFinite(norms[cj]!);
          // finite rows whose float32 squares overflow: this block of the pair in float64
          if (!Number.isFinite(d2) && finite) d2 = k.sqDiff(rowOf(p) + b0 * 4, rowOf(q) + b0 * 4, w);
          const twice = norms[ci]! + norms[cj]! - d2;
          res.d2[at] += d2;
          res.dot[at] += !finite || d2 <= Math.abs(twice) ? twice / 2 : k.dot(rowOf(p) + b0 * 4, rowOf(q) + b0 * 4, w);
        }
      }
    }
  }
  return res;
}

/**
 * Exact path for dtypes the float32 kernels cannot take (F64, integers, bool): decode to float64 in JS. Quantised
 * members of such a unit are dequantised to float32 by the kernels (exact in float64 too).
 */
function f64Item(item: WorkItem, chunkElements: number, k: Kernels, files: FileHandles, stats: TaskStats): ItemResult {
  const res = newResult(item, stats);
  const m = res.m;
  const quantised = item.members.some(isQuantised);
  // whole canonical blocks per chunk (also whole blocks of any quantised encoding)
  const B = SUM_BLOCK_ELEMENTS;
  const C = Math.max(B, Math.ceil(Math.min(chunkElements, item.count) / B) * B);
  const sizes = item.members.map((r) => slotBytes(r, C));
  const slots = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const raw = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  const keys = item.members.map(identityKey);
  const vals = item.members.map(() => new Float64Array(C));
  if (quantised) k.reserve(Math.max(...sizes) + C * 4);
  for (let start = item.start, end = item.start + item.count; start < end; start += C) {
    const n = Math.min(C, end - start);
    const lengths = item.members.map((r, i) => {
      if (!isQuantised(r)) {
        const { length, bytesRead } = readMember(files.get(r.file), r, start, n, raw, slots[i]!);
        stats.bytesRead += bytesRead;
        decodeToF64(r.dtype, raw.subarray(slots[i]!), n, vals[i]!);
        return length;
      }
      // read into the kernels' memory, dequantise there, keep the raw bytes for identity
      const { length, bytesRead } = readMember(files.get(r.file), r, start, n, k.u8(), 0);
      stats.bytesRead += bytesRead;
      const dst = sizes[i]!;
      decodeMember(k, r, 0, dst, start, n, C);
      raw.set(k.u8().subarray(0, length), slots[i]!);
      vals[i]!.set(k.f32().subarray(dst / 4, dst / 4 + n));
      return length;
    });
    markIdentity(res, byteClasses(keys, raw, slots, lengths).cls);
    fp8Facts(res, item.members, raw, slots, n);
    const wanted = item.rowsWanted;
    for (let i = 0; i < m; i++) {
      const a = vals[i]!;
      for (let j = i; j < m; j++) {
        if (wanted && j > i && !wanted[i] && !wanted[j]) continue;
        const b = vals[j]!;
        // summed per canonical block, the blocks added in order (see runTask)
        for (let b0 = 0; b0 < n; b0 += B) {
          let d2 = 0;
          let dot = 0;
          for (let e = b0, bEnd = Math.min(n, b0 + B); e < bEnd; e++) {
            const d = a[e]! - b[e]!;
            d2 += d * d;
            dot += a[e]! * b[e]!;
          }
          if (j === i) res.sq[i] += dot;
          else {
            res.dot[pairSlot(i, j, m)] += dot;
            res.d2[pairSlot(i, j, m)] += d2;
          }
        }
      }
      let finite = true;
      for (let e = 0; e < n && finite; e++) finite = Number.isFinite(a[e]!);
      if (!finite) res.nonFinite[i] = 1;
      if (res.allZero[i] && !allZeros(a, 0, n)) res.allZero[i] = 0;
    }
  }
  return res;
}

/**
 * Dtypes without an arithmetic path here (C64, F8 variants, packed F4/F6): byte identity only, chunk by chunk.
 * Whole-byte dtypes go through readTensorElements (strided views, parts, big-endian storage); packed ones only exist
 * as contiguous safetensors data and are compared as raw bytes.
 */
function bytesOnlyItem(item: WorkItem, chunkBytes: number, files: FileHandles, stats: TaskStats): ItemResult {
  const res = newResult(item, stats);
  res.undecodable = true;
  res.allZero.fill(0);
  res.fp8Grid.fill(0);
  res.d2.fill(NaN);
  res.dot.fill(NaN);
  res.sq.fill(NaN);
  const members = item.members;
  const sizes = members.map((r) => bytesPerElement(r.dtype));
  const slots = members.map((_, i) => i * chunkBytes);
  const u8 = new Uint8Array(members.length * chunkBytes);
  const keys = members.map(identityKey);
  const compare = (lengths: number[]) => markIdentity(res, byteClasses(keys, u8, slots, lengths).cls);
  if (sizes.every((e) => e !== undefined)) {
    const C = Math.max(1, Math.floor(chunkBytes / Math.max(...(sizes as number[]))));
    for (let start = item.start, end = item.start + item.count; start < end; start += C) {
      const n = Math.min(C, end - start);
      compare(members.map((r, i) => (stats.bytesRead += readTensorElements(files.get(r.file), r, start, n, u8, slots[i]!), n * sizes[i]!)));
    }
    return res;
  }
  const longest = Math.max(...members.map((r) => r.byteLength));
  for (let pos = 0; pos < longest; pos += chunkBytes) {
    const lengths = members.map((r, i) => {
      const len = Math.max(0, Math.min(chunkBytes, r.byteLength - pos));
      if (len > 0) readFully(files.get(r.file), u8, slots[i]!, len, r.offset + pos, r);
      stats.bytesRead += len;
      return len;
    });
    compare(lengths);
  }
  // a packed quantised tensor's values also depend on bytes elsewhere in its file (bitsandbytes absmax)
  const aux = members.map((r) => (isQuantised(r) ? auxRanges(r.quant) : []));
  const auxLength = (i: number) => aux[i]!.reduce((s, p) => s + p.byteLength, 0);
  const longestAux = Math.max(...members.map((_, i) => auxLength(i)));
  for (let pos = 0; pos < longestAux; pos += chunkBytes) {
    compare(members.map((r, i) => readAux(files.get(r.file), r, aux[i]!, pos, Math.max(0, Math.min(chunkBytes, auxLength(i) - pos)), u8, slots[i]!)));
  }
  return res;
}

/** Bytes [from, from+length) of the concatenated ranges `parts` into dst at `at`; returns length. */
function readAux(fd: number, r: WorkItem['members'][number], parts: { offset: number; byteLength: number }[], from: number, length: number, dst: Uint8Array, at: number): number {
  let partStart = 0;
  let done = 0;
  for (const p of parts) {
    const lo = Math.max(from + done, partStart);
    const hi = Math.min(from + length, partStart + p.byteLength);
    if (lo < hi) {
      readFully(fd, dst, at + done, hi - lo, p.offset + (lo - partStart), r);
      done += hi - lo;
    }
    partStart += p.byteLength;
  }
  return length;
}
