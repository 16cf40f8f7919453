/** The compare output a showing command works on: the folder given when it holds result.json, else the models given,
 *  compared first into --results (default ./modeldiff-results). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModeldiffError, RESULT_FILE, type ResultSource } from '../../compute';
import { stringFlag, type Parsed } from '../args';
import { compareWithProgress } from '../compareRun';
import { source } from './common';

export function isCompareOutput(p: Parsed): boolean {
  return p.positional.length === 1 && existsSync(join(resolve(p.positional[0]!), RESULT_FILE));
}

export async function resultFor(p: Parsed, what: string, say: (line: string) => void, signal: AbortSignal): Promise<ResultSource> {
  let src: ResultSource;
  if (isCompareOutput(p)) src = source(p.positional[0]!);
  else {
    const results = resolve(stringFlag(p, 'results') ?? 'modeldiff-results');
    say(`comparing into ${results}`);
    const result = await compareWithProgress(p.positional, results, p, signal);
    src = { dir: results, result };
    for (const e of result.errors) say(`skipped ${e.file}: ${e.message}`);
  }
  if (src.result.models.length < 2) throw new ModeldiffError('USAGE', `need at least 2 readable models for ${what}, found ${src.result.models.length}`);
  return src;
}
