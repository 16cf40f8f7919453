import { bytesPerElement } from '../model/dtypes';
import { isQuantised } from '../io/readQuant';
import { readFully, readTensorElements } from '../io/tensorBytes';
import type { Kernels } from '../kernels/types';
import { decodableToF64, decodeToF64 } from './decodeF64';
import { FileHandles } from '../io/fileHandles';
import { auxRanges } from '../quant/layout';
import { decodeMember, decodesToF32, identityKey, readMember, slotBytes } from './members';
import { FP8_E4M3FN, FP8_E5M2, fp8GridFlags, isHalfDtype, isPlainFp8, reachesFp8Max } from './fp8Grid';
import { GRAM_BLOCK_COLUMNS, type ItemResult, type TaskResult, type WorkItem, type WorkTask } from './workTask';


/**
 * Runs one task: for each item, reads the members' bytes chunk by chunk, groups bit-identical members, and adds
 * every pair's squared distance and inner product. Float32-decodable groups (quantised members dequantised first)
 * go through the centred Gram kernels with a cancellation guard; anything else through an exact float64 path.
 */
export function runTask(task: WorkTask, kernels: Kernels): TaskResult {
  const files = new FileHandles(task.files);
  const stats = { bytesRead: 0, guardRecomputes: 0 };
  try {
    const items = task.items.map((item) =>
      item.members.every(decodesToF32)
        ? gramItem(item, task, kernels, files, stats)
        : item.members.every((r) => decodableToF64(r.dtype) || isQuantised(r))
          ? f64Item(item, task.chunkElements, kernels, files, stats)
          : bytesOnlyItem(item, task.chunkElements * 4, files, stats),
    );
    // what was read is kept only if every file is still the version the plan was made from
    files.verify();
    return { items, bytesRead: stats.bytesRead, guardRecomputes: stats.guardRecomputes, kernels: kernels.name };
  } finally {
    files.closeAll();
  }
}


function newResult(item: WorkItem): ItemResult {
  const m = item.members.length;
  return {
    unit: item.unit,
    start: item.start,
    count: item.count,
    m,
    d2: new Float64Array(m * m),
    dot: new Float64Array(m * m),
    identical: new Uint8Array(m * m).fill(1),
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
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) if (cls[i] !== cls[j]) res.identical[i * m + j] = 0;
}

function gramItem(item: WorkItem, task: WorkTask, k: Kernels, files: FileHandles, stats: { bytesRead: number; guardRecomputes: number }): ItemResult {
  const res = newResult(item);
  const m = res.m;
  const members = item.members;
  const kb = GRAM_BLOCK_COLUMNS;
  const C = Math.max(kb, Math.ceil(Math.min(task.chunkElements, item.count) / kb) * kb);
  const mPad = Math.ceil(m / 4) * 4;
  const rawSize = Math.max(C * 4, ...members.map((r) => slotBytes(r, C)));
  // Layout: raw slots (m), decoded rows (m), reference row, packed block, G (f64), S (f64).
  const rawBase = 0;
  const rowsBase = rawBase + m * rawSize;
  const refBase = rowsBase + m * C * 4;
  const packedBase = refBase + kb * 4;
  const gBase = packedBase + mPad * kb * 4;
  const sBase = gBase + mPad * mPad * 8;
  k.reserve(sBase + mPad * 8);

  const slots = members.map((_, i) => rawBase + i * rawSize);
  const keys = members.map(identityKey);
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

    // Decode one row per class.
    const rowOf = (q: number) => rowsBase + q * C * 4;
    reps.forEach((i, q) => decodeMember(k, members[i]!, slots[i]!, rowOf(q), start, n, C));
    const f32 = k.f32();
    for (let i = 0; i < m; i++) if (res.allZero[i] && !allZeros(f32, rowOf(cls[i]!) / 4, n)) res.allZero[i] = 0;

    const classes = reps.length;
    // The Gram is of the classes only: members equal to their class's row so far cost no arithmetic.
    const cPad = Math.ceil(classes / 4) * 4;
    const finite = new Uint8Array(classes).fill(1);
    let G = gramChunk(k, classes, rowOf(0), C, n, refBase, packedBase, gBase, sBase, cPad);
    if (!G.ok) {
      // A NaN/Inf (or an overflow) somewhere: find the non-finite rows and redo the chunk without them.
      for (let q = 0; q < classes; q++) if (!Number.isFinite(k.sqDiff(rowOf(q), rowOf(q), n))) finite[q] = 0;
      const keep = [...Array(classes).keys()].filter((q) => finite[q]);
      keep.forEach((q, slot) => {
        if (slot !== q) k.u8().copyWithin(rowOf(slot), rowOf(q), rowOf(q) + n * 4);
      });
      G = gramChunk(k, keep.length, rowOf(0), C, n, refBase, packedBase, gBase, sBase, cPad);
      // Rows were compacted: class q now lives in slot keepSlot[q].
      const keepSlot = new Int32Array(classes).fill(-1);
      keep.forEach((q, slot) => (keepSlot[q] = slot));
      accumulateChunk(res, cls, finite, keepSlot, G, k, rowOf, n, cPad, gBase, sBase, task.trustRatio, stats);
    } else {
      const identity = Int32Array.from({ length: classes }, (_, q) => q);
      accumulateChunk(res, cls, finite, identity, G, k, rowOf, n, cPad, gBase, sBase, task.trustRatio, stats);
    }
    for (let i = 0; i < m; i++) if (!finite[cls[i]!]) res.nonFinite[i] = 1;
  }
  return res;
}


interface ChunkGram {
  ok: boolean;
  rr: number;
}

/** Centred Gram of `rows` rows (stride C) over n columns, block by block; G and S are left in memory. */
function gramChunk(k: Kernels, rows: number, rowsPtr: number, C: number, n: number, ref: number, packed: number, G: number, S: number, mPad: number): ChunkGram {
  const f64 = k.f64();
  f64.fill(0, G / 8, G / 8 + mPad * mPad);
  f64.fill(0, S / 8, S / 8 + mPad);
  let rr = 0;
  if (rows === 0) return { ok: true, rr };
  const kb = GRAM_BLOCK_COLUMNS;
  for (let col0 = 0; col0 < n; col0 += kb) {
    const w = Math.min(kb, n - col0);
    k.meanRows(rowsPtr, rows, C, col0, w, ref);
    if (w < kb) k.f32().fill(0, ref / 4 + w, ref / 4 + kb);
    k.centerPack(rowsPtr, rows, C, col0, w, ref, packed, mPad, kb);
    k.gramBlock(packed, mPad, kb, G);
    rr += k.dotRef(packed, mPad, kb, ref, S);
  }
  let ok = Number.isFinite(rr);
  const g = k.f64();
  for (let i = 0; ok && i < rows; i++) for (let j = i; j < rows; j++) if (!Number.isFinite(g[G / 8 + i * mPad + j]!)) ok = false;
  for (let i = 0; ok && i < rows; i++) if (!Number.isFinite(g[S / 8 + i]!)) ok = false;
  return { ok, rr };
}

/**
 * Turns the chunk's centred Gram into pair contributions. d2 = G_pp + G_qq - 2 G_pq loses about eps*(G_pp+G_qq);
 * when that is not small against d2, the pair is recomputed directly from its two decoded rows (exact differences).
 */
function accumulateChunk(
  res: ItemResult,
  cls: Int32Array,
  finite: Uint8Array,
  slotOf: Int32Array,
  chunk: ChunkGram,
  k: Kernels,
  rowOf: (slot: number) => number,
  n: number,
  mPad: number,
  G: number,
  S: number,
  trustRatio: number,
  stats: { guardRecomputes: number },
): void {
  const classes = finite.length;
  const g = k.f64();
  const gAt = (p: number, q: number) => (p <= q ? g[G / 8 + p * mPad + q]! : g[G / 8 + q * mPad + p]!);
  const s = (p: number) => g[S / 8 + p]!;
  const rr = chunk.rr;
  // Class-level results first (classes are few), then spread to members.
  const cd2 = new Float64Array(classes * classes);
  const cdot = new Float64Array(classes * classes);
  for (let p = 0; p < classes; p++) {
    for (let q = p; q < classes; q++) {
      const idx = p * classes + q;
      if (!finite[p] || !finite[q]) {
        cd2[idx] = NaN;
        cdot[idx] = NaN;
        continue;
      }
      const sp = slotOf[p]!;
      const sq = slotOf[q]!;
      const raw = gAt(sp, sq) + s(sp) + s(sq) + rr;
      cdot[idx] = Number.isFinite(raw) ? raw : k.dot(rowOf(sp), rowOf(sq), n);
      if (p === q) continue;
      const gpp = gAt(sp, sp);
      const gqq = gAt(sq, sq);
      const d2 = gpp + gqq - 2 * gAt(sp, sq);
      if (Number.isFinite(d2) && d2 > 0 && gpp + gqq <= trustRatio * d2) {
        cd2[idx] = d2;
      } else {
        cd2[idx] = k.sqDiff(rowOf(sp), rowOf(sq), n);
        stats.guardRecomputes++;
      }
    }
  }
  const m = res.m;
  for (let i = 0; i < m; i++) {
    const ci = cls[i]!;
    for (let j = i; j < m; j++) {
      const cj = cls[j]!;
      const p = ci <= cj ? ci : cj;
      const q = ci <= cj ? cj : ci;
      res.dot[i * m + j] += cdot[p * classes + q]!;
      if (j > i && p !== q) res.d2[i * m + j] += cd2[p * classes + q]!;
    }
  }
}

/**
 * Exact path for dtypes the float32 kernels cannot take (F64, integers, bool): decode to float64 in JS. Quantised
 * members of such a unit are dequantised to float32 by the kernels (exact in float64 too).
 */
function f64Item(item: WorkItem, chunkElements: number, k: Kernels, files: FileHandles, stats: { bytesRead: number }): ItemResult {
  const res = newResult(item);
  const m = res.m;
  const quantised = item.members.some(isQuantised);
  const kb = GRAM_BLOCK_COLUMNS;
  const C = quantised ? Math.max(kb, Math.ceil(Math.min(chunkElements, item.count) / kb) * kb) : Math.max(1, Math.min(chunkElements, item.count));
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
    for (let i = 0; i < m; i++) {
      const a = vals[i]!;
      for (let j = i; j < m; j++) {
        const b = vals[j]!;
        let d2 = 0;
        let dot = 0;
        for (let e = 0; e < n; e++) {
          const d = a[e]! - b[e]!;
          d2 += d * d;
          dot += a[e]! * b[e]!;
        }
        res.dot[i * m + j] += dot;
        if (j > i) res.d2[i * m + j] += d2;
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
function bytesOnlyItem(item: WorkItem, chunkBytes: number, files: FileHandles, stats: { bytesRead: number }): ItemResult {
  const res = newResult(item);
  res.undecodable = true;
  res.allZero.fill(0);
  res.fp8Grid.fill(0);
  res.d2.fill(NaN);
  res.dot.fill(NaN);
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
