// Worker side of the hostile-input sandbox: opens one file per message and reports what happened, as plain data.
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { ModeldiffError } from '../../src/shared/errors';
import { isQuantised, readQuantElements } from '../../src/compute/io/readQuant';
import { readTensorElements } from '../../src/compute/io/tensorBytes';
import { createKernels } from '../../src/compute/kernels';
import type { Kernels } from '../../src/compute/kernels/types';
import { dequantizeToF32, dequantScratchBytes } from '../../src/compute/quant/dequantize';
import { maxRawBytes } from '../../src/compute/quant/layout';
import { openCheckpoint } from '../../src/compute/readers/registry';

export interface SandboxRequest {
  id: number;
  path: string;
  /** Also read every tensor (up to 64 MiB each) and return a sha256 of its little-endian bytes (quantised ones are
   *  also dequantised by ranges, as the engine does, and the float32 values hashed with them). */
  readTensors: boolean;
  extractWeights: boolean;
}

const MAX_READ = 64 * 1024 * 1024;

const CHUNK = 4096;

function dequantiseInto(h: ReturnType<typeof createHash>, fd: number, t: Parameters<typeof readQuantElements>[1], k: Kernels): void {
  const dst = Math.ceil(maxRawBytes(t.quant, CHUNK) / 16) * 16;
  const scratch = dst + CHUNK * 4;
  k.reserve(scratch + dequantScratchBytes(t.quant, CHUNK));
  for (let start = 0; start < t.numel; start += CHUNK) {
    const n = Math.min(CHUNK, t.numel - start);
    readQuantElements(fd, t, start, n, k.u8(), 0);
    dequantizeToF32(k, t, 0, dst, start, n, scratch);
    h.update(k.u8().subarray(dst, dst + n * 4));
  }
}

parentPort!.on('message', async (req: SandboxRequest) => {
  try {
    const ckpt = await openCheckpoint(req.path, undefined, { extractWeights: req.extractWeights });
    const tensors = ckpt.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, strides: t.strides, numel: t.numel, sha256: undefined as string | undefined }));
    if (req.readTensors) {
      let kernels: Kernels | undefined;
      const fds = new Map<string, number>();
      try {
        ckpt.tensors.forEach((t, i) => {
          if (t.byteLength > MAX_READ) return;
          let fd = fds.get(t.file);
          if (fd === undefined) fds.set(t.file, (fd = openSync(t.file, 'r')));
          const buf = new Uint8Array(t.byteLength);
          readTensorElements(fd, t, 0, t.numel, buf, 0);
          const h = createHash('sha256').update(buf);
          if (isQuantised(t)) dequantiseInto(h, fd, t, (kernels ??= createKernels()));
          tensors[i]!.sha256 = h.digest('hex');
        });
      } finally {
        for (const fd of fds.values()) closeSync(fd);
      }
    }
    parentPort!.postMessage({ id: req.id, ok: true, format: ckpt.format, tensors, notes: ckpt.notes, metadata: { ...ckpt.metadata }, prototypeClean: Object.keys(Object.prototype).length === 0 });
  } catch (e) {
    const err = e as Error & { code?: string; file?: string };
    parentPort!.postMessage({
      id: req.id,
      ok: false,
      error: { modeldiff: e instanceof ModeldiffError, name: err?.name, code: err?.code, message: String(err?.message), file: err?.file, stack: err?.stack },
    });
  }
});
