// Every dequantiser (TypeScript reference and WebAssembly) against the independent float64 oracle, bit for bit,
// on random block bytes (any scale, NaN and infinities included) and on real quantisations of smooth data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReferenceKernels } from '../../../src/compute/kernels/reference';
import type { Kernels } from '../../../src/compute/kernels/types';
import { createWasmKernels } from '../../../src/compute/kernels/wasm';
import type { Bnb4bitEncoding, GgmlQuantType } from '../../../src/compute/quant/encoding';
import { GGML_QUANT_TYPES, ggmlQuantInfo } from '../../../src/compute/quant/ggmlTypes';
import { dequantizeToF32, dequantScratchBytes } from '../../../src/compute/quant/dequantize';
import { rawLayout } from '../../../src/compute/quant/layout';
import type { QuantTensorRef } from '../../../src/compute/io/readQuant';
import { bnb4bit, quantiseGgml, scaledFp8, type GgmlFixtureType } from '../../fixtures/quantise';
import { oracleBnb, oracleDequantGgml, oracleScaledFp8 } from '../../oracle/quantised';

const KERNELS: [string, () => Kernels][] = [
  ['reference', createReferenceKernels],
  ['wasm', () => createWasmKernels()],
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

/** Smooth weights with a few outliers, like a layer's. */
function weights(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, (_, i) => 0.05 * Math.sin(i * 0.37 + seed) + 0.02 * (r() - 0.5) + (i % 97 === 0 ? 0.3 : 0));
}

/** A tensor of `numel` elements whose raw buffer (layout.ts) is `raw`, placed at 0 of a fake file. */
function ref(quant: QuantTensorRef['quant'], numel: number, byteLength: number): QuantTensorRef {
  return { name: 't', dtype: 'Q8_0', shape: [numel], numel, file: '/dev/null', offset: 0, byteLength, quant };
}

/** Runs the engine's dequantisation of [start, start+count) given the raw bytes of that range. */
function run(k: Kernels, r: QuantTensorRef, raw: Uint8Array, start: number, count: number): Float64Array {
  const src = 16;
  const dst = Math.ceil((src + raw.length) / 16) * 16;
  const scratch = dst + count * 4 + 16;
  k.reserve(scratch + dequantScratchBytes(r.quant, count) + 16);
  k.u8().set(raw, src);
  dequantizeToF32(k, r, src, dst, start, count, scratch);
  return Float64Array.from(k.f32().subarray(dst / 4, dst / 4 + count));
}

function assertBitEqual(got: Float64Array, want: Float64Array, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    if (!Object.is(got[i], want[i])) assert.fail(`${what}: element ${i} is ${got[i]}, the oracle says ${want[i]}`);
  }
}

/** Bytes of a range of a whole buffer, as the reader would deliver them for a single-part layout. */
function slice(whole: Uint8Array, r: QuantTensorRef, start: number, count: number): Uint8Array {
  const parts = rawLayout(r, start, count).parts;
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(whole.subarray(p.offset, p.offset + p.byteLength), at);
    at += p.byteLength;
  }
  return out;
}

for (const [name, create] of KERNELS) {
  describe(`dequantisation (${name}) = float64 oracle`, () => {
    for (const type of GGML_QUANT_TYPES) {
      const { blockElements, blockBytes } = ggmlQuantInfo(type);
      it(`${type}: random blocks, whole and by ranges`, () => {
        const r0 = rng(blockBytes * 7);
        const blocks = 64;
        const bytes = Uint8Array.from({ length: blocks * blockBytes }, () => Math.floor(r0() * 256));
        const q = { scheme: 'ggml' as const, type: type as GgmlQuantType, blockElements, blockBytes };
        const r = ref(q, blocks * blockElements, bytes.length);
        const want = oracleDequantGgml(type, bytes);
        const k = create();
        assertBitEqual(run(k, r, bytes, 0, r.numel), want, type);
        const start = 3 * blockElements;
        const count = 5 * blockElements;
        assertBitEqual(run(k, r, slice(bytes, r, start, count), start, count), want.subarray(start, start + count), `${type} range`);
      });

      it(`${type}: a real quantisation of smooth weights is close to them`, () => {
        const x = weights(4 * 256, blockElements);
        const bytes = quantiseGgml(type as GgmlFixtureType, x);
        const q = { scheme: 'ggml' as const, type: type as GgmlQuantType, blockElements, blockBytes };
        const got = run(create(), ref(q, x.length, bytes.length), bytes, 0, x.length);
        assertBitEqual(got, oracleDequantGgml(type, bytes), type);
        let err = 0;
        let norm = 0;
        x.forEach((v, i) => ((err += (v - got[i]!) ** 2), (norm += v * v)));
        const bits = (blockBytes * 8) / blockElements;
        assert.ok(Math.sqrt(err / norm) < 2 ** (3 - bits), `${type}: relative error ${Math.sqrt(err / norm)}`);
      });
    }

    for (const kind of ['F8_E4M3', 'F8_E5M2'] as const) {
      it(`scaled ${kind}: every code, several scales, any range`, () => {
        const codes = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 255);
        for (const scale of [Math.fround(0.00037), 1, Math.fround(-2.5e-7), Math.fround(3e34)]) {
          const r = ref({ scheme: 'scaled-fp8', code: kind, scale, scaleTensor: 's' }, codes.length, codes.length);
          const want = oracleScaledFp8(codes, kind, scale);
          assertBitEqual(run(create(), r, codes, 0, codes.length), want, `${kind} x ${scale}`);
          assertBitEqual(run(create(), r, codes.subarray(7, 130), 7, 123), want.subarray(7, 130), `${kind} x ${scale} range`);
        }
      });
    }

    it('scaled fp8 of real weights: a quantisation close to them', () => {
      const x = weights(1000, 3);
      const { codes, scale } = scaledFp8(x);
      const r = ref({ scheme: 'scaled-fp8', code: 'F8_E4M3', scale, scaleTensor: 's' }, x.length, x.length);
      const got = run(create(), r, codes, 0, x.length);
      assertBitEqual(got, oracleScaledFp8(codes, 'F8_E4M3', scale), 'fp8');
      x.forEach((v, i) => assert.ok(Math.abs(v - got[i]!) <= Math.abs(v) / 16 + scale * 2 ** -9, `element ${i}`));
    });

    for (const kind of ['nf4', 'fp4'] as const) {
      for (const nested of [false, true]) {
        for (const outDtype of ['float32', 'float16', 'bfloat16'] as const) {
          it(`bitsandbytes ${kind}${nested ? ' (double quantised)' : ''} to ${outDtype}: whole, odd ranges, a partial last block`, () => {
            const numel = 64 * 300 + 38;
            const x = weights(numel, 11);
            const f = bnb4bit(x, kind, 64, nested);
            // a fake file: codes, then absmax (float32 or uint8 codes), then nested absmax
            const absmaxBytes = f.nested ? f.nested.codes : new Uint8Array(f.absmax.buffer);
            const nestedBytes = f.nested ? new Uint8Array(f.nested.absmax.buffer) : new Uint8Array(0);
            const file = new Uint8Array([...f.codes, ...absmaxBytes, ...nestedBytes]);
            const out = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as const;
            const q: Bnb4bitEncoding = {
              scheme: 'bnb-4bit',
              type: kind,
              blockElements: 64,
              outDtype: out[outDtype],
              absmax: { offset: f.codes.length, byteLength: absmaxBytes.length },
              ...(f.nested
                ? { nested: { absmax: { offset: f.codes.length + absmaxBytes.length, byteLength: nestedBytes.length }, blockElements: 256, code: Array.from(f.nested.codeBook), offset: f.nested.offset } }
                : {}),
              aux: [],
            };
            const r = ref(q, numel, f.codes.length);
            const want = oracleBnb({
              kind,
              blocksize: 64,
              outDtype,
              numel,
              codes: f.codes,
              absmax: f.nested ? { codes: f.nested.codes, absmax: f.nested.absmax, codeBook: f.nested.codeBook, offset: f.nested.offset, blocksize: 256 } : f.absmax,
            });
            const k = create();
            assertBitEqual(run(k, r, slice(file, r, 0, numel), 0, numel), want, 'whole');
            for (const [start, count] of [[2, 100], [64 * 255 + 10, 64 * 3], [numel - 38, 38], [512, 64 * 260]] as const) {
              assertBitEqual(run(k, r, slice(file, r, start, count), start, count), want.subarray(start, start + count), `[${start}, +${count})`);
            }
            let err = 0;
            let norm = 0;
            x.forEach((v, i) => ((err += (v - want[i]!) ** 2), (norm += v * v)));
            assert.ok(Math.sqrt(err / norm) < (kind === 'nf4' ? 0.2 : 0.3), `relative error ${Math.sqrt(err / norm)}`);
          });
        }
      }
    }
  });
}
