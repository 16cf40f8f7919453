import type { FileHandle } from 'node:fs/promises';
import type { Checkpoint } from '../../model/checkpoint';
import { openRegularFile } from '../../io/regularFile';
import { ModeldiffError, throwIfAborted, toModeldiffError } from '../../../shared/errors';
import { readRange } from '../../io/fileRange';
import { extractWeightsHint, isExtractableRefusal } from './extractWeights';
import { isLegacyMagic, openTorchLegacy } from './torchLegacy';
import { openTorchZip } from './torchZip';

export type PytorchKind = 'zip' | 'legacy' | 'legacy-tar';

/** Bytes of the head `sniffPytorch` needs to recognise every kind (a tar header is 512 bytes). */
export const PYTORCH_SNIFF_BYTES = 512;

/** Members of a PyTorch 0.1-0.3 tar checkpoint. */
const LEGACY_TAR_MEMBERS = new Set(['sys_info', 'pickle', 'storages', 'tensors']);

/**
 * Which PyTorch container a file is, from its first bytes: a zip (torch >= 1.6 checks the signature at offset 0),
 * the pre-1.6 pickle stream (the literal magic-number pickle), or the 0.1-0.3 tar.
 */
export function sniffPytorch(head: Uint8Array): PytorchKind | undefined {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (isLegacyMagic(head)) return 'legacy';
  if (isTar(head)) {
    const name = new TextDecoder('latin1').decode(head.subarray(0, 100)).replace(/\0.*$/s, '');
    if (LEGACY_TAR_MEMBERS.has(name)) return 'legacy-tar';
  }
  return undefined;
}

export function isTar(head: Uint8Array): boolean {
  return head.length >= 263 && head[257] === 0x75 && head[258] === 0x73 && head[259] === 0x74 && head[260] === 0x61 && head[261] === 0x72;
}

export interface OpenOptions {
  /**
   * Read checkpoints that pickle a few inert objects beside their weights (Lightning ModelCheckpoint, numpy scalars,
   * argparse.Namespace) by keeping those as data; nothing is ever executed either way. Default: refuse them.
   */
  extractWeights?: boolean;
}

/** Opens a PyTorch checkpoint (.ckpt/.pt/.pth/.bin) from its pickle and container structure only; nothing is executed. */
export async function openPytorch(path: string, signal?: AbortSignal, opts: OpenOptions = {}): Promise<Checkpoint> {
  throwIfAborted(signal);
  let handle: FileHandle | undefined;
  try {
    const opened = await openRegularFile(path);
    handle = opened.handle;
    const size = opened.identity.size;
    const head = await readRange(handle, 0, Math.min(size, PYTORCH_SNIFF_BYTES), path, 'IO_ERROR', 'the first bytes');
    const kind = sniffPytorch(head);
    switch (kind) {
      case 'zip':
      case 'legacy':
        return { ...(await readTorch(handle, kind, size, path, opts, signal)), files: [{ path, identity: opened.identity }] };
      case 'legacy-tar':
        throw new ModeldiffError(
          'PT_UNSUPPORTED',
          'is a PyTorch checkpoint in the legacy tar format (PyTorch 0.1 to 0.3), which this tool does not read: load it in a trusted environment and save it again with torch.save from PyTorch 1.6 or later, or convert it to safetensors',
          { file: path },
        );
      default:
        throw new ModeldiffError('FORMAT_UNKNOWN', 'is not a PyTorch checkpoint (neither a torch zip archive nor a legacy PyTorch pickle)', { file: path });
    }
  } catch (e) {
    throw toModeldiffError(e, path);
  } finally {
    await handle?.close();
  }
}

/**
 * Reads a zip or legacy checkpoint. When the default mode refuses a name that extract-weights mode admits, the file
 * is read that way too: if that is all that stops it, the refusal says how to opt in; if another global stops it,
 * that one is named (opting in would not help); any other failure leaves the refusal as it was, without the hint.
 */
async function readTorch(handle: FileHandle, kind: 'zip' | 'legacy', size: number, path: string, opts: OpenOptions, signal?: AbortSignal): Promise<Omit<Checkpoint, 'files'>> {
  const read = (extractWeights: boolean) =>
    kind === 'zip' ? openTorchZip(handle, size, path, signal, { extractWeights }) : openTorchLegacy(handle, size, path, signal, { extractWeights });
  try {
    return await read(opts.extractWeights === true);
  } catch (e) {
    if (opts.extractWeights || !isExtractableRefusal(e)) throw e;
    try {
      await read(true);
    } catch (other) {
      throw other instanceof ModeldiffError && (other.code === 'PT_UNSAFE_GLOBAL' || other.code === 'CANCELLED') ? other : e;
    }
    throw extractWeightsHint(e);
  }
}
