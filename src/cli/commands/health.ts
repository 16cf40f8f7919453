import { checkHealth, type ModelHealth } from '../../compute';
import { parseArgs } from '../args';
import { EXIT } from '../exitCodes';
import { json, source, usage } from './common';
import { formatBytes } from '../../shared/format';

const LINE = 'modeldiff health <dir> [--json]';
const MARK = { error: '✗', warning: '!', info: '·' } as const;

export function healthText(models: readonly ModelHealth[]): string {
  const lines: string[] = [];
  for (const m of models) {
    const size = m.wasted && m.wasted.fp16CopySavings > 0 ? `; an fp16 copy would save ${formatBytes(m.wasted.fp16CopySavings)}` : '';
    lines.push(`${m.status === 'ok' ? '✓' : m.status === 'error' ? '✗' : '!'} ${m.file} (${m.arch}${size})`);
    for (const f of m.findings) lines.push(`    ${MARK[f.severity]} ${f.message}`);
  }
  const bad = models.filter((m) => m.status !== 'ok').length;
  lines.push('', `${models.length} models, ${bad} with problems`);
  return lines.join('\n');
}

export async function healthCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, ['json'], []);
  const [dir] = p.positional;
  if (!dir) return usage(LINE);
  const h = await checkHealth(source(dir), { signal });
  if (p.flags.has('json')) json(h);
  else process.stdout.write(healthText(h) + '\n');
  return EXIT.ok;
}
