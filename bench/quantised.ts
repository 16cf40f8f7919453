// Throughput of the dequantisers (TypeScript reference vs WebAssembly) and the cost of comparing quantised copies
// of a folder against the same folder in F16.
//   node --import tsx bench/quantised.ts   (BENCH_QUANT_MIB: F16 size of each folder model, default 16;
//                                           BENCH_QUANT_WORKERS: worker threads, default 0 = in this thread)
// Figures go into the closing note of the quantisation issue; speed goals are checked here, never in unit tests.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareModels } from '../src/compute';
import { createReferenceKernels } from '../src/compute/kernels/reference';
import type { Kernels } from '../src/compute/kernels/types';
import { createWasmKernels } from '../src/compute/kernels/wasm';
import { GGML_QUANT_TYPES, ggmlQuantInfo } from '../src/compute/quant/ggmlTypes';
import { NF4_TABLE } from '../src/compute/quant/dequantRef';
import { dimsOf, writeGguf } from '../test/fixtures/ggufWriter';
import { quantiseGgml, type GgmlFixtureType } from '../test/fixtures/quantise';
import { writeBnb4bit, writeScaledFp8, type SourceTensor } from '../test/fixtures/quantisedSafetensors';
import { encode, writeSafetensors } from '../test/fixtures/safetensorsWriter';

const ELEMENTS = 1 << 20;

function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 2654435761) >>> 24;
  // finite scales: clear the top exponent bit of every byte pair (f16 scales stay below 2^0)
  for (let i = 1; i < n; i += 2) b[i] &= 0x3b;
  return b;
}

/** Best of 3 runs, in seconds. */
function time(f: () => void): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

function kernelRow(name: string, storedBytes: number, elements: number, run: (k: Kernels) => void, setup: (k: Kernels) => void): string {
  const per = (k: Kernels) => {
    setup(k);
    return time(() => run(k));
  };
  const js = per(createReferenceKernels());
  const wasm = per(createWasmKernels());
  const mb = (s: number) => (storedBytes / s / 1e6).toFixed(0).padStart(6);
  const out = (s: number) => ((elements * 4) / s / 1e6).toFixed(0).padStart(6);
  return `${name.padEnd(16)} ${mb(js)} ${mb(wasm)}   ${out(js)} ${out(wasm)}   ${(js / wasm).toFixed(1).padStart(5)}x`;
}

function kernels(): void {
  console.log(`dequantisers, ${ELEMENTS} elements (MB/s of stored bytes | MB/s of float32 out; JS reference vs WebAssembly)`);
  console.log(`${'type'.padEnd(16)} ${'JS'.padStart(6)} ${'WASM'.padStart(6)}   ${'JS'.padStart(6)} ${'WASM'.padStart(6)}   speed-up`);
  const dst = 64 << 20;
  const rows: string[] = [];
  const plain = (name: string, bytesPer: number, run: (k: Kernels, n: number) => void) =>
    rows.push(kernelRow(name, ELEMENTS * bytesPer, ELEMENTS, (k) => run(k, ELEMENTS), (k) => (k.reserve(dst + ELEMENTS * 4), k.u8().set(random(ELEMENTS * bytesPer), 0))));
  plain('F16 (baseline)', 2, (k, n) => k.decodeF16(0, dst, n));
  plain('BF16', 2, (k, n) => k.decodeBF16(0, dst, n));
  plain('F8_E4M3', 1, (k, n) => k.decodeF8E4M3(0, dst, n));
  plain('F8_E4M3 x scale', 1, (k, n) => k.decodeF8E4M3Scaled(0, dst, n, 0.0123));
  plain('F8_E5M2 x scale', 1, (k, n) => k.decodeF8E5M2Scaled(0, dst, n, 0.0123));
  for (const type of GGML_QUANT_TYPES) {
    const { blockElements, blockBytes } = ggmlQuantInfo(type);
    const blocks = ELEMENTS / blockElements;
    rows.push(kernelRow(type, blocks * blockBytes, ELEMENTS, (k) => k.dequantGgml(type, 0, dst, blocks), (k) => (k.reserve(dst + ELEMENTS * 4), k.u8().set(random(blocks * blockBytes), 0))));
  }
  const table = dst - 1024;
  const absmax = dst - 1024 * 1024;
  rows.push(
    kernelRow('NF4 -> bf16', ELEMENTS / 2 + (ELEMENTS / 64) * 4, ELEMENTS, (k) => k.dequant4bit(0, table, absmax, dst, ELEMENTS, 0, 6, 2), (k) => {
      k.reserve(dst + ELEMENTS * 4);
      k.u8().set(random(ELEMENTS / 2), 0);
      k.f32().set(NF4_TABLE, table / 4);
      k.f32().fill(0.01, absmax / 4, absmax / 4 + ELEMENTS / 64);
    }),
  );
  for (const r of rows) console.log(r);
}

async function folders(): Promise<void> {
  const mib = Number(process.env.BENCH_QUANT_MIB ?? 16);
  const dir = mkdtempSync(join(tmpdir(), 'modeldiff-bench-quant-'));
  try {
    // 4 models per folder: a base and three fine-tunes; weights [rows, 3072]
    const rows = Math.max(1, Math.round((mib * 2 ** 20) / 2 / 3072 / 8)) * 8;
    const layers = 8;
    const model = (seed: number): SourceTensor[] =>
      Array.from({ length: layers }, (_, l) => ({
        name: `model.diffusion_model.blocks.${l}.weight`,
        shape: [rows / layers, 3072],
        values: Float32Array.from({ length: (rows / layers) * 3072 }, (_, i) => 0.02 * Math.sin(i * 0.001 * (l + 1) + seed)),
      }));
    const sets: Record<string, (path: string, m: SourceTensor[]) => void> = {
      F16: (p, m) => writeSafetensors(p, m.map((t) => ({ name: t.name, dtype: 'F16', shape: t.shape, data: () => encode('F16', Array.from(t.values)) }))),
      'scaled fp8': (p, m) => writeScaledFp8(p, m, 'scale_weight'),
      NF4: (p, m) => writeBnb4bit(p, m),
      ...Object.fromEntries(
        (['Q8_0', 'Q4_K', 'Q6_K'] as GgmlFixtureType[]).map((type) => [
          `GGUF ${type}`,
          (p: string, m: SourceTensor[]) => writeGguf(p, { tensors: m.map((t) => ({ name: t.name, type, dims: dimsOf(t.shape), data: quantiseGgml(type, t.values) })) }),
        ]),
      ),
    };
    const workers = Number(process.env.BENCH_QUANT_WORKERS ?? 0);
    console.log(`\ncomparing 4 models of ${rows} x 3072 weights (${((rows * 3072 * 2) / 2 ** 20).toFixed(0)} MiB in F16), ${workers ? `${workers} workers` : 'in one thread'}, best of 3:`);
    let f16 = 0;
    for (const [name, write] of Object.entries(sets)) {
      const folder = join(dir, name.replace(/\W/g, '_'));
      mkdirSync(folder);
      for (let s = 0; s < 4; s++) write(join(folder, `m${s}${name.startsWith('GGUF') ? '.gguf' : '.safetensors'}`), model(s));
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        await compareModels([folder], { outDir: join(dir, `out-${r}`), workers });
        best = Math.min(best, (performance.now() - t0) / 1000);
      }
      if (name === 'F16') f16 = best;
      console.log(`  ${name.padEnd(12)} ${best.toFixed(2)} s   ${(best / f16).toFixed(2)}x F16`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

kernels();
void folders();
