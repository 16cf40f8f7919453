/**
 * A dense matrix read row block by row block (the difference of a weight between two checkpoints), and the
 * quantities of LoRA deltas against it: <X, D> for several deltas in one pass over D, ||D||^2, and
 * ||D - sum_i s_i X_i||^2 computed directly. D is never held whole: at most `blockRows` rows at a time.
 */
import type { TensorRef } from '../model/checkpoint';
import { ModeldiffError } from '../../shared/errors';
import type { KeyDelta } from './deltas';
import { deltaRows, innerLowRankDense } from './inner';
import { FileHandles, readableAsF64, readF64 } from './io';
import { dot } from './linalg';
import { flat2 } from './parse';

export interface DenseRows {
  key: string;
  rows: number;
  cols: number;
  /** Rows [r0, r1) into out[0 .. (r1 - r0) * cols). */
  read(r0: number, r1: number, out: Float64Array): void;
}

/** Elements of D read at once, at most. */
const BLOCK_ELEMENTS = 1 << 18;

function blockRowsFor(cols: number): number {
  return Math.max(1, Math.floor(BLOCK_ELEMENTS / Math.max(1, cols)));
}

/** D = checkpoint - base on one key, exactly (float64 differences of decoded values). */
export function differenceRows(key: string, ckpt: TensorRef, base: TensorRef, files: FileHandles): DenseRows {
  if (ckpt.shape.join(',') !== base.shape.join(',')) {
    throw new ModeldiffError('USAGE', `${key} is [${ckpt.shape.join(', ')}] in the checkpoint but [${base.shape.join(', ')}] in the base`, { file: ckpt.file });
  }
  for (const r of [ckpt, base]) if (!readableAsF64(r)) throw new ModeldiffError('LORA_UNSUPPORTED', `${key} is stored as ${r.dtype}, which cannot be read as numbers here`, { file: r.file });
  const [rows, cols] = flat2(ckpt.shape);
  let tmp = new Float64Array(0);
  return {
    key,
    rows,
    cols,
    read(r0, r1, out) {
      const n = (r1 - r0) * cols;
      if (tmp.length < n) tmp = new Float64Array(n);
      readF64(files, ckpt, r0 * cols, n, out);
      readF64(files, base, r0 * cols, n, tmp);
      for (let i = 0; i < n; i++) out[i] = out[i]! - tmp[i]!;
    },
  };
}

export interface AgainstRows {
  /** <X_i, D> per delta */
  dots: Float64Array;
  /** ||D||^2 */
  norm2: number;
}

/** <X_i, D> for every delta and ||D||^2, in one pass over D; sums per row block, then over blocks. */
export function innerWithRows(deltas: readonly KeyDelta[], D: DenseRows): AgainstRows {
  const block = blockRowsFor(D.cols);
  const buf = new Float64Array(Math.min(D.rows, block) * D.cols);
  const dots = new Float64Array(deltas.length);
  let norm2 = 0;
  for (const x of deltas) if (x.rows !== D.rows || x.cols !== D.cols) throw new ModeldiffError('ENGINE_INTERNAL', `${D.key}: a delta of ${x.rows} x ${x.cols} against a difference of ${D.rows} x ${D.cols}`);
  for (let r0 = 0; r0 < D.rows; r0 += block) {
    const r1 = Math.min(D.rows, r0 + block);
    const n = r1 - r0;
    D.read(r0, r1, buf);
    let t = 0;
    for (let r = 0; r < n; r++) t += dot(buf, r * D.cols, buf, r * D.cols, D.cols);
    norm2 += t;
    deltas.forEach((x, i) => {
      let s = 0;
      if (x.lowRank) s += innerLowRankDense(x.lowRank, x.rows, x.cols, buf, r0, n);
      if (x.dense) for (let r = 0; r < n; r++) s += dot(x.dense, (r0 + r) * x.cols, buf, r * x.cols, x.cols);
      dots[i] += s;
    });
  }
  return { dots, norm2 };
}

/** ||D - sum_i s_i X_i||^2, computed from the residual itself, row block by row block. */
export function residualDirect(deltas: readonly KeyDelta[], strengths: readonly number[], D: DenseRows): number {
  const block = Math.min(blockRowsFor(D.cols), 64);
  const rowsBuf = new Float64Array(Math.min(D.rows, block) * D.cols);
  const xBuf = new Float64Array(rowsBuf.length);
  let s = 0;
  for (let r0 = 0; r0 < D.rows; r0 += block) {
    const r1 = Math.min(D.rows, r0 + block);
    const n = (r1 - r0) * D.cols;
    D.read(r0, r1, rowsBuf);
    deltas.forEach((x, i) => {
      const w = strengths[i]!;
      if (w === 0) return;
      deltaRows(x, r0, r1, xBuf);
      for (let e = 0; e < n; e++) rowsBuf[e] -= w * xBuf[e]!;
    });
    let t = 0;
    for (let r = 0; r < r1 - r0; r++) t += dot(rowsBuf, r * D.cols, rowsBuf, r * D.cols, D.cols);
    s += t;
  }
  return s;
}

export { FileHandles };
