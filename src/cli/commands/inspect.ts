/** `modeldiff inspect`: architecture, components, dtypes and metadata of one model, from its header. */
import { resolve } from 'node:path';
import { loadModel, openCheckpoint } from '../../compute';
import { parseArgs } from '../args';
import { EXIT } from '../exitCodes';
import { formatBytes, formatCount } from '../../shared/format';

export async function inspectCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['json', 'extract-weights'], []);
  const [file] = p.positional;
  if (!file) {
    process.stderr.write('usage: modeldiff inspect <file>\n');
    return EXIT.usage;
  }
  const model = loadModel(await openCheckpoint(resolve(file), undefined, { extractWeights: p.flags.has('extract-weights') }), 0);
  const info = model.info;
  if (p.flags.has('json')) {
    const tensors = [...model.tensors].map(([key, t]) => ({ key, name: t.ref.name, component: t.component, dtype: t.ref.dtype, shape: t.ref.shape }));
    process.stdout.write(JSON.stringify({ ...info, tensors }, null, 1) + '\n');
    return EXIT.ok;
  }
  const lines = [`${info.file}: ${info.archDetail}`, `  format ${info.format}, ${formatBytes(info.sizeBytes)}, ${info.tensorCount} tensors, ${formatCount(info.paramCount)} parameters`];
  for (const [c, s] of Object.entries(info.components)) {
    lines.push(`  ${c.padEnd(6)} ${String(s.tensors).padStart(5)} tensors ${formatCount(s.params).padStart(9)} params  ${Object.entries(s.dtypes).map(([d, n]) => `${d}x${n}`).join(' ')}`);
  }
  for (const note of info.notes) lines.push(`  note: ${note}`);
  const meta = Object.entries(info.metadata);
  if (meta.length) {
    lines.push('  metadata:');
    for (const [k, v] of meta) lines.push(`    ${k}: ${v.length > 200 ? v.slice(0, 200) + '…' : v}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.ok;
}
