import { checkHealth, type ModelHealth } from '../../compute';
import { parseCommand, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { JSON_OPTION } from '../options';
import { formatBytes } from '../../shared/format';
import { shown } from '../terminal';
import { json, modelNames, OK, printLines, source } from './common';

export const healthSpec: CommandSpec = {
  name: 'health',
  brief: 'position_ids, NaN/Inf, all-zero tensors, missing components, wasted space',
  usage: ['<dir> [options]'],
  summary: 'Checks every model of a compare output: position_ids, NaN/Inf, all-zero tensors, missing components, unexpected\nkeys, wasted space.',
  positionals: { min: 1, max: 1 },
  options: { json: JSON_OPTION },
};
const MARK = { error: '✗', warning: '!', info: '·' } as const;

export function healthText(models: readonly ModelHealth[], names?: readonly string[]): string {
  const lines: string[] = [];
  for (const m of models) {
    const size = m.wasted && m.wasted.fp16CopySavings > 0 ? `; an fp16 copy would save ${formatBytes(m.wasted.fp16CopySavings)}` : '';
    lines.push(`${m.status === 'ok' ? '✓' : m.status === 'error' ? '✗' : '!'} ${names?.[m.model] ?? shown(m.file)} (${m.arch}${size})`);
    for (const f of m.findings) lines.push(`    ${MARK[f.severity]} ${shown(f.message)}`);
  }
  const bad = models.filter((m) => m.status !== 'ok').length;
  lines.push('', `${models.length} models, ${bad} with problems`);
  return lines.join('\n');
}

export async function healthCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(healthSpec, argv);
  if (!p) return EXIT.ok;
  const src = source(p.positional[0]!);
  const h = await checkHealth(src, { signal });
  if (p.flags.has('json')) json(h);
  else printLines(healthText(h, modelNames(src.result)));
  return OK;
}
