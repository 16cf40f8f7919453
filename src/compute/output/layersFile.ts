import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { ModeldiffError } from '../../shared/errors';
import { outputError } from './outputError';

/**
 * layers.bin: every pair's per-layer values in one binary file, so 232 models x 2515 keys stay compact.
 * Layout (little-endian): "MDLAYERS", u32 version = 1, u32 keys K, u32 pairs P, u32 planes, then for each plane,
 * for each key (rows in result.json `layers.keys` order), P float32 values (pair p = result.pairs[p]).
 * NaN means "no value": the key is missing in one model, shapes differ, or the values are not finite.
 */
const MAGIC = 'MDLAYERS';
const HEADER = 24;

export class LayersWriter {
  private fd: number;
  private written: Uint8Array;
  constructor(
    readonly path: string,
    readonly keys: number,
    readonly pairs: number,
    readonly planes: number,
    /** carry on writing a file an interrupted run left: these keys' rows are in it already */
    resume?: Uint8Array,
  ) {
    if (resume) {
      this.fd = this.io(() => openSync(path, 'r+'));
      this.written = resume.slice();
      return;
    }
    const h = Buffer.alloc(HEADER);
    h.write(MAGIC, 0, 'latin1');
    h.writeUInt32LE(1, 8);
    h.writeUInt32LE(keys, 12);
    h.writeUInt32LE(pairs, 16);
    h.writeUInt32LE(planes, 20);
    this.fd = this.io(() => openSync(path, 'w'));
    this.io(() => writeSync(this.fd, h, 0, HEADER, 0));
    this.written = new Uint8Array(keys);
  }

  writeRow(plane: number, key: number, values: Float32Array): void {
    const bytes = Buffer.from(values.buffer, values.byteOffset, this.pairs * 4);
    this.io(() => writeSync(this.fd, bytes, 0, bytes.length, HEADER + (plane * this.keys + key) * this.pairs * 4));
    if (plane === 0) this.written[key] = 1;
  }

  /** Every row written so far is on disk (before a checkpoint that counts on them is written). */
  sync(): void {
    this.io(() => fsyncSync(this.fd));
  }

  /** Fills the rows no unit produced (keys present in a single model) with NaN, then closes; a shard's file keeps
   *  only its own rows (`fill` false). */
  close(fill = true): void {
    const empty = new Float32Array(this.pairs).fill(NaN);
    try {
      if (fill) for (let k = 0; k < this.keys; k++) if (!this.written[k]) for (let p = 0; p < this.planes; p++) this.writeRow(p, k, empty);
    } finally {
      closeSync(this.fd);
    }
  }

  /** Stops writing after a failure elsewhere (the run's staging folder is removed with the file). */
  abandon(): void {
    closeSync(this.fd);
  }

  private io<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw outputError(e, this.path, 'write the per-layer values');
    }
  }
}

/** Reads one row (all pairs of one key in one plane) of a layers file with `keys` rows of `pairs` values. */
export function readLayerRow(fd: number, keys: number, pairs: number, plane: number, key: number): Float32Array {
  const row = new Float32Array(pairs);
  const bytes = new Uint8Array(row.buffer);
  const at = HEADER + (plane * keys + key) * pairs * 4;
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, bytes.length - done, at + done);
    if (n === 0) throw new ModeldiffError('USAGE', `a layers file ends before row ${key} of plane ${plane}`);
    done += n;
  }
  return row;
}

/** The keys, pairs and planes of a layers file (null: missing, or not a layers file). */
export function readLayersShape(path: string): { keys: number; pairs: number; planes: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const h = Buffer.alloc(HEADER);
    if (readSync(fd, h, 0, HEADER, 0) !== HEADER || h.toString('latin1', 0, 8) !== MAGIC || h.readUInt32LE(8) !== 1) return null;
    return { keys: h.readUInt32LE(12), pairs: h.readUInt32LE(16), planes: h.readUInt32LE(20) };
  } finally {
    closeSync(fd);
  }
}

/** Reads column `pair` of every key for each plane. */
export function readLayerColumn(path: string, pair: number): { keys: number; pairs: number; planes: Float32Array[] } {
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(HEADER);
    if (readSync(fd, h, 0, HEADER, 0) !== HEADER || h.toString('latin1', 0, 8) !== MAGIC || h.readUInt32LE(8) !== 1) {
      throw new ModeldiffError('USAGE', `${path} is not a modeldiff layers file`);
    }
    const keys = h.readUInt32LE(12);
    const pairs = h.readUInt32LE(16);
    const nPlanes = h.readUInt32LE(20);
    if (pair < 0 || pair >= pairs) throw new ModeldiffError('USAGE', `pair ${pair} is not in ${path} (it holds ${pairs} pairs)`);
    const planes: Float32Array[] = [];
    const cell = Buffer.alloc(4);
    for (let p = 0; p < nPlanes; p++) {
      const col = new Float32Array(keys);
      for (let k = 0; k < keys; k++) {
        readSync(fd, cell, 0, 4, HEADER + ((p * keys + k) * pairs + pair) * 4);
        col[k] = cell.readFloatLE(0);
      }
      planes.push(col);
    }
    return { keys, pairs, planes };
  } finally {
    closeSync(fd);
  }
}
