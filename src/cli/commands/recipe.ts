import { estimateRecipe, ModeldiffError, parseTimeEmbed, REL_RESIDUAL_FLOOR, type MixtureFit, type RecipeEstimate } from '../../compute';
import { choiceFlag, intFlag, listFlag, parseCommand, stringFlag, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { BLOCK_NAMES_OPTION, BLOCK_NAMINGS, JSON_OPTION, TIME_EMBED_OPTION } from '../options';
import { distanceText } from '../summary';
import { shown } from '../terminal';
import { json, lpad, modelIndex, modelNames, OK, pad, printLines, source } from './common';

/** Parents a merge estimate fits at most (more are ill-conditioned on one model's differences). */
export const MAX_PARENTS = 6;

export const recipeSpec: CommandSpec = {
  name: 'recipe',
  brief: 'per-block merge weights of a model from its parents',
  usage: ['<dir> <model> [options]'],
  summary: 'Per-block merge weights of a model from its parents (given, declared in its metadata, or the best-fitting nearest models).',
  positionals: { min: 2, max: 2 },
  options: {
    parents: { type: 'string', short: 'p', arg: 'A,B,...', help: `the parents, comma-separated (1 to ${MAX_PARENTS} models of the result)` },
    count: { type: 'string', short: 'n', arg: 'N', help: `how many nearest models to try as parents, 1 to ${MAX_PARENTS} (default 2)` },
    'time-embed': TIME_EMBED_OPTION,
    'block-names': BLOCK_NAMES_OPTION,
    json: JSON_OPTION,
  },
};

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

export function recipeText(r: RecipeEstimate, names?: readonly string[]): string {
  const name = (model: number, file: string) => names?.[model] ?? shown(file);
  const k = r.parents.length;
  const lines = [`${name(r.model, r.file)}: merge estimate (${r.parentsFrom === 'user' ? 'parents as given' : r.parentsFrom === 'declared' ? 'declared parents' : 'parents = best-fitting nearest models'})`];
  r.parents.forEach((p, i) => lines.push(`  P${i} = ${name(p.model, p.file)}`));
  if (k === 0) {
    lines.push(...r.notes.map((n) => `  note: ${shown(n)}`));
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
  for (const n of r.notes) lines.push(`  note: ${shown(n)}`);
  return lines.join('\n');
}

export function recipeCommand(argv: string[]): number {
  const p = parseCommand(recipeSpec, argv);
  if (!p) return EXIT.ok;
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const count = intFlag(p, 'count', 1, MAX_PARENTS);
  const parentNames = listFlag(p, 'parents');
  if (parentNames && parentNames.length > MAX_PARENTS) throw new ModeldiffError('USAGE', `--parents names at most ${MAX_PARENTS} models`);
  const [dir, model] = p.positional as [string, string];
  const src = source(dir);
  const m = modelIndex(src, model);
  const parents = parentNames?.map((s) => modelIndex(src, s));
  if (parents?.includes(m)) throw new ModeldiffError('USAGE', '--parents: a model is not its own parent');
  const blockNames = choiceFlag(p, 'block-names', BLOCK_NAMINGS, 'comfyui');
  const r = estimateRecipe(src, m, { blockNames, ...(parents ? { parents } : {}), ...(timeEmbed ? { timeEmbed } : {}), ...(count ? { count } : {}) });
  if (p.flags.has('json')) json(r);
  else printLines(recipeText(r, modelNames(src.result)));
  return OK;
}
