import { constants, existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint } from '../model/checkpoint';
import { ModeldiffError, toModeldiffError } from '../../shared/errors';
import { openRegularFile } from '../io/regularFile';
import { mapDiffusersTransformerFile, openDiffusers } from './diffusers/reader';
import { openGguf, sniffGguf } from './gguf/reader';
import { isTar, openPytorch, PYTORCH_SNIFF_BYTES, sniffPytorch, type OpenOptions } from './pytorch/reader';

export type { OpenOptions } from './pytorch/reader';
import { resolveQuantisation } from './safetensors/quantised';
import { openSafetensors, sniffSafetensors } from './safetensors/reader';

/** Extensions a model file may have; the format itself is always decided from content. */
export const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth', '.bin', '.gguf'];

/**
 * Opens a model file (or a diffusers folder) from its header only, whatever its extension says.
 * Errors name the file and say what is wrong with it.
 */
export async function openCheckpoint(path: string, signal?: AbortSignal, opts: OpenOptions = {}): Promise<Checkpoint> {
  try {
    const st = await stat(path);
    if (st.isDirectory()) {
      try {
        await access(path, constants.R_OK | constants.X_OK);
      } catch {
        throw new ModeldiffError('IO_ERROR', 'permission denied: the folder cannot be read', { file: path });
      }
      if (existsSync(join(path, 'model_index.json'))) return await openDiffusers(path, signal, opts);
      throw new ModeldiffError('NOT_A_MODEL', 'is a folder without model_index.json, not a model', { file: path });
    }
    const { head, size } = await readHead(path);
    const safetensors = sniffSafetensors(head, size);
    const pytorch = sniffPytorch(head);
    const gguf = sniffGguf(head);
    const formats = [safetensors && 'safetensors', pytorch && 'a PyTorch checkpoint', gguf && 'GGUF'].filter(Boolean);
    if (formats.length > 1) {
      throw new ModeldiffError('FORMAT_UNKNOWN', `reads both as ${formats.join(' and as ')}, so it is refused as ambiguous`, { file: path });
    }
    if (gguf) return mapDiffusersTransformerFile(await openGguf(path, signal));
    if (safetensors) return mapDiffusersTransformerFile(await resolveQuantisation(await openSafetensors(path, signal)));
    if (pytorch) return mapDiffusersTransformerFile(await openPytorch(path, signal, opts));
    if (path.toLowerCase().endsWith('.gguf') && size > 0) {
      throw new ModeldiffError('GGUF_BAD_MAGIC', 'has the .gguf extension but does not start with the GGUF magic bytes: it is damaged or not a GGUF file', {
        file: path,
        details: { head: hex(head.subarray(0, 16)) },
      });
    }
    throw new ModeldiffError('FORMAT_UNKNOWN', unknownFormatMessage(head, size), { file: path, details: { head: hex(head.subarray(0, 16)) } });
  } catch (e) {
    throw toModeldiffError(e, path);
  }
}

/** The first bytes of a regular file (anything else is refused here, before a reader could block on it). */
async function readHead(path: string): Promise<{ head: Uint8Array; size: number }> {
  const { handle, identity } = await openRegularFile(path);
  try {
    const buf = new Uint8Array(Math.min(identity.size, PYTORCH_SNIFF_BYTES));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return { head: buf.subarray(0, bytesRead), size: identity.size };
  } finally {
    await handle.close();
  }
}

const CONVERT = 'unpack or convert it to .safetensors or a PyTorch checkpoint first';

function unknownFormatMessage(head: Uint8Array, size: number): string {
  if (size === 0) return 'the file is empty';
  if (size < 8) return `the file is only ${size} bytes long: it is truncated or not a model`;
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x50, 0x4b)) return 'is a zip archive but not a PyTorch checkpoint this version can read';
  if (starts(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return `is a 7z archive, not a model: ${CONVERT}`;
  if (starts(0x1f, 0x8b)) return `is gzip-compressed, not a model: ${CONVERT}`;
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return `is xz-compressed, not a model: ${CONVERT}`;
  if (starts(0x42, 0x5a, 0x68)) return `is bzip2-compressed, not a model: ${CONVERT}`;
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return `is zstd-compressed, not a model: ${CONVERT}`;
  if (isTar(head)) return 'is a tar archive, not a model';
  if (head[0] === 0x80) return 'is a Python pickle but not a PyTorch checkpoint (it lacks the PyTorch magic number)';
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (n > size) return `not a model: as safetensors its header would be ${n} bytes but the file has ${size} (truncated, or another format)`;
  return 'not a model file this tool can read (safetensors, PyTorch .ckpt/.pt/.bin, GGUF, or a diffusers folder)';
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
