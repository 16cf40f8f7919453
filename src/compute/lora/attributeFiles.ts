/**
 * `attribute` from paths: opens the base and the checkpoint, reads the LoRAs (folders expanded; a file that is not
 * a LoRA, or a bad one, is listed and the rest go on), and attributes (checkpoint - base) to them (attribute.ts).
 * A LoRA whose factors turn out unreadable while the deltas are read is dropped and the fit made again without it.
 */
import { basename, resolve } from 'node:path';
import { ModeldiffError, throwIfAborted, toModeldiffError } from '../../shared/errors';
import type { FileError } from '../../shared/result';
import { findModels } from '../readers/findModels';
import { openCheckpoint } from '../readers/registry';
import { changedSinceRead, identitiesOf } from '../io/regularFile';
import type { Checkpoint } from '../model/checkpoint';
import { attributeLoras, type Attribution } from './attribute';
import { looksLikeLora } from './index';
import { baseKeySpace } from './keySpace';
import { DEFAULT_FACTOR_BUDGET_MIB } from './pairwise';
import { readLora } from './parse';
import type { LoraModel } from './types';

export interface AttributeFilesOptions {
  /** Allow negative strengths (default: strengths >= 0). */
  allowNegative?: boolean;
  /** Bound on the factor buffers held at once, in MiB (default 256). */
  memoryBudgetMiB?: number;
  extractWeights?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { keysDone: number; keysTotal: number }) => void;
}

export interface AttributeFilesResult {
  attribution: Attribution;
  /** LoRA inputs that could not be used (unreadable, not a LoRA, invalid), each with its reason. */
  errors: FileError[];
}

export async function attributeFiles(checkpointPath: string, basePath: string, inputs: string[], opts: AttributeFilesOptions = {}): Promise<AttributeFilesResult> {
  const open = (p: string) => openCheckpoint(p, opts.signal, { extractWeights: opts.extractWeights });
  const baseCkpt = await open(basePath);
  if (looksLikeLora(baseCkpt)) throw new ModeldiffError('USAGE', '--base must be a checkpoint, and this file is a LoRA', { file: basePath });
  const ckpt = await open(checkpointPath);
  if (looksLikeLora(ckpt)) throw new ModeldiffError('USAGE', 'the model to attribute must be a checkpoint, and this file is a LoRA', { file: checkpointPath });
  const space = baseKeySpace(baseCkpt);

  const errors: FileError[] = [];
  const opened = new Map<string, Checkpoint>();
  const fail = (path: string, e: unknown) => {
    const err = toModeldiffError(e, path);
    if (err.code === 'CANCELLED') throw err;
    errors.push({ ...err.toJSON(), file: basename(path), path });
  };
  const given = new Set(inputs.map((p) => resolve(p)));
  const skip = new Set([resolve(checkpointPath), resolve(basePath)]);
  let models: LoraModel[] = [];
  // modules of a LoRA that the base lacks (or has in another shape) are left out of the fit: said per LoRA
  const leftOutNotes = new Map<string, string>();
  for (const path of await findModels(inputs.map((p) => resolve(p)))) {
    throwIfAborted(opts.signal);
    if (skip.has(path)) continue;
    try {
      const c = await open(path);
      if (!looksLikeLora(c)) {
        // a checkpoint beside the LoRAs in a folder is not one of them; a file named on its own should have been
        if (given.has(path)) throw new ModeldiffError('USAGE', 'not a LoRA: none or few of its tensors are named as LoRA / LyCORIS factors');
        continue;
      }
      const model = readLora(c, { space });
      opened.set(model.file, c);
      const leftOut = model.notes.filter((n) => n.key !== undefined && / left out$/.test(n.message));
      if (leftOut.length) leftOutNotes.set(model.file, `${basename(path)}: ${leftOut.length} module${leftOut.length > 1 ? 's' : ''} left out (first: ${leftOut[0]!.key}: ${leftOut[0]!.message})`);
      models.push(model);
    } catch (e) {
      fail(path, e);
    }
  }
  for (;;) {
    if (models.length === 0) throw new ModeldiffError('USAGE', `no LoRA to attribute${errors.length ? ` (${errors.length} input${errors.length > 1 ? 's' : ''} could not be used: ${errors[0]!.file}: ${errors[0]!.message})` : ''}`);
    try {
      // every file is read as the version its header was read from, checked when opened, when read, and after the fit
      const identities = identitiesOf([...baseCkpt.files, ...ckpt.files, ...models.flatMap((m) => opened.get(m.file)!.files)]);
      const attribution = attributeLoras(ckpt, space, models, {
        allowNegative: opts.allowNegative,
        budgetBytes: (opts.memoryBudgetMiB ?? DEFAULT_FACTOR_BUDGET_MIB) * 2 ** 20,
        signal: opts.signal,
        onProgress: opts.onProgress,
        identities,
      });
      for (const c of [baseCkpt, ckpt]) {
        const changed = await changedSinceRead(c.files);
        if (changed) throw changed;
      }
      const changed = (await Promise.all(models.map(async (m) => ({ m, err: await changedSinceRead(opened.get(m.file)!.files) })))).filter((x) => x.err);
      if (changed.length) {
        for (const { m, err } of changed) fail(m.file, err);
        models = models.filter((m) => !changed.some((x) => x.m === m));
        continue;
      }
      attribution.notes.unshift(...models.flatMap((m) => leftOutNotes.get(m.file) ?? []));
      return { attribution, errors };
    } catch (e) {
      const err = toModeldiffError(e);
      const bad = err.code === 'CANCELLED' ? -1 : models.findIndex((m) => m.file === err.file || opened.get(m.file)!.files.some((f) => f.path === err.file));
      if (bad < 0) throw err;
      fail(models[bad]!.file, err);
      models = models.filter((_, i) => i !== bad);
    }
  }
}
