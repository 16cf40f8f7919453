import type { CheckpointFormat } from '../../shared/result';
import type { FileRecord } from '../io/regularFile';
import type { DType } from './dtypes';
import type { QuantEncoding } from '../quant/encoding';

/**
 * Where one tensor's bytes live. Readers produce these from headers only; no tensor data is read to make them.
 * Bytes are little-endian unless `byteOrder` says otherwise.
 */
export interface TensorRef {
  /** Name as stored in the file. */
  name: string;
  dtype: DType;
  shape: number[];
  /** Product of shape (1 for a scalar). */
  numel: number;
  /** Path of the file that holds the bytes (a diffusers folder or a sharded model spans several files). */
  file: string;
  /** Absolute byte offset in `file` of element 0 (for a strided view: of the storage element the view starts at). */
  offset: number;
  /** Bytes the tensor occupies when contiguous: numel * element size. */
  byteLength: number;
  /** Element strides of a non-contiguous view (PyTorch); absent means C-contiguous. */
  strides?: number[];
  byteOrder?: 'little' | 'big';
  /**
   * A tensor stored as contiguous pieces of `file` concatenated along dimension 0 (a diffusers q/k/v triple read as
   * the single-file `in_proj_weight`). `offset` is the first part's; `byteLength` is their sum. Never with `strides`.
   */
  parts?: { offset: number; byteLength: number }[];
  /**
   * Quantised storage (dtype is then a 'quant' kind): the bytes at `offset` (`byteLength` of them) are codes whose
   * values come from this encoding; ranges of elements are read with io/readQuant.ts and dequantised to float32.
   * Never with `strides`, `parts` or big-endian bytes.
   */
  quant?: QuantEncoding;
}

export type { CheckpointFormat };

/** A model file (or folder) opened from its header: the tensor table, metadata, and nothing else. */
export interface Checkpoint {
  /** Path the user gave (file or diffusers folder). */
  path: string;
  format: CheckpointFormat;
  /** Total bytes on disk (all files for a folder). */
  sizeBytes: number;
  tensors: TensorRef[];
  /** safetensors `__metadata__`, string-valued extras of a PyTorch checkpoint (epoch, global_step...), GGUF key/values. */
  metadata: Record<string, string>;
  /** Non-fatal remarks a person should see (non-tensor entries skipped, aliasing storages...). */
  notes: string[];
  /** Every file read to make this checkpoint, with the version read (checked again before its results are kept). */
  files: FileRecord[];
  /** Key naming scheme of the tensor names: single-file LDM/SGM names, or diffusers names needing mapping. */
  naming?: 'ldm' | 'diffusers';
  /** Facts about the file's storage that the health check reports. */
  facts?: StorageFacts;
}

export interface StorageFacts {
  /** safetensors: bytes after the last tensor (the safetensors library refuses the file) */
  trailingBytes?: number;
  /** ComfyUI's `scaled_fp8` marker is present (its fp8 weights should each have a scale) */
  scaledFp8Marker?: boolean;
}
