/** `modeldiff pair`: the drill-down of one pair by a direct pass (L2, L1, L0, max |diff| per component and key). */
import { resolve } from 'node:path';
import { pairMetrics } from '../../compute';
import { parseArgs, stringFlag } from '../args';
import { EXIT } from '../exitCodes';
import { output } from './common';
import { toCsv } from '../../shared/csv';
import { distanceText } from '../summary';

export async function pairCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, ['no-ema', 'extract-weights'], ['components', 'csv']);
  const [a, b] = p.positional;
  if (!a || !b) {
    process.stderr.write('usage: modeldiff pair <modelA> <modelB> [--components c,...] [--csv file]\n');
    return EXIT.usage;
  }
  const r = await pairMetrics(resolve(a), resolve(b), {
      components: stringFlag(p, 'components')?.split(',').map((s) => s.trim()).filter(Boolean) ?? null,
      includeEma: !p.flags.has('no-ema'),
      signal,
      extractWeights: p.flags.has('extract-weights'),
    });
    const lines = [`${a}  vs  ${b}`, `${'component'.padEnd(9)} ${'L2'.padStart(12)} ${'L1'.padStart(12)} ${'changed'.padStart(14)} ${'max |diff|'.padStart(12)} ${'cosine'.padStart(12)}`];
    for (const [c, m] of Object.entries(r.components)) {
      const changed = `${m.l0}/${m.elements}`;
      lines.push(`${c.padEnd(9)} ${distanceText(m.l2).padStart(12)} ${distanceText(m.l1).padStart(12)} ${changed.padStart(14)} ${distanceText(m.max_abs).padStart(12)} ${(m.cosine === null ? '—' : m.cosine.toFixed(8)).padStart(12)}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    const csv = stringFlag(p, 'csv');
    if (csv) {
      output(csv, toCsv(['key', 'component', 'elements', 'l2', 'l1', 'l0', 'max_abs'], r.keys.map((k) => [k.key, k.component, k.elements, Math.sqrt(k.l2sq), k.l1, k.l0, k.maxAbs])));
    }
  return EXIT.ok;
}
