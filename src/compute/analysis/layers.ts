/**
 * Reading layers.bin (format: output/layersFile.ts) for the analyses: whole rows (one key, every pair) and
 * columns of a chosen set of pairs, with as few reads as the layout allows.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ModeldiffError } from '../../shared/errors';
import { readResult } from '../output/resultFiles';
import type { CompareResult } from '../../shared/result';

const MAGIC = 'MDLAYERS';
const HEADER = 24;

/** A compare output: its folder (for layers.bin) and its parsed result.json. */
export interface ResultSource {
  dir: string;
  result: CompareResult;
}

export function openSource(src: string | ResultSource): ResultSource {
  return typeof src === 'string' ? { dir: src, result: readResult(src) } : src;
}

export class LayersReader {
  readonly keys: number;
  readonly pairs: number;
  readonly planes: number;
  private fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    const h = Buffer.alloc(HEADER);
    if (readSync(this.fd, h, 0, HEADER, 0) !== HEADER || h.toString('latin1', 0, 8) !== MAGIC || h.readUInt32LE(8) !== 1) {
      closeSync(this.fd);
      throw new ModeldiffError('USAGE', `${path} is not a modeldiff layers file`);
    }
    this.keys = h.readUInt32LE(12);
    this.pairs = h.readUInt32LE(16);
    this.planes = h.readUInt32LE(20);
  }

  static of(src: ResultSource): LayersReader {
    const r = new LayersReader(join(src.dir, src.result.layers.file));
    if (r.keys !== src.result.layers.keys.length || r.pairs !== src.result.pairs.length) {
      r.close();
      throw new ModeldiffError('USAGE', `${r.path} does not belong to the result.json beside it (${r.keys} keys x ${r.pairs} pairs)`);
    }
    return r;
  }

  private read(buf: Uint8Array, position: number): void {
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, position + done);
      if (n === 0) throw new ModeldiffError('IO_ERROR', `${this.path} is truncated`);
      done += n;
    }
  }

  private offset(plane: number, key: number, pair: number): number {
    return HEADER + ((plane * this.keys + key) * this.pairs + pair) * 4;
  }

  /** Every pair's value of one key (NaN: no value). */
  readRow(plane: number, key: number, out = new Float32Array(this.pairs)): Float32Array {
    this.read(new Uint8Array(out.buffer, out.byteOffset, this.pairs * 4), this.offset(plane, key, 0));
    return out;
  }

  /**
   * Columns of the given pairs: result[i][k] = value of key k for pairs[i]. Reads the span between the smallest and
   * largest pair of each row when it is short, single cells when the pairs are few and far apart, whole rows otherwise.
   */
  readColumns(plane: number, pairs: readonly number[]): Float32Array[] {
    const cols = pairs.map(() => new Float32Array(this.keys));
    if (pairs.length === 0) return cols;
    for (const p of pairs) if (p < 0 || p >= this.pairs) throw new ModeldiffError('USAGE', `pair ${p} is not in ${this.path}`);
    const lo = Math.min(...pairs);
    const hi = Math.max(...pairs);
    const span = hi - lo + 1;
    const mode = span <= 16384 ? 'span' : pairs.length <= 64 ? 'cells' : 'span';
    const buf = new Float32Array(mode === 'span' ? span : 1);
    const bytes = new Uint8Array(buf.buffer);
    for (let k = 0; k < this.keys; k++) {
      if (mode === 'span') {
        this.read(bytes, this.offset(plane, k, lo));
        pairs.forEach((p, i) => (cols[i]![k] = buf[p - lo]!));
      } else {
        pairs.forEach((p, i) => {
          this.read(bytes, this.offset(plane, k, p));
          cols[i]![k] = buf[0]!;
        });
      }
    }
    return cols;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Runs `fn` with a reader of the source's layers.bin and closes it. */
export function withLayers<T>(src: ResultSource, fn: (r: LayersReader) => T): T {
  const r = LayersReader.of(src);
  try {
    return fn(r);
  } finally {
    r.close();
  }
}
