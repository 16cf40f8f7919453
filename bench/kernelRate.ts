// The engine's arithmetic at full speed, for the bench's "arithmetic floor": the direct pair pipeline of one chunk
// (fp16 decode of m rows, then per 4096-column canonical block: float64 row norms and pairBlock over the upper
// triangle), run in `threads` worker threads at once on data already in memory. GFLOP/s counts m(m+1)/2 x columns x 2,
// the upper triangle with its diagonal, as perf-probes.md does (the same count as the centred Gram it replaced, so the
// rates compare the work done for the user, not the operations the kernel spends on it).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createKernels } from '../src/compute/kernels';

const BLOCK = 4096;

interface Job {
  m: number;
  columns: number;
  seconds: number;
}

/** One thread's run: returns flop done and seconds spent. */
function run({ m, columns: C, seconds }: Job): { flop: number; seconds: number } {
  const k = createKernels('wasm');
  const raw = 0;
  const rows = raw + m * C * 2 + 64;
  const list = rows + (m + 1) * C * 4;
  const dStride = m + 1;
  const D = list + Math.ceil(((m + 4) * 4) / 16) * 16;
  const packed = D + dStride * dStride * 8;
  k.reserve(packed + (m + 1) * 512 * 4);
  const ii = new Int32Array(k.u8().buffer, list, m + 4);
  for (let i = 0; i < m + 4; i++) ii[i] = Math.min(i, m);
  const ni = Math.ceil(m / 4) * 4;
  // fp16 values in [-2, 2): random mantissas, exponents 0..15 (never inf/NaN)
  const u16 = new Uint16Array(k.u8().buffer, raw, m * C);
  let x = 12345;
  for (let i = 0; i < u16.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    u16[i] = (x >>> 16) & 0xbbff;
  }
  let flop = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let i = 0; i < m; i++) k.decodeF16(raw + i * C * 2, rows + i * C * 4, C);
    for (let col0 = 0; col0 < C; col0 += BLOCK) {
      const w = Math.min(BLOCK, C - col0);
      for (let i = 0; i < m; i++) k.dot(rows + (i * C + col0) * 4, rows + (i * C + col0) * 4, w);
      k.f64().fill(0, D / 8, D / 8 + dStride * dStride);
      k.pairBlock(rows, C, col0, Math.ceil(w / 4) * 4, m + 1, packed, list, ni, list, ni, 1, D, dStride);
    }
    flop += ((m * (m + 1)) / 2) * C * 2;
    t = performance.now();
  }
  return { flop, seconds: (t - t0) / 1000 };
}

if (!isMainThread) {
  parentPort!.once('message', () => parentPort!.postMessage(run(workerData as Job)));
}

/** GFLOP/s of `threads` threads running the pipeline together at m rows (best of `repeats` runs). */
export async function kernelRate(m: number, threads: number, opts: { columns?: number; seconds?: number; repeats?: number } = {}): Promise<number> {
  const job: Job = { m, columns: opts.columns ?? 2 * BLOCK, seconds: opts.seconds ?? 1.5 };
  let best = 0;
  for (let r = 0; r < (opts.repeats ?? 2); r++) {
    const workers = Array.from({ length: threads }, () => new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, { eval: true, workerData: job }));
    await Promise.all(workers.map((w) => new Promise((res) => w.once('online', res))));
    const results = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ flop: number; seconds: number }>((res, rej) => {
            w.once('message', res);
            w.once('error', rej);
            w.postMessage('go');
          }),
      ),
    );
    await Promise.all(workers.map((w) => w.terminate()));
    const rate = results.reduce((s, r) => s + r.flop, 0) / Math.max(...results.map((r) => r.seconds)) / 1e9;
    best = Math.max(best, rate);
  }
  return best;
}
