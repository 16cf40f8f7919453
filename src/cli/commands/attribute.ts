/** `modeldiff attribute`: which LoRAs, at what strengths, make up (checkpoint - base). */
import { basename, resolve } from 'node:path';
import { attributeInWorker, DEFAULT_FACTOR_BUDGET_MIB, ModeldiffError, type AttributeFilesResult } from '../../compute';
import { formatDuration } from '../../shared/format';
import { intFlag, parseCommand, stringFlag, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { distanceText } from '../summary';
import { EXTRACT_WEIGHTS_OPTION, JSON_OPTION, MEMORY_MIB } from '../options';
import { json, lpad, pad } from './common';

export const attributeSpec: CommandSpec = {
  name: 'attribute',
  brief: 'the strength of each LoRA in (checkpoint - base)',
  usage: ['<checkpoint> --base <checkpoint> <lora files or folders...> [--unconstrained] [--json]'],
  summary: 'The strength of each LoRA in (checkpoint - base), by least squares over the weights the LoRAs change.',
  description:
    'Least squares of the difference by the LoRAs\' effective weight changes (dW = up @ down * alpha / rank; LoHa, LoKr,\n' +
    'DoRA and full modules as LyCORIS defines them), in float64. Strengths are >= 0 unless --unconstrained. The residual\n' +
    'says how much of the difference on those weights the LoRAs leave unexplained; a checkpoint merged from the base and\n' +
    'these LoRAs has a residual near 0. Folders are searched for LoRA files (checkpoints in them are skipped).',
  positionals: { min: 2, max: Infinity },
  options: {
    base: { type: 'string', arg: 'checkpoint', help: 'the model the checkpoint was made from (required)' },
    unconstrained: { type: 'boolean', help: 'allow negative strengths (a LoRA subtracted)' },
    memory: { type: 'string', arg: 'MiB', help: `bound on the factor buffers held at once, ${MEMORY_MIB.min} to ${MEMORY_MIB.max} (default ${DEFAULT_FACTOR_BUDGET_MIB})` },
    'extract-weights': EXTRACT_WEIGHTS_OPTION,
    json: { ...JSON_OPTION, help: 'print {"loras":[{"file","path","strength","keys","dependent"}],"relResidual","explained",...}' },
  },
  exitNotes: '1: some LoRA files could not be used (listed; the others are attributed); 3: the checkpoint or the base cannot be read',
};

export async function attributeCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(attributeSpec, argv);
  if (!p) return EXIT.ok;
  const base = stringFlag(p, 'base');
  if (!base) throw new ModeldiffError('USAGE', '--base <checkpoint> is required: the model the checkpoint was made from');
  const [checkpoint, ...loras] = p.positional;
  const memory = intFlag(p, 'memory', MEMORY_MIB.min, MEMORY_MIB.max);
  const progress = keyProgress();
  let r: AttributeFilesResult;
  try {
    // in a thread of its own: the fit's long synchronous steps would otherwise hold back progress and Ctrl-C
    r = await attributeInWorker(
      { checkpoint: resolve(checkpoint!), base: resolve(base), loras, allowNegative: p.flags.has('unconstrained'), memoryBudgetMiB: memory, extractWeights: p.flags.has('extract-weights') },
      { signal, onProgress: progress.update },
    );
  } finally {
    progress.done();
  }
  if (p.flags.has('json')) json(attributionJson(r, !p.flags.has('unconstrained')));
  else process.stdout.write(attributionText(r, !p.flags.has('unconstrained')) + '\n');
  for (const e of r.errors) process.stderr.write(`modeldiff: ${e.file}: ${e.message}\n`);
  return r.errors.length ? EXIT.fileErrors : EXIT.ok;
}

export function attributionJson(r: AttributeFilesResult, nonNegative: boolean): unknown {
  const a = r.attribution;
  return {
    checkpoint: a.checkpoint,
    base: a.base,
    nonNegative,
    loras: a.loras.map((l) => ({ file: basename(l.file), path: l.file, strength: l.strength, keys: l.keys, dependent: l.dependent })),
    relResidual: a.relResidual,
    explained: a.explained,
    residualFrom: a.residualFrom,
    normD: a.normD,
    keys: a.keys,
    components: a.components.map((c) => ({ component: c.component, keys: c.keys, strengths: c.strengths, relResidual: c.relResidual, explained: c.explained })),
    notes: a.notes,
    errors: r.errors,
  };
}

export function attributionText(r: AttributeFilesResult, nonNegative: boolean): string {
  const a = r.attribution;
  const names = a.loras.map((l) => basename(l.file));
  const w = Math.max(4, ...names.map((n) => n.length));
  const s = (x: number) => x.toFixed(4);
  const lines = [
    `${basename(a.checkpoint)} - ${basename(a.base)}: ${a.loras.length} LoRA${a.loras.length > 1 ? 's' : ''} (strengths ${nonNegative ? '>= 0' : 'unconstrained'})`,
    '',
    `  ${pad('LoRA', w)}  ${lpad('strength', 9)}  ${lpad('weights', 7)}`,
    ...a.loras.map((l, i) => `  ${pad(names[i]!, w)}  ${lpad(s(l.strength), 9)}  ${lpad(String(l.keys), 7)}${l.dependent ? '  (a combination of the others: not identifiable)' : ''}`),
    '',
    `  On the ${a.keys} weights the LoRAs change: ||checkpoint - base|| = ${distanceText(a.normD)}, explained ${(a.explained * 100).toFixed(2)}%, relative residual ${distanceText(a.relResidual)}${a.residualFrom === 'direct' ? ' (recomputed from the weights)' : ''}`,
  ];
  if (a.components.length > 1) {
    lines.push('', '  The same fit per component:');
    const cw = Math.max(...a.components.map((c) => c.component.length));
    for (const c of a.components) lines.push(`    ${pad(c.component, cw)}  ${c.strengths.map(s).join(' ')}  rel. residual ${distanceText(c.relResidual)} (${c.keys} weights)`);
  }
  for (const n of a.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

/** "attributing: 123/456 weights" on a terminal, nothing otherwise. */
function keyProgress(stream: NodeJS.WriteStream = process.stderr): { update: (p: { keysDone: number; keysTotal: number }) => void; done: () => void } {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  const t0 = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update({ keysDone, keysTotal }) {
      const now = Date.now();
      if (now - last < 100 && keysDone < keysTotal) return;
      last = now;
      const spent = (now - t0) / 1000;
      const eta = keysDone > 0 ? ` ETA ${formatDuration((spent / keysDone) * (keysTotal - keysDone))}` : '';
      stream.write(`\r\x1b[2Kattributing: ${keysDone}/${keysTotal} weights${eta}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
