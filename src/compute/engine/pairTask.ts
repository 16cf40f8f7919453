import type { TensorRef } from '../model/checkpoint';
import { readTensorElements } from '../io/tensorBytes';
import type { Kernels } from '../kernels/types';
import { decodableToF64, decodeToF64 } from './decodeF64';
import { isQuantised } from '../io/readQuant';
import { FileHandles } from '../io/fileHandles';
import { decodeMember, decodesToF32, readMember, slotBytes } from './members';
import { GRAM_BLOCK_COLUMNS } from './workTask';

/** The drill-down of one pair: metrics a Gram matrix cannot give (L1, changed elements, max |a-b|), per key. */
export interface PairTask {
  kind: 'pair';
  items: { key: string; a: TensorRef; b: TensorRef }[];
  chunkElements: number;
  kernels: 'wasm' | 'reference';
}

export interface PairKeyStats {
  key: string;
  elements: number;
  l2sq: number;
  l1: number;
  /** elements whose values differ (NaN counts as differing) */
  l0: number;
  maxAbs: number;
  dot: number;
  na: number;
  nb: number;
}

export function runPairTask(task: PairTask, k: Kernels): { keys: PairKeyStats[]; bytesRead: number } {
  const files = new FileHandles();
  const fd = (p: string) => files.get(p);
  let bytesRead = 0;
  try {
    const keys = task.items.map(({ key, a, b }) => {
      const s: PairKeyStats = { key, elements: a.numel, l2sq: 0, l1: 0, l0: 0, maxAbs: 0, dot: 0, na: 0, nb: 0 };
      const gram = decodesToF32(a) && decodesToF32(b);
      if (!gram && !(decodableToF64(a.dtype) && decodableToF64(b.dtype))) {
        s.l2sq = s.l1 = s.maxAbs = s.dot = s.na = s.nb = NaN;
        return s;
      }
      // quantised ranges start on whole blocks: chunks are multiples of 512 elements then
      const quantised = isQuantised(a) || isQuantised(b);
      const kb = GRAM_BLOCK_COLUMNS;
      const C = quantised ? Math.max(kb, Math.floor(Math.min(task.chunkElements, a.numel) / kb) * kb) : Math.max(1, Math.min(task.chunkElements, a.numel));
      const rawA = 0;
      const rawB = gram ? slotBytes(a, C) : 0;
      const rowA = rawB + (gram ? slotBytes(b, C) : 0);
      const rowB = rowA + C * 4;
      const out = rowB + C * 4;
      if (gram) k.reserve(out + 64);
      const bufA = gram ? undefined : new Uint8Array(C * 8);
      const bufB = gram ? undefined : new Uint8Array(C * 8);
      const va = new Float64Array(gram ? 0 : C);
      const vb = new Float64Array(gram ? 0 : C);
      for (let start = 0; start < a.numel; start += C) {
        const n = Math.min(C, a.numel - start);
        if (gram) {
          const u8 = k.u8();
          bytesRead += readMember(fd(a.file), a, start, n, u8, rawA).bytesRead;
          bytesRead += readMember(fd(b.file), b, start, n, u8, rawB).bytesRead;
          decodeMember(k, a, rawA, rowA, start, n, C);
          decodeMember(k, b, rawB, rowB, start, n, C);
          k.pairStats(rowA, rowB, n, out);
          const r = k.f64().subarray(out / 8, out / 8 + 7);
          s.l2sq += r[0]!;
          s.l1 += r[1]!;
          s.l0 += r[2]!;
          s.maxAbs = Math.max(s.maxAbs, r[3]!);
          s.dot += r[4]!;
          s.na += r[5]!;
          s.nb += r[6]!;
        } else {
          bytesRead += readTensorElements(fd(a.file), a, start, n, bufA!, 0);
          bytesRead += readTensorElements(fd(b.file), b, start, n, bufB!, 0);
          decodeToF64(a.dtype, bufA!, n, va);
          decodeToF64(b.dtype, bufB!, n, vb);
          for (let e = 0; e < n; e++) {
            const x = va[e]!;
            const y = vb[e]!;
            const d = x - y;
            s.l2sq += d * d;
            s.l1 += Math.abs(d);
            if (!(x === y)) s.l0++;
            if (Math.abs(d) > s.maxAbs) s.maxAbs = Math.abs(d);
            s.dot += x * y;
            s.na += x * x;
            s.nb += y * y;
          }
        }
      }
      return s;
    });
    return { keys, bytesRead };
  } finally {
    files.closeAll();
  }
}
