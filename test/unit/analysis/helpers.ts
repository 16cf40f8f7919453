/** Shared fixtures for the analysis tests: synthetic folders compared by the real engine (in-thread). */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareModels, type CompareResult } from '../../../src/compute';
import { materialize, type Recipe } from '../../fixtures/synth';
import type { HeaderStyle } from '../../fixtures/safetensorsWriter';

export interface FolderModel {
  file: string;
  recipe: Recipe;
  metadata?: Record<string, string>;
  style?: HeaderStyle;
}

export interface ComparedFolder {
  /** the models */
  dir: string;
  /** the compare output */
  out: string;
  result: CompareResult;
  /** model index by file name */
  index: (file: string) => number;
}

export function tmpRoot(name: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `modeldiff-${name}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function writeModels(dir: string, models: readonly FolderModel[]): void {
  mkdirSync(dir, { recursive: true });
  for (const m of models) {
    const opts: { metadata?: Record<string, string>; style?: HeaderStyle } = {};
    if (m.metadata) opts.metadata = m.metadata;
    if (m.style) opts.style = m.style;
    materialize(m.recipe, join(dir, m.file), opts);
  }
}

/** Writes the models into root/models, compares them into root/out (workers: 0), returns the result. */
export async function comparedFolder(root: string, models: readonly FolderModel[]): Promise<ComparedFolder> {
  const dir = join(root, 'models');
  const out = join(root, 'out');
  writeModels(dir, models);
  const result = await compareModels([dir], { outDir: out, workers: 0 });
  const index = (file: string): number => {
    const i = result.models.findIndex((m) => m.file === file);
    if (i < 0) throw new Error(`no model ${file} in the result`);
    return i;
  };
  return { dir, out, result, index };
}
