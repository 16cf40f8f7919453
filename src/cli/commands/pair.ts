/** `modeldiff pair`: the drill-down of one pair by a direct pass (L2, L1, L0, max |diff| per component and key). */
import { resolve } from 'node:path';
import { KNOWN_COMPONENTS, pairMetrics } from '../../compute';
import { toCsv } from '../../shared/csv';
import { listFlag, parseCommand, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { EXTRACT_WEIGHTS_OPTION } from '../options';
import { checkInputs } from '../paths';
import { distanceText } from '../summary';
import { shown } from '../terminal';
import { checkOutput, output, printLines } from './common';

export const pairSpec: CommandSpec = {
  name: 'pair',
  brief: 'L2, L1, changed elements, max |diff| of two model files, per component and key',
  usage: ['<modelA> <modelB> [options]'],
  summary: 'Drill-down of one pair by a direct pass over both files: L2, L1, changed-element count (L0), max |difference|\nand cosine per component, and per key in the CSV.',
  positionals: { min: 2, max: 2 },
  options: {
    components: { type: 'string', short: 'c', arg: 'list', help: `only these components, comma-separated (${KNOWN_COMPONENTS.join(' ')})` },
    'no-ema': { type: 'boolean', help: 'leave the EMA copy out' },
    csv: { type: 'string', arg: 'file', optionalValue: true, help: 'also write the per-key values as CSV to <file> (alone or "-": to standard output,\ninstead of the table)' },
    'extract-weights': EXTRACT_WEIGHTS_OPTION,
  },
};

export async function pairCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(pairSpec, argv);
  if (!p) return EXIT.ok;
  const components = listFlag(p, 'components', KNOWN_COMPONENTS, 'component') ?? null;
  const csv = checkOutput(p, 'csv');
  const [a, b] = p.positional as [string, string];
  checkInputs([a, b]);
  const r = await pairMetrics(resolve(a), resolve(b), { components, includeEma: !p.flags.has('no-ema'), signal, extractWeights: p.flags.has('extract-weights') });
  if (csv !== '-') {
    const lines = [`${shown(a)}  vs  ${shown(b)}`, `${'component'.padEnd(9)} ${'L2'.padStart(12)} ${'L1'.padStart(12)} ${'changed'.padStart(14)} ${'max |diff|'.padStart(12)} ${'cosine'.padStart(12)}`];
    for (const [c, m] of Object.entries(r.components)) {
      const changed = `${m.l0}/${m.elements}`;
      lines.push(`${shown(c).padEnd(9)} ${distanceText(m.l2).padStart(12)} ${distanceText(m.l1).padStart(12)} ${changed.padStart(14)} ${distanceText(m.max_abs).padStart(12)} ${(m.cosine === null ? '—' : m.cosine.toFixed(8)).padStart(12)}`);
    }
    printLines(lines);
  }
  if (csv) output(csv, toCsv(['key', 'component', 'elements', 'l2', 'l1', 'l0', 'max_abs'], r.keys.map((k) => [k.key, k.component, k.elements, Math.sqrt(k.l2sq), k.l1, k.l0, k.maxAbs])));
  return EXIT.ok;
}
