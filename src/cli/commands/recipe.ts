import { estimateRecipe, parseTimeEmbed, REL_RESIDUAL_FLOOR, type MixtureFit, type RecipeEstimate } from '../../compute';
import { intFlag, parseArgs, stringFlag } from '../args';
import { json, lpad, modelIndex, pad, source, usage } from './common';
import { EXIT } from '../exitCodes';
import { distanceText } from '../summary';

const LINE = 'modeldiff recipe <dir> <model> [--parents A,B,...] [--count N] [--time-embed BASE|IN00] [--json]';

const w3 = (x: number) => x.toFixed(3);

interface Widths {
  group: number;
  weights: number;
  free: number;
}

function fitLine(f: MixtureFit, w: Widths): string {
  const weights = f.weights.map(w3).join(' ');
  const free = f.free ? f.free.map(w3).join(' ') : '—';
  const rel = f.relResidual < REL_RESIDUAL_FLOOR ? 'exact' : f.relResidual.toFixed(3);
  return `${pad(f.group, w.group)}  ${pad(weights, w.weights)}  ${pad(free, w.free)}  ${lpad(rel, 7)}  ${lpad(distanceText(f.residual), 11)}  ${lpad(String(f.keys), 5)}${f.identifiable ? '' : '  (parents equal here)'}`;
}

export function recipeText(r: RecipeEstimate): string {
  const k = r.parents.length;
  const lines = [`${r.file}: merge estimate (${r.parentsFrom === 'user' ? 'parents as given' : r.parentsFrom === 'declared' ? 'declared parents' : 'parents = best-fitting nearest models'})`];
  r.parents.forEach((p, i) => lines.push(`  P${i} = ${p.file}`));
  if (k === 0) {
    lines.push(...r.notes.map((n) => `  note: ${n}`));
    return lines.join('\n');
  }
  lines.push(`  ${r.description}`, '');
  const all = [...(r.overall ? [r.overall] : []), ...r.blocks, ...r.components];
  const H = { weights: 'weights (>=0, sum 1)', free: 'free (sum 1)' };
  const width: Widths = {
    group: Math.max(5, ...all.map((f) => f.group.length)),
    weights: Math.max(H.weights.length, ...all.map((f) => f.weights.map(w3).join(' ').length)),
    free: Math.max(H.free.length, ...all.map((f) => (f.free ? f.free.map(w3).join(' ').length : 1))),
  };
  lines.push(`${pad('group', width.group)}  ${pad(H.weights, width.weights)}  ${pad(H.free, width.free)}  ${lpad('rel.res', 7)}  ${lpad('residual', 11)}  ${lpad('keys', 5)}`);
  if (r.overall) lines.push(fitLine(r.overall, width), '');
  for (const f of r.blocks) lines.push(fitLine(f, width));
  if (r.components.length) lines.push('');
  for (const f of r.components) lines.push(fitLine(f, width));
  lines.push('', `  weights are per parent P0..P${k - 1}; rel.res = residual / distance to the nearest parent ("exact" below ${REL_RESIDUAL_FLOOR})`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export function recipeCommand(argv: string[]): number {
  const p = parseArgs(argv, ['json'], ['parents', 'count', 'time-embed']);
  const [dir, model] = p.positional;
  if (!dir || !model) return usage(LINE);
  const src = source(dir);
  const m = modelIndex(src, model);
  const parents = stringFlag(p, 'parents')?.split(',').map((s) => s.trim()).filter(Boolean).map((s) => modelIndex(src, s));
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const count = intFlag(p, 'count', 1);
  const r = estimateRecipe(src, m, { ...(parents ? { parents } : {}), ...(timeEmbed ? { timeEmbed } : {}), ...(count ? { count } : {}) });
  if (p.flags.has('json')) json(r);
  else process.stdout.write(recipeText(r) + '\n');
  return EXIT.ok;
}
