import { createReferenceKernels } from './reference';
import type { Kernels } from './types';
import { createWasmKernels } from './wasm';

export type { Kernels } from './types';

/**
 * A fresh kernel instance with its own memory. 'wasm' (the default) is WebAssembly SIMD, fused multiply-add when the
 * runtime allows it; it throws ModeldiffError 'WASM_UNAVAILABLE' only when WebAssembly SIMD is unavailable.
 * 'reference' is the plain TypeScript oracle, far too slow for real work.
 */
export function createKernels(kind: 'wasm' | 'reference' = 'wasm'): Kernels {
  return kind === 'reference' ? createReferenceKernels() : createWasmKernels();
}
