// Quantised safetensors whose quantisation cannot be trusted: scales of the wrong shape, quant states that do not
// match their weights, unknown formats. Each is refused with a typed error naming the file and the key.
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { NF4_CODES } from '../fixtures/quantise';
import { writeBnb4bit } from '../fixtures/quantisedSafetensors';
import { encode, writeSafetensors, type WriterTensor } from '../fixtures/safetensorsWriter';
import { expectOpened, expectRefused, Sandbox } from './sandbox';

const sb = new Sandbox();
after(() => sb.close());

const bytes = (s: string) => new TextEncoder().encode(s);
const fp8 = (name = 'l.weight'): WriterTensor => ({ name, dtype: 'F8_E4M3', shape: [2, 4], data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
const f32 = (name: string, shape: number[], values: number[]): WriterTensor => ({ name, dtype: 'F32', shape, data: encode('F32', values) });
const file = (name: string, tensors: WriterTensor[], metadata?: Record<string, string>) => {
  const p = sb.path(`${name}.safetensors`);
  writeSafetensors(p, tensors, metadata ? { metadata } : {});
  return p;
};
const marker: WriterTensor = { name: 'scaled_fp8', dtype: 'F8_E4M3', shape: [0], data: new Uint8Array(0) };

/** A one-layer NF4 file with `change` applied to its tensors. */
function bnb(name: string, change: (t: WriterTensor[]) => WriterTensor[]): string {
  const tmp = sb.path(`${name}-src.safetensors`);
  writeBnb4bit(tmp, [{ name: 'l.weight', shape: [8, 16], values: Array.from({ length: 128 }, (_, i) => Math.sin(i)) }], { nested: name.includes('nested') });
  // re-read the fixture's tensors (small) so that one of them can be altered
  const buf = readFileSync(tmp);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<string, { dtype: WriterTensor['dtype']; shape: number[]; data_offsets: [number, number] }>;
  const tensors = Object.entries(header).map(([k, e]) => ({ name: k, dtype: e.dtype, shape: e.shape, data: buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) }));
  return file(name, change(tensors));
}
const state = (over: Record<string, unknown>) => bytes(JSON.stringify({ quant_type: 'nf4', blocksize: 64, dtype: 'bfloat16', shape: [8, 16], ...over }));
const setState = (ts: WriterTensor[], s: Uint8Array) =>
  ts.map((t) => (t.name.endsWith('bitsandbytes__nf4') ? { ...t, shape: [s.length], data: s } : t));

describe('scaled fp8', () => {
  it('Q1 a scale tensor of the wrong shape (per-row, 2-D, empty)', async () => {
    await expectRefused(sb, file('q1-rows', [fp8(), f32('l.scale_weight', [2], [1, 2]), marker]), 'QUANT_INVALID', /"l\.scale_weight" is F32 of shape \[2\]/);
    await expectRefused(sb, file('q1-2d', [fp8(), f32('l.weight_scale', [1, 1], [1])]), 'QUANT_INVALID', /shape \[1, 1\]/);
    await expectRefused(sb, file('q1-empty', [fp8(), f32('l.scale_weight', [0], []), marker]), 'QUANT_INVALID', /shape \[0\]/);
  });

  it('Q2 a scale of an integer dtype', async () => {
    await expectRefused(sb, file('q2', [fp8(), { name: 'l.scale_weight', dtype: 'I32', shape: [], data: new Uint8Array(4) }, marker]), 'QUANT_INVALID', /I32/);
  });

  it('Q3 a scale for a weight that is not fp8, or that does not exist; both scale conventions at once', async () => {
    await expectRefused(sb, file('q3-f16', [{ name: 'l.weight', dtype: 'F16', shape: [2], data: new Uint8Array(4) }, f32('l.scale_weight', [], [1]), marker]), 'QUANT_UNSUPPORTED', /F16/);
    await expectRefused(sb, file('q3-none', [f32('l.scale_weight', [], [1]), marker]), 'QUANT_INVALID', /does not have/);
    await expectRefused(sb, file('q3-both', [fp8(), f32('l.scale_weight', [], [1]), f32('l.weight_scale', [], [1])]), 'QUANT_INVALID', /both/);
  });

  it('Q4 ComfyUI formats without an exact meaning here, and broken layer descriptions', async () => {
    const q = (v: unknown) => bytes(JSON.stringify(v));
    const cq = (v: unknown): WriterTensor => ({ name: 'l.comfy_quant', dtype: 'U8', shape: [q(v).length], data: q(v) });
    await expectRefused(sb, file('q4-nvfp4', [fp8(), f32('l.weight_scale', [], [1]), cq({ format: 'nvfp4' })]), 'QUANT_UNSUPPORTED', /"nvfp4"/);
    await expectRefused(sb, file('q4-noscale', [fp8(), cq({ format: 'float8_e4m3fn' })]), 'QUANT_INVALID', /no "l\.weight_scale"/);
    await expectRefused(sb, file('q4-json', [fp8(), { name: 'l.comfy_quant', dtype: 'U8', shape: [3], data: bytes('{x]') }]), 'QUANT_INVALID', /not valid JSON/);
    await expectRefused(sb, file('q4-meta', [fp8(), f32('l.weight_scale', [], [1])], { _quantization_metadata: '{"layers": 3}' }), 'QUANT_INVALID', /"layers"/);
    await expectRefused(sb, file('q4-meta-json', [fp8()], { _quantization_metadata: 'nope' }), 'QUANT_INVALID', /not valid JSON/);
    await expectRefused(sb, file('q4-int8', [{ name: 'l.weight', dtype: 'I8', shape: [2], data: new Uint8Array(2) }, f32('l.weight_scale', [], [1])]), 'QUANT_UNSUPPORTED', /I8/);
    await expectRefused(sb, file('q4-scale2', [fp8(), f32('l.weight_scale_2', [], [1])]), 'QUANT_UNSUPPORTED', /weight_scale_2/);
  });

  it('Q0 a safetensors header may not declare a quantised storage type', async () => {
    for (const [dtype, n] of [['Q4_K', 144], ['F8_E4M3_SCALED', 256], ['BNB_NF4', 128]] as const) {
      const header = Buffer.from(JSON.stringify({ w: { dtype, shape: [256], data_offsets: [0, n] } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      await expectRefused(sb, sb.file(`q0-${dtype}.safetensors`, Buffer.concat([len, header, Buffer.alloc(n)])), 'ST_UNKNOWN_DTYPE', new RegExp(dtype));
    }
  });

  it('a valid scaled file opens', async () => {
    await expectOpened(sb, file('q-ok', [fp8(), f32('l.scale_weight', [], [0.5]), marker]), { readTensors: true });
  });
});

describe('bitsandbytes 4-bit', () => {
  it('Q5 quant states whose sizes do not match their weights', async () => {
    await expectRefused(sb, bnb('q5-shape', (ts) => setState(ts, state({ shape: [16, 16] }))), 'QUANT_INVALID', /holds 64 bytes of 4-bit codes but its quant state gives the shape \[16, 16\]/);
    await expectRefused(sb, bnb('q5-huge', (ts) => setState(ts, state({ shape: [2 ** 30, 2 ** 30] }))), 'QUANT_INVALID');
    await expectRefused(sb, bnb('q5-absmax', (ts) => ts.map((t) => (t.name === 'l.weight.absmax' ? f32(t.name, [3], [1, 2, 3]) : t))), 'QUANT_INVALID', /"l\.weight\.absmax" is F32 with 3 values/);
    await expectRefused(sb, bnb('q5-nested', (ts) => ts.map((t) => (t.name === 'l.weight.nested_absmax' ? f32(t.name, [2], [1, 2]) : t))), 'QUANT_INVALID', /nested_absmax/);
  });

  it('Q6 quant states that are not what bitsandbytes writes', async () => {
    await expectRefused(sb, bnb('q6-block', (ts) => setState(ts, state({ blocksize: 63 }))), 'QUANT_INVALID', /blocksize 63/);
    await expectRefused(sb, bnb('q6-dtype', (ts) => setState(ts, state({ dtype: 'int8' }))), 'QUANT_INVALID', /dtype "int8"/);
    await expectRefused(sb, bnb('q6-type', (ts) => setState(ts, state({ quant_type: 'fp4' }))), 'QUANT_INVALID', /quant_type "fp4"/);
    await expectRefused(sb, bnb('q6-json', (ts) => setState(ts, bytes('{"quant_type": "nf4",'))), 'QUANT_INVALID', /not valid JSON/);
    await expectRefused(sb, bnb('q6-dup', (ts) => setState(ts, bytes('{"quant_type":"nf4","quant_type":"nf4"}'))), 'QUANT_INVALID', /not valid JSON/);
    await expectRefused(sb, bnb('q6-big', (ts) => setState(ts, new Uint8Array(70000).fill(0x20))), 'QUANT_INVALID', /more than the 65536/);
    await expectRefused(sb, bnb('q6-kind', (ts) => ts.map((t) => (t.name.includes('quant_state') ? { ...t, name: 'l.weight.quant_state.bitsandbytes__int4' } : t))), 'QUANT_UNSUPPORTED', /int4/);
  });

  it('Q7 a quant_map that is not bitsandbytes\' code book', async () => {
    const altered = NF4_CODES.map((v, i) => (i === 3 ? v + 0.01 : v));
    await expectRefused(sb, bnb('q7', (ts) => ts.map((t) => (t.name === 'l.weight.quant_map' ? f32(t.name, [16], altered) : t))), 'QUANT_UNSUPPORTED', /code book/);
  });

  it('Q8 auxiliary tensors without a quant state; bitsandbytes 8-bit weights', async () => {
    await expectRefused(sb, bnb('q8-orphan', (ts) => ts.filter((t) => !t.name.includes('quant_state'))), 'QUANT_INVALID', /without a quant state/);
    await expectRefused(sb, file('q8-scb', [{ name: 'l.weight', dtype: 'I8', shape: [2, 2], data: new Uint8Array(4) }, f32('l.SCB', [2], [1, 1])]), 'QUANT_UNSUPPORTED', /8-bit/);
  });

  it('valid 4-bit files open (plain and double quantised)', async () => {
    await expectOpened(sb, bnb('q-ok', (ts) => ts), { readTensors: true });
    await expectOpened(sb, bnb('q-ok-nested', (ts) => ts), { readTensors: true });
  });
});
