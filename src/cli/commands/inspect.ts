/** `modeldiff inspect`: architecture, components, dtypes and metadata of one model, from its header. */
import { resolve } from 'node:path';
import { loadModel, openCheckpoint } from '../../compute';
import { parseCommand, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { EXTRACT_WEIGHTS_OPTION, JSON_OPTION } from '../options';
import { checkInputs } from '../paths';
import { modelLine } from '../summary';
import { formatBytes, formatCount } from '../../shared/format';
import { shown } from '../terminal';
import { printLines } from './common';

export const inspectSpec: CommandSpec = {
  name: 'inspect',
  brief: 'architecture, components, dtypes and metadata of one model',
  usage: ['<model> [options]'],
  summary: 'Architecture, components, dtypes and metadata of one model (a file or a diffusers folder), from its header.',
  positionals: { min: 1, max: 1 },
  options: {
    json: { ...JSON_OPTION, help: 'print the model and its tensors (key, component, dtype, shape) as JSON' },
    'extract-weights': EXTRACT_WEIGHTS_OPTION,
  },
};

export async function inspectCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(inspectSpec, argv);
  if (!p) return EXIT.ok;
  const [file] = p.positional as [string];
  checkInputs([file]);
  const checkpoint = await openCheckpoint(resolve(file), signal, { extractWeights: p.flags.has('extract-weights') });
  const model = loadModel(checkpoint, 0);
  const info = model.info;
  if (p.flags.has('json')) {
    const tensors = [...model.tensors].map(([key, t]) => ({ key, name: t.ref.name, component: t.component, dtype: t.ref.dtype, shape: t.ref.shape }));
    process.stdout.write(JSON.stringify({ ...info, tensors }, null, 1) + '\n');
    return EXIT.ok;
  }
  const lines = [`${shown(info.file)}: ${shown(modelLine(info))}`, `  format ${info.format}, ${formatBytes(info.sizeBytes)}, ${info.tensorCount} tensors, ${formatCount(info.paramCount)} parameters`];
  const width = Math.max(6, ...Object.keys(info.components).map((c) => c.length));
  for (const [c, s] of Object.entries(info.components)) {
    lines.push(`  ${shown(c).padEnd(width)} ${String(s.tensors).padStart(5)} tensors ${formatCount(s.params).padStart(9)} params  ${Object.entries(s.dtypes).map(([d, n]) => `${shown(d)}x${n}`).join(' ')}${s.name ? `  (${shown(s.name)})` : ''}`);
  }
  for (const note of info.notes) lines.push(`  note: ${shown(note)}`);
  const meta = Object.entries(info.metadata);
  if (meta.length) {
    lines.push('  metadata:');
    for (const [k, v] of meta) lines.push(`    ${shown(k)}: ${shown(v.length > 200 ? v.slice(0, 200) + '…' : v)}`);
  }
  printLines(lines);
  return EXIT.ok;
}
