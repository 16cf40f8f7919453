import type { TensorRef } from '../model/checkpoint';
import { bytesPerElement } from '../model/dtypes';
import { isQuantised, readQuantElements } from '../io/readQuant';
import { readTensorElements } from '../io/tensorBytes';
import type { Kernels } from '../kernels/types';
import { dequantizeToF32, dequantScratchBytes } from '../quant/dequantize';
import { quantIdentity } from '../quant/encoding';
import { maxRawBytes } from '../quant/layout';
import { decodeToF32, F32_DTYPES } from './decodeF32';
import { decodableToF64 } from './decodeF64';

/**
 * How the engine reads one member of a unit chunk by chunk, whether its dtype is plain or quantised: the raw bytes
 * of a range go into a slot of the kernels' memory (compared for bit identity), then decode to float32.
 * A quantised member's slot also holds the dequantiser's scratch, after its raw bytes.
 */

/** The member's values reach float32 exactly: a float32-exact dtype, or a quantised tensor. */
export function decodesToF32(r: TensorRef): boolean {
  return F32_DTYPES.has(r.dtype) || isQuantised(r);
}

/**
 * How runTask computes an item, decided by all its members together (the same test as runTask's dispatch): the direct
 * pair kernel when every member decodes to float32 exactly, an exact float64 path when every member decodes at all,
 * else byte identity only. A pair's bits differ between the routes, so a run that reuses kept pairs checks that new
 * members leave a unit on its route (pipeline/incremental.ts).
 */
export function itemRoute(members: readonly TensorRef[]): 'pair' | 'f64' | 'bytes' {
  if (members.every(decodesToF32)) return 'pair';
  return members.every((r) => decodableToF64(r.dtype) || isQuantised(r)) ? 'f64' : 'bytes';
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Bytes of kernel memory a member needs for a chunk of `chunk` elements (16-byte multiple). */
export function slotBytes(r: TensorRef, chunk: number): number {
  if (!isQuantised(r)) return align16(chunk * (bytesPerElement(r.dtype) ?? 8));
  return align16(maxRawBytes(r.quant, chunk)) + dequantScratchBytes(r.quant, chunk);
}

/** Members with equal keys whose ranges read equal bytes hold bit-identical values there. */
export function identityKey(r: TensorRef): string {
  return isQuantised(r) ? `${r.dtype}:${quantIdentity(r.quant)}` : r.dtype;
}

/** Reads elements [start, start+n) raw into u8 at `slot`: `length` bytes to compare, `bytesRead` of the tensor's own bytes. */
export function readMember(fd: number, r: TensorRef, start: number, n: number, u8: Uint8Array, slot: number): { length: number; bytesRead: number } {
  if (isQuantised(r)) {
    const { rawBytes, codeBytes } = readQuantElements(fd, r, start, n, u8, slot);
    return { length: rawBytes, bytesRead: codeBytes };
  }
  const bytes = readTensorElements(fd, r, start, n, u8, slot);
  return { length: bytes, bytesRead: bytes };
}

/** Decodes a member's raw range (read by readMember into a slot sized for `chunk`) into float32 at dst. */
export function decodeMember(k: Kernels, r: TensorRef, slot: number, dst: number, start: number, n: number, chunk: number): void {
  if (!isQuantised(r)) return decodeToF32(k, r.dtype, slot, dst, n);
  dequantizeToF32(k, r, slot, dst, start, n, slot + align16(maxRawBytes(r.quant, chunk)));
}
