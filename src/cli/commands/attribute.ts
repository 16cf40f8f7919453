/** `modeldiff attribute`: which LoRAs, at what strengths, make up (checkpoint - base). */
import { basename, resolve } from 'node:path';
import { attributeFiles, type AttributeFilesResult } from '../../compute';
import { formatDuration } from '../../shared/format';
import { intFlag, parseArgs, stringFlag } from '../args';
import { EXIT } from '../exitCodes';
import { distanceText } from '../summary';
import { json, lpad, pad, usage } from './common';

const LINE = 'modeldiff attribute <checkpoint> --base <checkpoint> <lora files or folders...> [--unconstrained] [--memory MiB] [--extract-weights] [--json]';

export const ATTRIBUTE_HELP = `usage: ${LINE}

The strength of each LoRA in (checkpoint - base): least squares of the difference by the LoRAs' effective weight
changes (dW = up @ down * alpha / rank; LoHa, LoKr, DoRA and full modules as LyCORIS defines them), over the
weights the LoRAs change, in float64. Strengths are >= 0 unless --unconstrained. The residual says how much of
the difference on those weights the LoRAs leave unexplained; a checkpoint merged from the base and these LoRAs
has a residual near 0 (the rounding of its stored weights).

Options:
  --base <checkpoint>   the model the checkpoint was made from (required)
  --unconstrained       allow negative strengths (a LoRA subtracted)
  --memory MiB          bound on the factor buffers held at once (default 256)
  --extract-weights     read .ckpt/.pt files that pickle inert objects beside the weights (see compare)
  --json                print {"loras":[{"file","path","strength","keys","dependent"}],"relResidual","explained",...}
  -h, --help            this text

Folders are searched for LoRA files (checkpoints in them are skipped); a file that cannot be used is listed and
the others are attributed. Exit codes: 0 done, 1 some LoRA files could not be used, 2 usage, 3 failure
(the checkpoint or the base cannot be read), 130 cancelled.`;

export async function attributeCommand(argv: string[], signal: AbortSignal): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(ATTRIBUTE_HELP + '\n');
    return EXIT.ok;
  }
  const p = parseArgs(argv, ['json', 'unconstrained', 'extract-weights'], ['base', 'memory']);
  const base = stringFlag(p, 'base');
  const [checkpoint, ...loras] = p.positional;
  if (!checkpoint || !base || loras.length === 0) return usage(`${LINE}\n(modeldiff attribute --help says more)`);
  const memory = intFlag(p, 'memory', 16);
  const progress = keyProgress();
  let r: AttributeFilesResult;
  try {
    r = await attributeFiles(resolve(checkpoint), resolve(base), loras, {
      allowNegative: p.flags.has('unconstrained'),
      memoryBudgetMiB: memory,
      extractWeights: p.flags.has('extract-weights'),
      signal,
      onProgress: progress.update,
    });
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
