/** The compare output a showing command works on: the folder given when it holds result.json, else the models given,
 *  compared first into --results (default ./modeldiff-results). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RESULT_FILE, type ResultSource } from '../../compute';
import { stringFlag, type OptionSpec, type Parsed } from '../args';
import { compareWithProgress, type CompareSettings } from '../compareRun';
import { errorNames } from '../summary';
import { shown } from '../terminal';
import { source } from './common';

export const RESULTS_OPTION: OptionSpec = { type: 'string', short: 'r', arg: 'dir', help: 'given models: the folder they are compared into (default ./modeldiff-results)' };

export function isCompareOutput(p: Parsed): boolean {
  return p.positional.length === 1 && existsSync(join(resolve(p.positional[0]!), RESULT_FILE));
}

/** The result, and how many files the comparison (if one was run) could not read. */
export async function resultFor(p: Parsed, settings: CompareSettings, say: (line: string) => void, signal: AbortSignal): Promise<{ src: ResultSource; fileErrors: number }> {
  if (isCompareOutput(p)) return { src: source(p.positional[0]!), fileErrors: 0 };
  const results = resolve(stringFlag(p, 'results') ?? 'modeldiff-results');
  say(`comparing into ${shown(results)}`);
  const result = await compareWithProgress(p.positional, results, settings, '--results', signal);
  const names = errorNames(result);
  result.errors.forEach((e, i) => say(`skipped ${names[i]}: ${shown(e.message)}`));
  return { src: { dir: results, result }, fileErrors: result.errors.length };
}
