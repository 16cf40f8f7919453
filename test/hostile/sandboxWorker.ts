// Worker side of the hostile-input sandbox: opens one file per message and reports what happened, as plain data.
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { ModeldiffError } from '../../src/shared/errors';
import { readTensorElements } from '../../src/compute/io/tensorBytes';
import { openCheckpoint } from '../../src/compute/readers/registry';

export interface SandboxRequest {
  id: number;
  path: string;
  /** Also read every tensor (up to 64 MiB each) and return a sha256 of its little-endian bytes. */
  readTensors: boolean;
  extractWeights: boolean;
}

const MAX_READ = 64 * 1024 * 1024;

parentPort!.on('message', async (req: SandboxRequest) => {
  try {
    const ckpt = await openCheckpoint(req.path, undefined, { extractWeights: req.extractWeights });
    const tensors = ckpt.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, strides: t.strides, numel: t.numel, sha256: undefined as string | undefined }));
    if (req.readTensors) {
      const fds = new Map<string, number>();
      try {
        ckpt.tensors.forEach((t, i) => {
          if (t.byteLength > MAX_READ) return;
          let fd = fds.get(t.file);
          if (fd === undefined) fds.set(t.file, (fd = openSync(t.file, 'r')));
          const buf = new Uint8Array(t.byteLength);
          readTensorElements(fd, t, 0, t.numel, buf, 0);
          tensors[i]!.sha256 = createHash('sha256').update(buf).digest('hex');
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
