import type { FileHandle } from 'node:fs/promises';
import { fileChanged, openRegularFile, sameIdentity } from '../../io/regularFile';
import type { Checkpoint, TensorRef } from '../../model/checkpoint';
import { bytesPerElement } from '../../model/dtypes';
import { ModeldiffError, toModeldiffError, type ErrorCode } from '../../../shared/errors';
import { bfloat16, binary16 } from '../../kernels/floatFormats';
import { FP4_TABLE, NF4_TABLE } from '../../quant/dequantRef';
import { quantDType, type Bnb4bitEncoding, type QuantEncoding } from '../../quant/encoding';
import { FileCursor } from '../../io/fileCursor';
import { JsonFloat, parseStrictJson, type JsonValue } from '../strictJson';

/**
 * Quantised weights inside safetensors files, turned into one tensor per weight that carries its encoding
 * (TensorRef.quant), under the weight's real name. The auxiliary tensors (scales, absmax, code books, quant states,
 * markers) are consumed: they are not keys of the model.
 *
 * - ComfyUI scaled fp8: a `scaled_fp8` marker and `<layer>.scale_weight` per layer (ComfyUI `convert_old_quants`);
 *   the newer per-layer `<layer>.weight_scale`, described by `<layer>.comfy_quant` tensors or the
 *   `_quantization_metadata` header entry (ComfyUI QUANTIZATION.md). value = fround(fp8 value x float32 scale).
 *   Formats other than per-tensor float8 (nvfp4, mxfp8, int8 layouts...) are refused with their name.
 * - bitsandbytes 4-bit: `<w>.quant_state.bitsandbytes__nf4|fp4` (JSON bytes: quant_type, blocksize, dtype, shape,
 *   and with double quantisation nested_blocksize, nested_dtype, nested_offset), `<w>.absmax`, `<w>.quant_map`,
 *   `<w>.nested_absmax`, `<w>.nested_quant_map` (bitsandbytes `QuantState.as_dict(packed=True)`).
 * - bitsandbytes 8-bit (`<w>.SCB`) is refused: its codes are not values.
 * Mismatched sizes and scales of the wrong shape are refused, naming the file and the key.
 */

/** The largest quant state / comfy_quant JSON read (real ones are under 200 bytes). */
const MAX_JSON_BYTES = 64 * 1024;
const BNB_BLOCK_SIZES = new Set([32, 64, 128, 256, 512, 1024, 2048, 4096]);
const BNB_OUT_DTYPES: Record<string, Bnb4bitEncoding['outDtype']> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
const FP8 = new Set(['F8_E4M3', 'F8_E5M2']);
const SCALE_DTYPES = new Set(['F32', 'F16', 'BF16']);
/** Per-tensor float8 formats of ComfyUI's QUANT_ALGOS: the only ones with a documented plain meaning here. */
const COMFY_FP8_FORMATS = new Set(['float8_e4m3fn', 'float8_e5m2']);
const QUANT_STATE = '.quant_state.bitsandbytes__';

/** Whether a tensor table shows any quantisation convention (so that reading the small tensors is worth it). */
function looksQuantised(ckpt: Checkpoint): boolean {
  if ('_quantization_metadata' in ckpt.metadata) return true;
  return ckpt.tensors.some((t) => {
    const n = t.name;
    return (
      n === 'scaled_fp8' ||
      n.endsWith('.scaled_fp8') ||
      n.endsWith('.scale_weight') ||
      n.endsWith('.weight_scale') ||
      n.endsWith('.weight_scale_2') ||
      n.endsWith('.pre_quant_scale') ||
      n.endsWith('.comfy_quant') ||
      n.includes(QUANT_STATE) ||
      n.endsWith('.absmax') ||
      n.endsWith('.SCB')
    );
  });
}

/** Resolves the quantisation conventions of a safetensors checkpoint; a checkpoint without any is returned as is. */
export async function resolveQuantisation(ckpt: Checkpoint): Promise<Checkpoint> {
  if (!looksQuantised(ckpt)) return ckpt;
  let handle: FileHandle | undefined;
  try {
    const opened = await openRegularFile(ckpt.path);
    handle = opened.handle;
    const known = ckpt.files.find((f) => f.path === ckpt.path)?.identity;
    if (known && !sameIdentity(known, opened.identity)) throw fileChanged(ckpt.path);
    // scales and quant states are small and scattered (often grouped by dtype): read 4 KiB around each
    const cursor = new FileCursor(handle, ckpt.sizeBytes, ckpt.path, 'QUANT_INVALID', 4096);
    return await new Resolver(ckpt, cursor).run();
  } catch (e) {
    throw toModeldiffError(e, ckpt.path);
  } finally {
    await handle?.close();
  }
}

class Resolver {
  private readonly byName: Map<string, TensorRef>;
  private readonly consumed = new Set<string>();
  private readonly replaced = new Map<string, TensorRef>();
  private readonly notes: string[] = [];
  private marker = false;

  constructor(
    private readonly ckpt: Checkpoint,
    private readonly c: FileCursor,
  ) {
    this.byName = new Map(ckpt.tensors.map((t) => [t.name, t]));
  }

  async run(): Promise<Checkpoint> {
    this.refuseInt8();
    await this.bitsandbytes();
    await this.comfyLayers();
    await this.legacyScales();
    this.activationScales();
    this.leftovers();
    const tensors = this.ckpt.tensors.filter((t) => !this.consumed.has(t.name)).map((t) => this.replaced.get(t.name) ?? t);
    const facts = this.marker ? { ...this.ckpt.facts, scaledFp8Marker: true } : this.ckpt.facts;
    return { ...this.ckpt, tensors, notes: [...this.ckpt.notes, ...this.notes], ...(facts ? { facts } : {}) };
  }

  private fail(code: ErrorCode, message: string, key?: string): never {
    throw new ModeldiffError(code, message, { file: this.ckpt.path, details: key === undefined ? undefined : { key } });
  }

  private refuseInt8(): void {
    for (const t of this.ckpt.tensors) {
      if (!t.name.endsWith('.SCB')) continue;
      const layer = t.name.slice(0, -'.SCB'.length);
      const w = this.byName.get(`${layer}.weight`);
      if (w && (w.dtype === 'I8' || w.dtype === 'U8')) {
        this.fail('QUANT_UNSUPPORTED', `${quote(w.name)} is a bitsandbytes 8-bit weight (with ${quote(t.name)}), which this tool cannot dequantise exactly`, w.name);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // bitsandbytes 4-bit

  private async bitsandbytes(): Promise<void> {
    let count = 0;
    for (const state of this.ckpt.tensors) {
      const at = state.name.indexOf(QUANT_STATE);
      if (at < 0) continue;
      const weightName = state.name.slice(0, at);
      const kind = state.name.slice(at + QUANT_STATE.length);
      if (kind !== 'nf4' && kind !== 'fp4') this.fail('QUANT_UNSUPPORTED', `${quote(state.name)} names the bitsandbytes type ${quote(kind)}; only nf4 and fp4 are known`, state.name);
      this.replace(weightName, await this.bnbWeight(weightName, state, kind as 'nf4' | 'fp4'));
      count++;
    }
    if (count) this.notes.push(`${count} bitsandbytes 4-bit weights dequantised with their absmax and quant state (auxiliary tensors not listed as keys)`);
  }

  private async bnbWeight(w: string, state: TensorRef, kind: 'nf4' | 'fp4'): Promise<TensorRef> {
    const weight = this.byName.get(w);
    if (!weight) this.fail('QUANT_INVALID', `${quote(state.name)} is a quant state for ${quote(w)}, which the file does not have`, state.name);
    const s = await this.readJsonObject(state, 'quant state');
    const bad = (why: string): never => this.fail('QUANT_INVALID', `the quant state ${quote(state.name)} ${why}`, state.name);
    const type = s.get('quant_type');
    if (type !== kind) bad(`says quant_type ${show(type)} but its name says ${kind}`);
    const blocksize = intOf(s.get('blocksize'));
    if (blocksize === undefined || !BNB_BLOCK_SIZES.has(blocksize)) bad(`has blocksize ${show(s.get('blocksize'))}, not one bitsandbytes uses (32 to 4096, powers of two)`);
    const outDtype = BNB_OUT_DTYPES[String(s.get('dtype'))];
    if (!outDtype) bad(`has dtype ${show(s.get('dtype'))}, not float32, float16 or bfloat16`);
    const shapeV = s.get('shape');
    const shape = Array.isArray(shapeV) ? shapeV.map(intOf) : undefined;
    if (!shape || shape.some((d) => d === undefined)) bad(`has shape ${show(shapeV)}, not a list of non-negative integers`);
    const dims = shape as number[];
    const numel = dims.reduce((p, d) => p * d, 1);
    if (!Number.isSafeInteger(numel)) bad(`has shape [${dims.join(', ')}], too large`);
    const esize = bytesPerElement(weight!.dtype);
    if (esize === undefined || weight!.strides || weight!.parts || weight!.quant) this.fail('QUANT_INVALID', `${quote(w)} is stored as ${weight!.dtype}, which cannot hold packed 4-bit codes`, w);
    if (weight!.byteLength !== Math.ceil(numel / 2)) {
      this.fail('QUANT_INVALID', `${quote(w)} holds ${weight!.byteLength} bytes of 4-bit codes but its quant state gives the shape [${dims.join(', ')}] (${Math.ceil(numel / 2)} bytes)`, w);
    }
    const blocks = Math.ceil(numel / blocksize!);
    const aux = [state.name];
    const need = (suffix: string, dtype: string, n: number): TensorRef => {
      const name = `${w}.${suffix}`;
      const t = this.byName.get(name);
      if (!t) this.fail('QUANT_INVALID', `${quote(w)} has a quant state but no ${quote(name)}`, name);
      if (t!.dtype !== dtype || t!.numel !== n || t!.strides || t!.parts) {
        this.fail('QUANT_INVALID', `${quote(name)} is ${t!.dtype} with ${t!.numel} values; the quant state of ${quote(w)} needs ${dtype} with ${n}`, name);
      }
      aux.push(name);
      return t!;
    };
    const quantMap = need('quant_map', 'F32', 16);
    const table = await this.readF32(quantMap);
    const expected = kind === 'nf4' ? NF4_TABLE : FP4_TABLE;
    if (table.some((v, i) => !Object.is(v, expected[i]))) {
      this.fail('QUANT_UNSUPPORTED', `${quote(quantMap.name)} differs from bitsandbytes' ${kind} code book, which bitsandbytes dequantises with: the values cannot be known exactly`, quantMap.name);
    }
    const nested = this.byName.has(`${w}.nested_absmax`) || s.has('nested_blocksize');
    const enc: Bnb4bitEncoding = { scheme: 'bnb-4bit', type: kind, blockElements: blocksize!, outDtype: outDtype!, absmax: { offset: 0, byteLength: 0 }, aux };
    if (!nested) {
      const absmax = need('absmax', 'F32', blocks);
      enc.absmax = { offset: absmax.offset, byteLength: absmax.byteLength };
    } else {
      const nb = intOf(s.get('nested_blocksize'));
      if (nb === undefined || nb < 1 || (nb & (nb - 1)) !== 0 || nb > 4096) bad(`has nested_blocksize ${show(s.get('nested_blocksize'))}, not a power of two up to 4096`);
      if (s.get('nested_dtype') !== 'float32') bad(`has nested_dtype ${show(s.get('nested_dtype'))}, not float32`);
      const off = s.get('nested_offset');
      const offset = typeof off === 'number' ? off : off instanceof JsonFloat ? off.value : undefined;
      if (offset === undefined || !Number.isFinite(offset)) bad(`has nested_offset ${show(off)}, not a finite number`);
      const codes = need('absmax', 'U8', blocks);
      const nestedAbsmax = need('nested_absmax', 'F32', Math.ceil(blocks / nb!));
      const code = await this.readF32(need('nested_quant_map', 'F32', 256));
      enc.absmax = { offset: codes.offset, byteLength: codes.byteLength };
      enc.nested = { absmax: { offset: nestedAbsmax.offset, byteLength: nestedAbsmax.byteLength }, blockElements: nb!, code, offset: Math.fround(offset!) };
    }
    for (const a of aux) this.consumed.add(a);
    return this.quantised(weight!, enc, dims, numel);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // ComfyUI per-layer formats (.comfy_quant tensors, _quantization_metadata)

  private async comfyLayers(): Promise<void> {
    const layers = new Map<string, { format: string; from: string }>();
    const meta = this.ckpt.metadata['_quantization_metadata'];
    if (meta !== undefined) {
      const root = parseJson(meta, () => this.fail('QUANT_INVALID', 'the _quantization_metadata header entry is not valid JSON'));
      const l = root instanceof Map ? root.get('layers') : undefined;
      if (!(l instanceof Map)) this.fail('QUANT_INVALID', 'the _quantization_metadata header entry has no "layers" object');
      for (const [layer, conf] of l as Map<string, JsonValue>) layers.set(layer, { format: formatOf(conf), from: '_quantization_metadata' });
    }
    for (const t of this.ckpt.tensors) {
      if (!t.name.endsWith('.comfy_quant')) continue;
      const layer = t.name.slice(0, -'.comfy_quant'.length);
      const conf = await this.readJsonObject(t, 'ComfyUI quantisation entry');
      const format = formatOf(conf);
      const before = layers.get(layer);
      if (before && before.format !== format) this.fail('QUANT_INVALID', `${quote(t.name)} says ${quote(format)} but _quantization_metadata says ${quote(before.format)} for the same layer`, t.name);
      layers.set(layer, { format, from: t.name });
      this.consumed.add(t.name);
    }
    let count = 0;
    for (const [layer, { format, from }] of layers) {
      const weight = this.byName.get(`${layer}.weight`);
      if (!weight) this.fail('QUANT_INVALID', `${quote(from)} describes the layer ${quote(layer)}, which has no weight in the file`, from);
      if (!COMFY_FP8_FORMATS.has(format)) {
        this.fail('QUANT_UNSUPPORTED', `${quote(weight!.name)} is quantised as ComfyUI ${quote(format)}, a format this tool cannot dequantise exactly`, weight!.name);
      }
      const scale = this.byName.get(`${layer}.weight_scale`);
      if (!scale) this.fail('QUANT_INVALID', `${quote(weight!.name)} is declared ${format} but the file has no ${quote(`${layer}.weight_scale`)}`, weight!.name);
      await this.scaled(weight!, scale!);
      count++;
    }
    if (count) this.notes.push(`${count} ComfyUI fp8 weights dequantised with their weight_scale`);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // scaled fp8: scale_weight (with the scaled_fp8 marker), and weight_scale without a layer description

  private async legacyScales(): Promise<void> {
    const markers = this.ckpt.tensors.filter((t) => t.name === 'scaled_fp8' || t.name.endsWith('.scaled_fp8'));
    let count = 0;
    for (const t of this.ckpt.tensors) {
      const suffix = t.name.endsWith('.scale_weight') ? '.scale_weight' : t.name.endsWith('.weight_scale') ? '.weight_scale' : undefined;
      if (!suffix || this.consumed.has(t.name)) continue;
      const layer = t.name.slice(0, -suffix.length);
      if (suffix === '.scale_weight' && this.byName.has(`${layer}.weight_scale`)) {
        this.fail('QUANT_INVALID', `the layer ${quote(layer)} has both scale_weight and weight_scale: which one applies is ambiguous`, t.name);
      }
      const weight = this.byName.get(`${layer}.weight`);
      if (!weight) this.fail('QUANT_INVALID', `${quote(t.name)} scales ${quote(`${layer}.weight`)}, which the file does not have`, t.name);
      if (!FP8.has(weight!.dtype)) {
        this.fail('QUANT_UNSUPPORTED', `${quote(t.name)} scales ${quote(weight!.name)}, stored as ${weight!.dtype} rather than fp8: the quantisation is not known`, t.name);
      }
      await this.scaled(weight!, t);
      count++;
    }
    for (const m of markers) this.consumed.add(m.name);
    this.marker = markers.length > 0;
    if (count) {
      const how = markers.length ? 'ComfyUI scaled fp8' : 'fp8 with a per-tensor scale; the file has no scaled_fp8 marker';
      this.notes.push(`${count} fp8 weights dequantised with their scale (${how})`);
    }
  }

  private async scaled(weight: TensorRef, scale: TensorRef): Promise<void> {
    if (this.replaced.has(weight.name)) this.fail('QUANT_INVALID', `${quote(weight.name)} has more than one quantisation description`, weight.name);
    if (!FP8.has(weight.dtype) || weight.strides || weight.parts) {
      this.fail('QUANT_INVALID', `${quote(weight.name)} is stored as ${weight.dtype}, not fp8, yet ${quote(scale.name)} scales it`, weight.name);
    }
    if (scale.numel !== 1 || scale.shape.length > 1 || !SCALE_DTYPES.has(scale.dtype)) {
      this.fail(
        'QUANT_INVALID',
        `the scale ${quote(scale.name)} is ${scale.dtype} of shape [${scale.shape.join(', ')}]; a per-tensor scale must be one float32, float16 or bfloat16 value`,
        scale.name,
      );
    }
    const value = await this.readScalar(scale);
    const enc: QuantEncoding = { scheme: 'scaled-fp8', code: weight.dtype as 'F8_E4M3' | 'F8_E5M2', scale: value, scaleTensor: scale.name };
    this.consumed.add(scale.name);
    this.replace(weight.name, this.quantised(weight, enc, weight.shape, weight.numel));
  }

  /** Activation scales are settings of the quantised matmul, not weights: they are left out of the key list. */
  private activationScales(): void {
    const scales = this.ckpt.tensors.filter((t) => (t.name.endsWith('.scale_input') || t.name.endsWith('.input_scale')) && t.numel === 1);
    if (!scales.length || this.replaced.size === 0) return;
    for (const t of scales) this.consumed.add(t.name);
    this.notes.push(`${scales.length} activation scales (scale_input / input_scale) of quantised layers are not weights: left out of the comparison`);
  }

  /** Auxiliary tensors of a convention that no quantised weight consumed: the file is inconsistent. */
  private leftovers(): void {
    for (const t of this.ckpt.tensors) {
      if (this.consumed.has(t.name)) continue;
      const n = t.name;
      if (/\.weight\.(absmax|quant_map|nested_absmax|nested_quant_map)$/.test(n)) {
        this.fail('QUANT_INVALID', `${quote(n)} is a bitsandbytes auxiliary tensor without a quant state: its weight cannot be dequantised`, n);
      }
      if (n.endsWith('.weight_scale_2') || n.endsWith('.pre_quant_scale')) {
        this.fail('QUANT_UNSUPPORTED', `${quote(n)} belongs to a quantisation format this tool cannot dequantise exactly`, n);
      }
    }
  }

  private replace(name: string, ref: TensorRef): void {
    this.replaced.set(name, ref);
  }

  private quantised(weight: TensorRef, quant: QuantEncoding, shape: number[], numel: number): TensorRef {
    return { name: weight.name, dtype: quantDType(quant), shape, numel, file: weight.file, offset: weight.offset, byteLength: weight.byteLength, quant };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Small reads

  private async bytesOf(t: TensorRef, max: number, what: string): Promise<Uint8Array> {
    if (t.byteLength > max || t.strides || t.parts) this.fail('QUANT_INVALID', `${what} ${quote(t.name)} is ${t.byteLength} bytes, more than the ${max} expected`, t.name);
    this.c.pos = t.offset;
    await this.c.need(t.byteLength, `${what} ${quote(t.name)}`);
    return this.c.bytes(t.byteLength).slice();
  }

  private async readF32(t: TensorRef): Promise<number[]> {
    const b = await this.bytesOf(t, 4096, 'the tensor');
    const dv = new DataView(b.buffer);
    return Array.from({ length: t.numel }, (_, i) => dv.getFloat32(i * 4, true));
  }

  private async readScalar(t: TensorRef): Promise<number> {
    const b = await this.bytesOf(t, 4, 'the scale');
    const dv = new DataView(b.buffer);
    if (t.dtype === 'F32') return dv.getFloat32(0, true);
    const bits = dv.getUint16(0, true);
    return t.dtype === 'BF16' ? bfloat16(bits) : binary16(bits);
  }

  private async readJsonObject(t: TensorRef, what: string): Promise<Map<string, JsonValue>> {
    if (t.dtype !== 'U8' && t.dtype !== 'I8') this.fail('QUANT_INVALID', `the ${what} ${quote(t.name)} is ${t.dtype}, not bytes of JSON`, t.name);
    const bytes = await this.bytesOf(t, MAX_JSON_BYTES, `the ${what}`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      this.fail('QUANT_INVALID', `the ${what} ${quote(t.name)} is not UTF-8 text`, t.name);
    }
    const v = parseJson(text!, () => this.fail('QUANT_INVALID', `the ${what} ${quote(t.name)} is not valid JSON`, t.name));
    if (!(v instanceof Map)) this.fail('QUANT_INVALID', `the ${what} ${quote(t.name)} is not a JSON object`, t.name);
    return v as Map<string, JsonValue>;
  }
}

function parseJson(text: string, onError: () => never): JsonValue {
  try {
    return parseStrictJson(text, { maxDepth: 16 });
  } catch (e) {
    if (e instanceof ModeldiffError) onError();
    throw e;
  }
}

function formatOf(conf: JsonValue): string {
  const f = conf instanceof Map ? conf.get('format') : undefined;
  return typeof f === 'string' ? f : '(no format)';
}

function intOf(v: JsonValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0) ? v : undefined;
}

function show(v: JsonValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v instanceof JsonFloat) return v.text;
  if (v instanceof Map) return 'an object';
  const s = Array.isArray(v) ? `[${v.map(show).join(', ')}]` : typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}
