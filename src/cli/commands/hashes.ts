import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findModels, MODEL_EXTENSIONS, ModeldiffError, HashCache, modelHashes, sharedComponents, type ModelHashes, type SharedComponent } from '../../compute';
import { distinctPathSuffixes } from '../../shared/displayNames';
import { parseCommand, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { CACHE_OPTIONS, EXTRACT_WEIGHTS_OPTION, JSON_OPTION } from '../options';
import { checkInputs } from '../paths';
import { formatBytes } from '../../shared/format';
import { shown } from '../terminal';
import { hashCachePath, json, pad, printLines } from './common';

export const hashesSpec: CommandSpec = {
  name: 'hashes',
  brief: 'SHA-256/AutoV2, legacy, AutoV3 and component hashes of model files',
  usage: ['<folder | files...> [options]'],
  summary: 'SHA-256 / AutoV2, legacy (AutoV1), AutoV3 and, with --components, per-component content hashes of model files.',
  positionals: { min: 1, max: Infinity },
  options: {
    components: { type: 'boolean', help: 'also a content hash per component, and which components several files share' },
    ...CACHE_OPTIONS,
    'extract-weights': EXTRACT_WEIGHTS_OPTION,
    json: JSON_OPTION,
  },
  exitNotes: 'hashes exits 1 when some files could not be hashed (they are listed with the reason).',
};

/** Model files of the inputs; a diffusers folder contributes each weight file inside it. */
async function modelFiles(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (MODEL_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e))) out.push(p);
    }
  };
  for (const p of await findModels(inputs.map((i) => resolve(i)))) {
    let st;
    try {
      st = statSync(p);
    } catch {
      out.push(p);
      continue;
    }
    if (st.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

export function hashesText(models: readonly ModelHashes[], shared: readonly SharedComponent[] | null): string {
  const suffixes = distinctPathSuffixes(models.map((x) => x.path));
  const label = new Map(models.map((m, i) => [m.path, shown(suffixes[i]!)]));
  const name = (m: { file: string; path?: string }) => (m.path !== undefined && label.get(m.path)) || shown(m.file);
  const w = Math.max(4, ...models.map((m) => name(m).length));
  const lines = [`${pad('file', w)}  ${pad('AutoV2', 10)}  ${pad('legacy', 8)}  ${pad('AutoV3', 12)}  SHA-256`];
  for (const m of models) {
    if (!m.hashes) {
      lines.push(`${pad(name(m), w)}  error: ${shown(m.error ?? 'unknown')}`);
      continue;
    }
    const h = m.hashes;
    lines.push(`${pad(name(m), w)}  ${h.autov2}  ${h.legacy}${h.legacyUnreliable ? '*' : ' '}  ${pad(h.autov3Short ?? '—', 12)}  ${h.sha256}`);
    if (m.components) lines.push(`${' '.repeat(w)}  components: ${Object.entries(m.components).map(([c, x]) => `${shown(c)} ${x.sha256.slice(0, 12)}`).join(', ')}`);
    if (m.error) lines.push(`${' '.repeat(w)}  error: ${shown(m.error)}`);
  }
  if (models.some((m) => m.hashes?.legacyUnreliable)) lines.push('', '* file under 2 MiB: Civitai shows no legacy (AutoV1) hash for it');
  if (shared) {
    const byFile = new Map(models.map((m) => [m.file, name(m)]));
    lines.push('', shared.length ? 'Same component content in several files:' : 'No component is shared between files.');
    for (const s of shared) lines.push(`  ${s.sha256.slice(0, 12)} (${s.tensors} tensors, ${formatBytes(s.bytes)}): ${s.members.map((x) => `${byFile.get(x.file) ?? shown(x.file)}:${shown(x.component)}`).join(', ')}`);
  }
  return lines.join('\n');
}

export async function hashesCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(hashesSpec, argv);
  if (!p) return EXIT.ok;
  const cachePath = hashCachePath(p);
  checkInputs(p.positional);
  const cache = cachePath === null ? undefined : new HashCache(cachePath);
  const files = await modelFiles(p.positional);
  if (!files.length) throw new ModeldiffError('NOTHING_TO_COMPARE', `no model files in ${p.positional.map(shown).join(', ')} (looked for ${MODEL_EXTENSIONS.join(' ')} files and diffusers folders)`);
  const models: ModelHashes[] = [];
  for (const [i, f] of files.entries()) {
    if (process.stderr.isTTY) process.stderr.write(`\rhashing ${i + 1}/${files.length} ${shown(f.split(/[\\/]/).pop()!)}\x1b[K`);
    models.push(await modelHashes(f, { components: p.flags.has('components'), extractWeights: p.flags.has('extract-weights'), signal, ...(cache ? { cache } : {}) }));
    cache?.save();
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const shared = p.flags.has('components') ? sharedComponents(models) : null;
  if (p.flags.has('json')) json({ models, shared });
  else printLines(hashesText(models, shared));
  return models.some((m) => m.error) ? EXIT.fileErrors : EXIT.ok;
}
