/**
 * DoRA (weight-decomposed LoRA, LyCORIS `dora_scale`): the layer becomes W' = (W + dW) * m / ||W + dW||, the norm
 * taken per output channel (m shaped [out, 1, ...]) or per input channel over everything else (m shaped
 * [1, in, ...]), plus eps, the machine epsilon of m's dtype, as LyCORIS's apply_weight_decompose computes it. The
 * change it makes, W' - W, depends on the base weight W and is dense: it is built here from W's rows.
 */
import type { DType } from '../model/dtypes';
import { ModeldiffError } from '../../shared/errors';
import { readF64, type FileHandles } from './io';
import { doraAxis } from './parse';
import type { LoraModule } from './types';

const EPS: Partial<Record<DType, number>> = { F64: 2 ** -52, F32: 2 ** -23, F16: 2 ** -10, BF16: 2 ** -7 };

/**
 * W' - W for a module with a DoRA magnitude, given its plain delta dW and the base weight W, both rows x cols in
 * the module's own row order (overwrites dW with the result).
 */
export function applyDora(module: LoraModule, dW: Float64Array, W: Float64Array, rows: number, cols: number, files: FileHandles, file: string): Float64Array {
  const ref = module.doraScale!;
  const m = readF64(files, ref);
  const axis = doraAxis(ref, module.shape[0]!, module.shape[1]!);
  const eps = EPS[ref.dtype];
  if (!axis || eps === undefined) throw new ModeldiffError('LORA_UNSUPPORTED', `${module.name}: a DoRA scale of shape [${ref.shape.join(', ')}] (${ref.dtype}) is not supported`, { file });
  for (let e = 0; e < dW.length; e++) dW[e] = W[e]! + dW[e]!;
  if (axis === 'out') {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += dW[r * cols + c]! ** 2;
      const f = m[r]! / (Math.sqrt(s) + eps);
      for (let c = 0; c < cols; c++) dW[r * cols + c] = dW[r * cols + c]! * f - W[r * cols + c]!;
    }
  } else {
    // input channel i owns columns [i*k, (i+1)*k) of the flattened [out, in*kh*kw] matrix
    const channels = m.length;
    const k = cols / channels;
    const norm = new Float64Array(channels);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) norm[Math.floor(c / k)] += dW[r * cols + c]! ** 2;
    const f = norm.map((s, i) => m[i]! / (Math.sqrt(s) + eps));
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dW[r * cols + c] = dW[r * cols + c]! * f[Math.floor(c / k)]! - W[r * cols + c]!;
  }
  return dW;
}
