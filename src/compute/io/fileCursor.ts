import type { FileHandle } from 'node:fs/promises';
import { ModeldiffError, type ErrorCode } from '../../shared/errors';

/** Bytes read ahead at a time when parsing a header of unknown length. */
const HEADER_WINDOW = 1 << 20;

/**
 * A forward cursor over a file for parsing variable-length headers: reads a window ahead, so most fields cost no
 * I/O, and never reads past the end of the file. Asking for bytes beyond the end is a `code` error saying the file
 * ends inside `what`. Skipping moves without reading, so the cost of a parse follows the bytes it looks at.
 */
export class FileCursor {
  pos = 0;
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly path: string,
    private readonly code: ErrorCode,
    /** bytes read ahead: large for a header parsed front to back, small for scattered small reads */
    private readonly window = HEADER_WINDOW,
  ) {}

  /** Bytes from the cursor to the end of the file. */
  get remaining(): number {
    return this.size - this.pos;
  }

  /** Makes [pos, pos + n) readable; `what` names the structure for the error when the file ends first. */
  async need(n: number, what: string): Promise<void> {
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    if (n > this.remaining) {
      throw new ModeldiffError(this.code, `the file ends inside ${what} (byte ${this.pos} of ${this.size}): it is truncated or damaged`, {
        file: this.path,
        details: { position: this.pos, needed: n, fileSize: this.size },
      });
    }
    const length = Math.min(Math.max(n, this.window), this.remaining);
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, this.pos + done);
      if (bytesRead === 0) {
        throw new ModeldiffError('IO_ERROR', 'the file got shorter while it was being read: try again once it is no longer being written', { file: this.path });
      }
      done += bytesRead;
    }
    this.buf = buf;
    this.view = new DataView(buf.buffer);
    this.bufStart = this.pos;
  }

  skip(n: number): void {
    this.pos += n;
  }

  private at(n: number): number {
    const i = this.pos - this.bufStart;
    this.pos += n;
    return i;
  }

  u8(): number {
    return this.buf[this.at(1)]!;
  }
  i8(): number {
    return this.view.getInt8(this.at(1));
  }
  u16(): number {
    return this.view.getUint16(this.at(2), true);
  }
  i16(): number {
    return this.view.getInt16(this.at(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.at(4), true);
  }
  f32(): number {
    return this.view.getFloat32(this.at(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.at(8), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.at(8), true);
  }
  i64(): bigint {
    return this.view.getBigInt64(this.at(8), true);
  }
  bytes(n: number): Uint8Array {
    const i = this.at(n);
    return this.buf.subarray(i, i + n);
  }
}
