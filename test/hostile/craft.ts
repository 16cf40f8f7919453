/** Builders shared by the hostile cases: small valid checkpoints to start from, and pickles wrapped in a zip. */
import type { DType } from '../../src/compute/model/dtypes';
import { OP } from '../../src/compute/readers/pickle/opcodes';
import { PickleWriter } from '../fixtures/pickleWriter';
import { contiguousTensors, torchZipBytes, type TorchCheckpoint, type TorchStorage, type TorchZipOptions } from '../fixtures/torchWriter';

export function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** Two small F32 tensors, one storage each. */
export function smallCheckpoint(): TorchCheckpoint {
  return {
    tensors: contiguousTensors([
      { name: 'model.diffusion_model.out.2.weight', dtype: 'F32', shape: [2, 3], bytes: f32([1, 2, 3, 4, 5, 6]) },
      { name: 'model.diffusion_model.out.2.bias', dtype: 'F32', shape: [2], bytes: f32([7, 8]) },
    ]),
  };
}

export function zipBytes(ckpt: TorchCheckpoint = smallCheckpoint(), opts: TorchZipOptions = {}): Uint8Array {
  return torchZipBytes(ckpt, opts).bytes;
}

/** A torch zip whose data.pkl is `pickle`, with data records for `storages`. */
export function zipWithPickle(pickle: Uint8Array, storages: TorchStorage[] = []): Uint8Array {
  const ckpt: TorchCheckpoint = { tensors: storages.map((s, i) => ({ name: `t${i}`, storage: s, shape: [s.bytes.length] })) };
  return torchZipBytes(ckpt, { pickle }).bytes;
}

export function storage(key: string, dtype: DType, bytes: Uint8Array): TorchStorage {
  return { key, dtype, bytes };
}

/** `{"w": <tensor built by body>}`: body emits the tensor expression on `w`. */
export function stateDictPickle(body: (w: PickleWriter) => void, protocol = 2): Uint8Array {
  const w = new PickleWriter(protocol).proto();
  w.op(OP.EMPTY_DICT);
  w.str('w');
  body(w);
  w.op(OP.SETITEM).stop();
  return w.toBytes();
}

/** Emits the persistent id ('storage', torch.<cls>, key, 'cpu', numel) and BINPERSID. */
export function persid(w: PickleWriter, cls: string, key: string, numel: number | bigint, extra: ((w: PickleWriter) => void)[] = []): void {
  w.mark().str('storage').global('torch', cls).str(key).str('cpu').int(numel);
  for (const e of extra) e(w);
  w.op(OP.TUPLE).op(OP.BINPERSID);
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` with the given pieces. */
export function rebuildV2(w: PickleWriter, opts: { cls?: string; key?: string; numel?: number; offset?: number; size?: number[]; stride?: number[]; args?: (w: PickleWriter) => void } = {}): void {
  w.global('torch._utils', '_rebuild_tensor_v2');
  w.mark();
  if (opts.args) opts.args(w);
  else {
    persid(w, opts.cls ?? 'FloatStorage', opts.key ?? '0', opts.numel ?? 2);
    w.int(opts.offset ?? 0);
    tupleOf(w, opts.size ?? [2]);
    tupleOf(w, opts.stride ?? [1]);
    w.bool(false);
    w.global('collections', 'OrderedDict').tuple(0).op(OP.REDUCE);
  }
  w.op(OP.TUPLE).op(OP.REDUCE);
}

export function tupleOf(w: PickleWriter, items: number[]): void {
  w.mark();
  for (const i of items) w.int(i);
  w.op(OP.TUPLE);
}

/** A pickle that imports module.name and calls it with one string argument (the classic payload shape). */
export function callPickle(module: string, name: string, protocol = 2): Uint8Array {
  const w = new PickleWriter(protocol).proto();
  w.global(module, name).str('touch /tmp/modeldiff-pwned').tuple(1).op(OP.REDUCE).stop();
  return w.toBytes();
}
