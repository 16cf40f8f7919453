import { setFlagsFromString } from 'node:v8';
import { ModeldiffError } from '../../shared/errors';
import type { GgmlQuantType } from '../quant/encoding';
import type { Kernels } from './types';
import { type EmbeddedWasm, WASM_SIMD, WASM_SIMD_FMA } from './wasm/generated';

/**
 * The WebAssembly SIMD kernels (source: wasm/assembly/kernels.ts, embedded by scripts/build-wasm.mjs).
 *
 * Two builds exist: 'wasm-simd-fma' fuses the float32 multiply-adds of pairBlock (relaxed SIMD, about 1.2x
 * faster there) and 'wasm-simd' does not; the two round differently, so their results differ in the last bits.
 * The default picks the fused build when the runtime accepts it. Node 20 accepts relaxed SIMD only behind a V8 flag,
 * which is set here, process-wide, the first time it is needed; later runtimes ship it and no flag is touched.
 *
 * Modules are compiled once per thread; every call returns a new instance with its own (non-shared) memory of up to
 * 4 GiB, starting empty. The module keeps no data in that memory: all of it, from address 0, is the caller's.
 */
export type WasmVariant = 'auto' | 'wasm-simd' | 'wasm-simd-fma';

export function createWasmKernels(variant: WasmVariant = 'auto'): Kernels {
  const chosen = variant === 'auto' ? (relaxedSimdAvailable() ? 'wasm-simd-fma' : 'wasm-simd') : variant;
  const module = compiled(chosen);
  const exports = new wasm!.Instance(module, {}).exports as KernelExports;
  return bind(chosen, exports);
}

/** Whether the fused (relaxed SIMD) build can run here; sets the V8 flag on Node 20 if that makes it possible. */
export function relaxedSimdAvailable(): boolean {
  if (relaxedSimd === undefined) {
    const binary = binaryOf('wasm-simd-fma');
    let ok = simdAvailable() && wasm!.validate(binary);
    if (!ok && simdAvailable()) {
      try {
        setFlagsFromString('--experimental-wasm-relaxed-simd');
        ok = wasm!.validate(binary);
      } catch {
        ok = false;
      }
    }
    relaxedSimd = ok;
  }
  return relaxedSimd;
}

/** The part of the WebAssembly JS API used here (the project's lib settings carry no WebAssembly types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
type WasmModule = { readonly __brand: 'WebAssembly.Module' };
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface KernelExports {
  readonly memory: WasmMemory;
  decodeF16(src: number, dst: number, n: number): void;
  decodeBF16(src: number, dst: number, n: number): void;
  decodeF8E4M3(src: number, dst: number, n: number): void;
  decodeF8E5M2(src: number, dst: number, n: number): void;
  dequantQ4_0(src: number, dst: number, nBlocks: number): void;
  dequantQ4_1(src: number, dst: number, nBlocks: number): void;
  dequantQ5_0(src: number, dst: number, nBlocks: number): void;
  dequantQ5_1(src: number, dst: number, nBlocks: number): void;
  dequantQ8_0(src: number, dst: number, nBlocks: number): void;
  dequantQ2_K(src: number, dst: number, nBlocks: number): void;
  dequantQ3_K(src: number, dst: number, nBlocks: number): void;
  dequantQ4_K(src: number, dst: number, nBlocks: number): void;
  dequantQ5_K(src: number, dst: number, nBlocks: number): void;
  dequantQ6_K(src: number, dst: number, nBlocks: number): void;
  decodeF8E4M3Scaled(src: number, dst: number, n: number, scale: number): void;
  decodeF8E5M2Scaled(src: number, dst: number, n: number, scale: number): void;
  dequant4bit(src: number, table: number, absmax: number, dst: number, n: number, phase: number, blockShift: number, out: number): void;
  pairBlock(rows: number, stride: number, col0: number, n: number, nRows: number, packed: number, II: number, ni: number, JJ: number, nj: number, tri: number, D: number, dStride: number): void;
  sqDiff(a: number, b: number, n: number): number;
  dot(a: number, b: number, n: number): number;
  pairStats(a: number, b: number, n: number, out: number): void;
  rowProductsF64(A: number, m: number, B: number, n: number, len: number, C: number, ldc: number, upper: number): void;
}

type Build = 'wasm-simd' | 'wasm-simd-fma';

const EMBEDDED: Record<Build, EmbeddedWasm> = { 'wasm-simd': WASM_SIMD, 'wasm-simd-fma': WASM_SIMD_FMA };
const PAGE = 65536;
const MAX_PAGES = 65536;
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
const modules = new Map<Build, WasmModule>();
const binaries = new Map<Build, Uint8Array>();
let relaxedSimd: boolean | undefined;
let simd: boolean | undefined;

function binaryOf(build: Build): Uint8Array {
  let b = binaries.get(build);
  if (!b) {
    b = new Uint8Array(Buffer.from(EMBEDDED[build].base64, 'base64'));
    binaries.set(build, b);
  }
  return b;
}

function simdAvailable(): boolean {
  if (simd === undefined) simd = wasm !== undefined && wasm.validate(binaryOf('wasm-simd'));
  return simd;
}

function compiled(build: Build): WasmModule {
  let module = modules.get(build);
  if (module) return module;
  const available = build === 'wasm-simd' ? simdAvailable() : relaxedSimdAvailable();
  if (!available) {
    const what = build === 'wasm-simd' ? 'WebAssembly SIMD' : 'WebAssembly relaxed SIMD';
    throw new ModeldiffError('WASM_UNAVAILABLE', `${what} is not available in this runtime`, {
      details: { build, node: process.versions.node, v8: process.versions.v8 },
    });
  }
  module = new wasm!.Module(binaryOf(build));
  modules.set(build, module);
  return module;
}

function bind(name: Build, e: KernelExports): Kernels {
  const memory = e.memory;
  const ggml: Record<GgmlQuantType, (src: number, dst: number, nBlocks: number) => void> = {
    Q4_0: e.dequantQ4_0,
    Q4_1: e.dequantQ4_1,
    Q5_0: e.dequantQ5_0,
    Q5_1: e.dequantQ5_1,
    Q8_0: e.dequantQ8_0,
    Q2_K: e.dequantQ2_K,
    Q3_K: e.dequantQ3_K,
    Q4_K: e.dequantQ4_K,
    Q5_K: e.dequantQ5_K,
    Q6_K: e.dequantQ6_K,
  };
  return {
    name,
    reserve(size: number): void {
      const pages = Math.ceil(size / PAGE);
      if (pages > MAX_PAGES) throw new RangeError(`cannot reserve ${size} bytes: the limit is 4 GiB`);
      const have = memory.buffer.byteLength / PAGE;
      if (pages > have) memory.grow(pages - have);
    },
    u8: () => new Uint8Array(memory.buffer),
    f32: () => new Float32Array(memory.buffer),
    f64: () => new Float64Array(memory.buffer),
    decodeF16: e.decodeF16,
    decodeBF16: e.decodeBF16,
    decodeF8E4M3: e.decodeF8E4M3,
    decodeF8E5M2: e.decodeF8E5M2,
    dequantGgml: (type, src, dst, nBlocks) => ggml[type](src, dst, nBlocks),
    decodeF8E4M3Scaled: e.decodeF8E4M3Scaled,
    decodeF8E5M2Scaled: e.decodeF8E5M2Scaled,
    dequant4bit: e.dequant4bit,
    pairBlock: e.pairBlock,
    sqDiff: e.sqDiff,
    dot: e.dot,
    pairStats: e.pairStats,
    rowProductsF64: e.rowProductsF64,
  };
}
