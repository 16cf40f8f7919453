import { open, stat } from 'node:fs/promises';
import type { Checkpoint } from '../checkpoint';
import { ModeldiffError, toModeldiffError } from '../errors';
import { openSafetensors, sniffSafetensors } from './safetensors';

/** Extensions a model file may have; the format itself is always decided from content. */
export const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth', '.bin'];

/**
 * Opens a model file (or a diffusers folder) from its header only, whatever its extension says.
 * Errors name the file and say what is wrong with it.
 */
export async function openCheckpoint(path: string, signal?: AbortSignal): Promise<Checkpoint> {
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new ModeldiffError('NOT_A_MODEL', 'is a folder without model_index.json, not a model', { file: path });
    const head = await readHead(path, Math.min(st.size, 64));
    if (sniffSafetensors(head, st.size)) return await openSafetensors(path, signal);
    throw new ModeldiffError('FORMAT_UNKNOWN', unknownFormatMessage(head, st.size), { file: path, details: { head: hex(head.subarray(0, 16)) } });
  } catch (e) {
    throw toModeldiffError(e, path);
  }
}

async function readHead(path: string, length: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(length);
    const { bytesRead } = await fh.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function unknownFormatMessage(head: Uint8Array, size: number): string {
  if (size === 0) return 'the file is empty';
  if (size < 8) return `the file is only ${size} bytes long: it is truncated or not a model`;
  if (head[0] === 0x50 && head[1] === 0x4b) return 'is a zip archive but not a PyTorch checkpoint this version can read';
  if (head[0] === 0x80) return 'is a Python pickle; PyTorch pickles are not supported by this reader';
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (n > size) return `not a model: as safetensors its header would be ${n} bytes but the file has ${size} (truncated, or another format)`;
  return 'not a model file this tool can read (safetensors, PyTorch .ckpt/.pt/.bin, or a diffusers folder)';
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
