// The WebAssembly dequantisers against the TypeScript reference, bit for bit, on random blocks (every byte
// pattern, including NaN and infinite scales) and on every 4-bit rounding mode.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReferenceKernels } from '../../../src/compute/kernels/reference';
import type { Kernels } from '../../../src/compute/kernels/types';
import { createWasmKernels, relaxedSimdAvailable } from '../../../src/compute/kernels/wasm';
import { FP4_TABLE, NF4_TABLE } from '../../../src/compute/quant/dequantRef';
import { GGML_QUANT_TYPES, ggmlQuantInfo } from '../../../src/compute/quant/ggmlTypes';

const WASM: { name: string; create: () => Kernels; skip?: string }[] = [
  { name: 'wasm-simd', create: () => createWasmKernels('wasm-simd') },
  { name: 'wasm-simd-fma', create: () => createWasmKernels('wasm-simd-fma'), ...(relaxedSimdAvailable() ? {} : { skip: 'no relaxed SIMD' }) },
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** Runs `fill` then `run` on both kernels with the same memory image; returns the float32 bit patterns at dst. */
function both(k: Kernels, bytes: Uint8Array, src: number, dst: number, n: number, run: (k: Kernels) => void): [Uint32Array, Uint32Array] {
  const out = (kk: Kernels) => {
    kk.reserve(dst + n * 4 + 64);
    kk.u8().set(bytes, src);
    run(kk);
    return new Uint32Array(kk.u8().slice(dst, dst + n * 4).buffer);
  };
  return [out(createReferenceKernels()), out(k)];
}

function assertSameFloats(ref: Uint32Array, got: Uint32Array, what: string): void {
  const f = (u: Uint32Array) => new Float32Array(u.buffer);
  const a = f(ref);
  const b = f(got);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (ref[i] !== got[i]) assert.fail(`${what}: element ${i}: reference ${a[i]} (0x${ref[i]!.toString(16)}) vs ${b[i]} (0x${got[i]!.toString(16)})`);
  }
}

for (const impl of WASM) {
  describe(`dequantisers: ${impl.name} = reference`, { skip: impl.skip }, () => {
    for (const type of GGML_QUANT_TYPES) {
      it(`${type}: 300 random blocks at an odd address`, () => {
        const k = impl.create();
        const { blockElements, blockBytes } = ggmlQuantInfo(type);
        const nBlocks = 300;
        const bytes = randomBytes(nBlocks * blockBytes, 17 + blockBytes);
        const src = 3;
        const dst = Math.ceil((src + bytes.length) / 16) * 16;
        const [a, b] = both(k, bytes, src, dst, nBlocks * blockElements, (kk) => kk.dequantGgml(type, src, dst, nBlocks));
        assertSameFloats(a, b, type);
      });
    }

    for (const code of ['F8_E4M3', 'F8_E5M2'] as const) {
      it(`${code} times a scale: every code, 5 scales, tails`, () => {
        const k = impl.create();
        const bytes = Uint8Array.from({ length: 256 + 7 }, (_, i) => i & 255);
        for (const scale of [1, Math.fround(0.0013), Math.fround(3.3e-39), Math.fround(1e30), -0.5]) {
          const [a, b] = both(k, bytes, 1, 1024, bytes.length, (kk) => (code === 'F8_E4M3' ? kk.decodeF8E4M3Scaled(1, 1024, bytes.length, scale) : kk.decodeF8E5M2Scaled(1, 1024, bytes.length, scale)));
          assertSameFloats(a, b, `${code} x ${scale}`);
        }
      });
    }

    it('4-bit NF4/FP4 with float32, float16 and bfloat16 rounding, odd phases', () => {
      const k = impl.create();
      const n = 1001;
      const codes = randomBytes(Math.ceil(n / 2), 99);
      const r = rng(5);
      // absmax values spanning subnormal-to-overflow results in float16
      const absmax = Float32Array.from({ length: 40 }, (_, i) => Math.fround((r() + 0.01) * 2 ** (i - 30)) * (i === 7 ? 70000 : 1));
      for (const table of [NF4_TABLE, FP4_TABLE]) {
        for (const out of [0, 1, 2]) {
          for (const phase of [0, 6, 63]) {
            const src = 5;
            const tab = 1024;
            const am = 1024 + 64;
            const dst = 4096;
            const image = new Uint8Array(am + absmax.length * 4);
            image.set(codes, src);
            image.set(new Uint8Array(Float32Array.from(table).buffer), tab);
            image.set(new Uint8Array(absmax.buffer), am);
            const [a, b] = both(k, image, 0, dst, n, (kk) => kk.dequant4bit(src, tab, am, dst, n, phase, 5, out));
            assertSameFloats(a, b, `4-bit out ${out} phase ${phase}`);
          }
        }
      }
    });
  });
}
