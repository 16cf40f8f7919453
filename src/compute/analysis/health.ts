/**
 * Health checks per model, from result.json plus each model's header (opened again) and its tiny position_ids
 * tensors; no other tensor data is read.
 * - position_ids of the CLIP text encoders must be exactly the integers 0..N-1 along the last dimension. Merges that
 *   cast everything to float and average leave values like 75.9975 (a known corruption that shifts token positions);
 *   an exact float copy (SDXL's release stores them as F16) is fine.
 * - NaN/Inf and all-zero tensors: found by the engine while it read every tensor (result.models[i].tensorHealth).
 *   All-zero tensors outside the UNet, text encoders and VAE (logvar...) are listed as benign.
 * - components the detected architecture should have but the file lacks.
 * - unexpected keys: outside the architecture's prefixes (`model.diffusion_model.`, the text encoders' prefixes,
 *   `first_stage_model.`, `model_ema.`) and the known top-level buffers (the DDPM schedule, logvar, v_pred, ztsnr,
 *   edm_*), e.g. LoRA keys baked in by mistake or another architecture's encoder.
 * - wasted space: the EMA copy (useless for inference), float tensors wider than 16 bits in a model that is mostly
 *   16-bit (what F16 would save), and the bytes of unexpected keys.
 * - storage of today's zoo: F16/BF16 weights whose every value is exactly an fp8 value (an fp8 model stored in 16
 *   bits: "is this FP16 fine-tune really fp8?"); fp8 weights without the scale they should have (some layers of a
 *   scaled-fp8 file lack one, the scaled_fp8 marker without any scale, or unscaled fp8 weights that use the whole fp8
 *   range as scaled ones do); a safetensors file with bytes after its last tensor, which the safetensors library
 *   refuses ("incomplete metadata, file not fully covered").
 */
import { closeSync, openSync } from 'node:fs';
import { DTYPES, bytesPerElement } from '../model/dtypes';
import { decodableToF64, decodeToF64 } from '../engine/decodeF64';
import { readTensorElements } from '../io/tensorBytes';
import { loadModel, type LoadedModel } from '../model/loadModel';
import { openCheckpoint } from '../readers/registry';
import type { Arch, ModelInfo, TensorHealth } from '../../shared/result';
import type { TensorRef } from '../model/checkpoint';
import { ARCHITECTURES, isModelComponent, KNOWN_TOP_LEVEL } from '../keys/architectures';
import { familyComponentOf } from '../keys/components';
import { openSource, type ResultSource } from './layers';
import type { ModelHealth, PositionIdsCheck, WastedSpace } from '../../shared/analysis';

/** Components each architecture normally has (from the architecture table). */
export const EXPECTED_COMPONENTS: Record<Arch, string[]> = Object.fromEntries([
  ...ARCHITECTURES.map((a) => [a.id, a.components.filter((c) => c.expected).map((c) => c.id)]),
  ['generic', []],
]) as Record<Arch, string[]>;

/** The key trees each architecture keeps (from the architecture table): anything else is an unexpected key. */
export const KNOWN_PREFIXES: Record<Exclude<Arch, 'generic'>, string[]> = Object.fromEntries(
  ARCHITECTURES.map((a) => [a.id, a.components.map((c) => c.tree ?? c.prefix)]),
) as Record<Exclude<Arch, 'generic'>, string[]>;

export { KNOWN_TOP_LEVEL };

const EMA_SCALARS = new Set(['model_ema.decay', 'model_ema.num_updates']);
const MAX_POSITION_IDS = 1 << 16;
const MAX_LISTED = 200;

/** Keys of a model outside its architecture's known prefixes and buffers. */
export function unexpectedKeys(arch: Arch, keys: Iterable<string>): string[] {
  if (arch === 'generic') return [];
  const prefixes = KNOWN_PREFIXES[arch];
  const out: string[] = [];
  for (const k of keys) if (!KNOWN_TOP_LEVEL.has(k) && !prefixes.some((p) => k.startsWith(p))) out.push(k);
  return out.sort();
}

/** Checks position-id values (pure): exact integers 0..L-1 along the last dimension. */
export function checkPositionValues(values: ArrayLike<number>, shape: readonly number[]): Pick<PositionIdsCheck, 'status' | 'maxDeviation' | 'badCount' | 'bad' | 'fixableByRounding'> {
  const last = shape.length ? shape[shape.length - 1]! : 1;
  let maxDev = 0;
  let badCount = 0;
  let fixable = true;
  const bad: { index: number; value: number }[] = [];
  for (let i = 0; i < values.length; i++) {
    const want = last > 0 ? i % last : 0;
    const v = values[i]!;
    const dev = Number.isNaN(v) ? Infinity : Math.abs(v - want);
    if (dev !== 0) {
      badCount++;
      if (bad.length < 10) bad.push({ index: i, value: v });
      if (!(Math.round(v) === want)) fixable = false;
    }
    if (dev > maxDev) maxDev = dev;
  }
  return { status: badCount === 0 ? 'ok' : 'corrupt', maxDeviation: maxDev, badCount, bad, fixableByRounding: badCount > 0 && fixable };
}

function readPositionIds(key: string, ref: TensorRef): PositionIdsCheck {
  const base = { key, dtype: ref.dtype, shape: ref.shape };
  const fail = (error: string): PositionIdsCheck => ({ ...base, status: 'unreadable', maxDeviation: null, badCount: 0, bad: [], fixableByRounding: false, error });
  const esize = bytesPerElement(ref.dtype);
  if (esize === undefined || !decodableToF64(ref.dtype)) return fail(`cannot decode ${ref.dtype}`);
  if (ref.numel > MAX_POSITION_IDS) return fail(`${ref.numel} elements: too many for position ids`);
  let fd: number;
  try {
    fd = openSync(ref.file, 'r');
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  try {
    const bytes = new Uint8Array(ref.numel * esize);
    readTensorElements(fd, ref, 0, ref.numel, bytes, 0);
    const values = new Float64Array(ref.numel);
    decodeToF64(ref.dtype, bytes, ref.numel, values);
    return { ...base, ...checkPositionValues(values, ref.shape) };
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  } finally {
    closeSync(fd);
  }
}

/** Wasted space of a model from its tensor table (pure over the header). */
export function wastedSpace(model: LoadedModel, unexpected: readonly string[]): WastedSpace {
  let emaTensors = 0;
  let emaBytes = 0;
  const floatParams = new Map<string, number>();
  const wide: TensorRef[] = [];
  for (const [key, { ref, component }] of model.tensors) {
    if (component === 'ema' && !EMA_SCALARS.has(key)) {
      emaTensors++;
      emaBytes += ref.byteLength;
      continue;
    }
    if (DTYPES[ref.dtype].kind !== 'float') continue;
    floatParams.set(ref.dtype, (floatParams.get(ref.dtype) ?? 0) + ref.numel);
    if (DTYPES[ref.dtype].bits > 16) wide.push(ref);
  }
  let total = 0;
  let half = 0;
  let dominant: string | null = null;
  let dominantParams = -1;
  for (const [d, p] of floatParams) {
    total += p;
    if (d === 'F16' || d === 'BF16') half += p;
    if (p > dominantParams) (dominant = d), (dominantParams = p);
  }
  const savings = wide.reduce((s, r) => s + r.byteLength - r.numel * 2, 0);
  const mostlyHalf = total > 0 && half * 2 >= total;
  const unexpectedSet = new Set(unexpected);
  let unexpectedBytes = 0;
  for (const [key, { ref }] of model.tensors) if (unexpectedSet.has(key)) unexpectedBytes += ref.byteLength;
  return {
    emaTensors,
    emaBytes,
    dominantFloat: dominant,
    wideInHalfTensors: mostlyHalf ? wide.length : 0,
    wideInHalfSavings: mostlyHalf ? savings : 0,
    fp16CopySavings: savings,
    unexpectedBytes,
  };
}

function MiB(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** The health of one model: `info` from result.json, `model` its header opened again (null if it could not be). */
export function modelHealth(info: ModelInfo, model: LoadedModel | null, error?: string): ModelHealth {
  const findings: ModelHealth['findings'] = [];
  const th = info.tensorHealth ?? { nonFinite: [], allZero: [], nonFiniteCount: 0, allZeroCount: 0 };
  const componentOfKey = (k: string) => model?.tensors.get(k)?.component ?? familyComponentOf(info.arch, k) ?? 'other';
  const benign = th.allZero.filter((k) => !isModelComponent(componentOfKey(k)));
  // a part of a model (a bare transformer, a VAE file) lacks nothing; results written before roles count as checkpoints;
  // a LoRA changes some weights of a model: it is not expected to hold every component either
  const missing = !info.lora && (info.role ?? 'checkpoint') === 'checkpoint' ? (EXPECTED_COMPONENTS[info.arch] ?? []).filter((c) => !info.components[c]) : [];
  const h: ModelHealth = {
    model: info.index,
    file: info.file,
    arch: info.arch,
    positionIds: [],
    nonFinite: { keys: th.nonFinite, count: th.nonFiniteCount },
    allZero: { keys: th.allZero, count: th.allZeroCount, benign },
    missingComponents: missing,
    unexpectedKeys: { keys: [], count: 0 },
    wasted: null,
    findings,
    status: 'ok',
  };
  if (error) h.error = error;

  if (model) {
    for (const [key, { ref }] of model.tensors) if (key.endsWith('position_ids')) h.positionIds.push(readPositionIds(key, ref));
    h.positionIds.sort((a, b) => (a.key < b.key ? -1 : 1));
    const unexpected = unexpectedKeys(info.arch, model.tensors.keys());
    h.unexpectedKeys = { keys: unexpected.slice(0, MAX_LISTED), count: unexpected.length };
    h.wasted = wastedSpace(model, unexpected);
  }

  for (const p of h.positionIds) {
    if (p.status === 'corrupt') {
      const first = p.bad[0]!;
      findings.push({
        severity: 'error',
        message: `${p.key} (${p.dtype}) is not 0..${(p.shape.at(-1) ?? 1) - 1}: ${p.badCount} values off, e.g. [${first.index}] = ${Number(first.value.toPrecision(7))} (max deviation ${Number(p.maxDeviation!.toPrecision(4))}${p.fixableByRounding ? '; rounding fixes it' : ''})`,
      });
    } else if (p.status === 'unreadable') findings.push({ severity: 'warning', message: `${p.key} could not be checked: ${p.error}` });
  }
  if (th.nonFiniteCount > 0) findings.push({ severity: 'error', message: `${th.nonFiniteCount} tensor${th.nonFiniteCount > 1 ? 's' : ''} with NaN/Inf values (first: ${th.nonFinite[0]})` });
  const harmfulZero = th.allZero.filter((k) => !benign.includes(k));
  if (harmfulZero.length > 0) findings.push({ severity: 'warning', message: `${harmfulZero.length} all-zero weight tensor${harmfulZero.length > 1 ? 's' : ''} (first: ${harmfulZero[0]})` });
  if (missing.length > 0) findings.push({ severity: 'warning', message: `missing for ${info.arch}: ${missing.join(', ')}` });
  if (h.unexpectedKeys.count > 0) findings.push({ severity: 'warning', message: `${h.unexpectedKeys.count} unexpected key${h.unexpectedKeys.count > 1 ? 's' : ''} (${MiB(h.wasted?.unexpectedBytes ?? 0)}; first: ${h.unexpectedKeys.keys[0]})` });
  if (h.wasted && h.wasted.emaBytes > 0) findings.push({ severity: 'info', message: `EMA copy: ${h.wasted.emaTensors} tensors, ${MiB(h.wasted.emaBytes)} not needed for inference` });
  // worth a line when it is at least 1% of the file
  if (h.wasted && h.wasted.wideInHalfTensors > 0 && h.wasted.wideInHalfSavings * 100 >= info.sizeBytes) findings.push({ severity: 'info', message: `${h.wasted.wideInHalfTensors} fp32 tensors in a ${h.wasted.dominantFloat} model: ${MiB(h.wasted.wideInHalfSavings)} would be saved in F16` });
  findings.push(...storageFindings(th, model));
  if (error) findings.push({ severity: 'warning', message: `the file could not be opened again: ${error}` });
  if (info.lora) for (const note of info.notes) findings.push({ severity: 'info', message: note });
  const rank = { error: 0, warning: 1, info: 2 } as const;
  findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
  h.status = findings.some((f) => f.severity === 'error') ? 'error' : findings.some((f) => f.severity === 'warning') ? 'warning' : 'ok';
  return h;
}

/** Share of parameters from which a storage pattern is said of the whole model (norms and biases may differ). */
const MOST = 0.9;
const pct = (x: number) => `${Math.round(x * 100)}%`;

/**
 * Findings about how the weights are stored (see the file comment), from the engine's facts (tensorHealth) and the
 * header opened again (`model`: quantisation of each tensor, the file's storage facts).
 */
export function storageFindings(th: TensorHealth, model: LoadedModel | null): ModelHealth['findings'] {
  const out: ModelHealth['findings'] = [];
  const half = th.halfPrecision;
  if (half && half.params > 0) {
    for (const [name, params, tensors] of [['e4m3fn', half.e4m3fnParams, half.e4m3fnTensors], ['e5m2', half.e5m2Params, half.e5m2Tensors]] as const) {
      if (params < MOST * half.params) continue;
      const all = tensors === half.tensors;
      out.push({
        severity: 'warning',
        message:
          `${all ? `every value of its ${half.tensors}` : `every value of ${tensors} of its ${half.tensors}`} F16/BF16 tensors (${pct(params / half.params)} of their parameters) is exactly an fp8 ${name} value: ` +
          'an fp8 model stored in 16 bits, twice the size of its fp8 original with no more precision',
      });
      break;
    }
  }
  const plain = th.plainFp8;
  if (plain && plain.tensors > 0 && plain.atMaxParams >= MOST * plain.params) {
    out.push({
      severity: 'warning',
      message: `${plain.atMaxTensors} of its ${plain.tensors} unscaled fp8 tensors reach the largest fp8 value, as scaled-fp8 weights do: their scale tensors look missing, and their values are off by those scales`,
    });
  }
  if (model) {
    let scaled = 0;
    let unscaled = 0;
    let firstUnscaled = '';
    for (const [key, { ref }] of model.tensors) {
      if (ref.quant?.scheme === 'scaled-fp8') scaled++;
      else if (!ref.quant && (ref.dtype === 'F8_E4M3' || ref.dtype === 'F8_E5M2') && ref.shape.length >= 2) {
        if (unscaled++ === 0) firstUnscaled = key;
      }
    }
    if (unscaled > 0 && (scaled > 0 || model.facts.scaledFp8Marker)) {
      out.push({
        severity: 'warning',
        message:
          `${unscaled} fp8 weight${unscaled > 1 ? 's have' : ' has'} no scale (first: ${firstUnscaled}) in a ${scaled > 0 ? `file whose other ${scaled} fp8 weights have one` : 'file with the scaled_fp8 marker'}: ` +
          'read as plain fp8 values, which are off by the missing scale',
      });
    }
    const trailing = model.facts.trailingBytes ?? 0;
    if (trailing > 0) {
      out.push({
        severity: 'warning',
        message: `${trailing} bytes after the last tensor: the safetensors library refuses the file ("incomplete metadata, file not fully covered" in ComfyUI); its tensors are intact and were compared, and a copy without the extra bytes loads`,
      });
    }
  }
  return out;
}

/** Health of every model of a compare output (opens each model's header again; reads only position_ids). */
export async function checkHealth(source: string | ResultSource, opts: { signal?: AbortSignal } = {}): Promise<ModelHealth[]> {
  const { result } = openSource(source);
  const out: ModelHealth[] = [];
  for (const info of result.models) {
    let model: LoadedModel | null = null;
    let error: string | undefined;
    // a LoRA's tensors are factors, not weights: its checks were made when it was read (its notes)
    if (info.lora) {
      out.push(modelHealth(info, null));
      continue;
    }
    try {
      const ck = await openCheckpoint(info.path, opts.signal, { extractWeights: !!result.options.extractWeights });
      if (ck.sizeBytes !== info.sizeBytes) error = `its size changed since the comparison (${info.sizeBytes} -> ${ck.sizeBytes} bytes)`;
      model = loadModel(ck, info.index);
    } catch (e) {
      if (e instanceof Error && 'code' in e && (e as { code: string }).code === 'CANCELLED') throw e;
      error = e instanceof Error ? e.message : String(e);
    }
    out.push(modelHealth(info, model, error));
  }
  return out;
}
