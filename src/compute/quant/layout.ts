/**
 * Which bytes a range of elements of a quantised tensor needs, and where they sit once read: the codes first, then
 * (bitsandbytes) the absmax entries of the blocks touched, then the nested absmax entries. The reader and the
 * dequantisers share this one description of the "raw" buffer of a range.
 */
import type { TensorRef } from '../model/checkpoint';
import type { Bnb4bitEncoding, QuantEncoding } from './encoding';

export interface RawPart {
  /** absolute file offset */
  offset: number;
  byteLength: number;
}

export interface RawLayout {
  parts: RawPart[];
  /** bytes of the raw buffer (sum of the parts, packed in order) */
  byteLength: number;
  /** of which the tensor's own codes (the rest is auxiliary data) */
  codeBytes: number;
}

/** Elements a range must start on (and, unless it ends the tensor, be a multiple of). */
export function rangeAlignment(q: QuantEncoding): number {
  switch (q.scheme) {
    case 'ggml':
      return q.blockElements;
    case 'scaled-fp8':
      return 1;
    case 'bnb-4bit':
      return 2;
  }
}

/** The raw layout of elements [start, start + count) of `ref`; throws on a range that breaks the alignment. */
export function rawLayout(ref: TensorRef & { quant: QuantEncoding }, start: number, count: number): RawLayout {
  const q = ref.quant;
  const align = rangeAlignment(q);
  if (start < 0 || count < 0 || start + count > ref.numel || start % align !== 0 || (count % align !== 0 && start + count !== ref.numel)) {
    throw new RangeError(`elements [${start}, ${start + count}) of "${ref.name}" are not a ${q.scheme} range (${ref.numel} elements, alignment ${align})`);
  }
  if (count === 0) return { parts: [], byteLength: 0, codeBytes: 0 };
  switch (q.scheme) {
    case 'ggml': {
      const len = Math.ceil(count / q.blockElements) * q.blockBytes;
      return single(ref.offset + (start / q.blockElements) * q.blockBytes, len);
    }
    case 'scaled-fp8':
      return single(ref.offset + start, count);
    case 'bnb-4bit':
      return bnbLayout(ref.offset, q, start, count);
  }
}

function single(offset: number, byteLength: number): RawLayout {
  return { parts: [{ offset, byteLength }], byteLength, codeBytes: byteLength };
}

export interface BnbBlocks {
  /** first and one-past-last absmax block touched */
  b0: number;
  b1: number;
  /** the same for nested blocks (0, 0 when not nested) */
  n0: number;
  n1: number;
  absmaxBytesPerBlock: number;
}

export function bnbBlocks(q: Bnb4bitEncoding, start: number, count: number): BnbBlocks {
  const b0 = Math.floor(start / q.blockElements);
  const b1 = Math.floor((start + count - 1) / q.blockElements) + 1;
  const n0 = q.nested ? Math.floor(b0 / q.nested.blockElements) : 0;
  const n1 = q.nested ? Math.floor((b1 - 1) / q.nested.blockElements) + 1 : 0;
  return { b0, b1, n0, n1, absmaxBytesPerBlock: q.nested ? 1 : 4 };
}

function bnbLayout(offset: number, q: Bnb4bitEncoding, start: number, count: number): RawLayout {
  const codeFrom = start / 2;
  const codeBytes = Math.ceil((start + count) / 2) - codeFrom;
  const { b0, b1, n0, n1, absmaxBytesPerBlock } = bnbBlocks(q, start, count);
  const parts: RawPart[] = [
    { offset: offset + codeFrom, byteLength: codeBytes },
    { offset: q.absmax.offset + b0 * absmaxBytesPerBlock, byteLength: (b1 - b0) * absmaxBytesPerBlock },
  ];
  if (q.nested) parts.push({ offset: q.nested.absmax.offset + n0 * 4, byteLength: (n1 - n0) * 4 });
  return { parts, byteLength: parts.reduce((s, p) => s + p.byteLength, 0), codeBytes };
}

/** File ranges outside the tensor's own bytes that its values depend on (bitsandbytes absmax). */
export function auxRanges(q: QuantEncoding): RawPart[] {
  if (q.scheme !== 'bnb-4bit') return [];
  return q.nested ? [q.absmax, q.nested.absmax] : [q.absmax];
}

/** The most raw bytes `count` elements can need (for sizing buffers). */
export function maxRawBytes(q: QuantEncoding, count: number): number {
  switch (q.scheme) {
    case 'ggml':
      return (Math.ceil(count / q.blockElements) + 1) * q.blockBytes;
    case 'scaled-fp8':
      return count;
    case 'bnb-4bit': {
      const blocks = Math.ceil(count / q.blockElements) + 1;
      return Math.ceil(count / 2) + 1 + blocks * (q.nested ? 1 : 4) + (q.nested ? (Math.ceil(blocks / q.nested.blockElements) + 1) * 4 : 0);
    }
  }
}
