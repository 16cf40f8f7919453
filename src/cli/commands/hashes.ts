import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findModels, MODEL_EXTENSIONS, HashCache, modelHashes, sharedComponents, type ModelHashes, type SharedComponent } from '../../compute';
import { parseArgs } from '../args';
import { EXIT } from '../exitCodes';
import { hashCachePath, json, pad, usage } from './common';
import { formatBytes } from '../../shared/format';

const LINE = 'modeldiff hashes <folder | files...> [--components] [--extract-weights] [--cache file | --no-cache] [--json]';

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
  const w = Math.max(4, ...models.map((m) => m.file.length));
  const lines = [`${pad('file', w)}  ${pad('AutoV2', 10)}  ${pad('legacy', 8)}  ${pad('AutoV3', 12)}  SHA-256`];
  for (const m of models) {
    if (!m.hashes) {
      lines.push(`${pad(m.file, w)}  error: ${m.error}`);
      continue;
    }
    const h = m.hashes;
    lines.push(`${pad(m.file, w)}  ${h.autov2}  ${h.legacy}${h.legacyUnreliable ? '*' : ' '}  ${pad(h.autov3Short ?? '—', 12)}  ${h.sha256}`);
    if (m.components) lines.push(`${' '.repeat(w)}  components: ${Object.entries(m.components).map(([c, x]) => `${c} ${x.sha256.slice(0, 12)}`).join(', ')}`);
    if (m.error) lines.push(`${' '.repeat(w)}  error: ${m.error}`);
  }
  if (models.some((m) => m.hashes?.legacyUnreliable)) lines.push('', '* file under 2 MiB: Civitai shows no legacy (AutoV1) hash for it');
  if (shared) {
    lines.push('', shared.length ? 'Same component content in several files:' : 'No component is shared between files.');
    for (const s of shared) lines.push(`  ${s.sha256.slice(0, 12)} (${s.tensors} tensors, ${formatBytes(s.bytes)}): ${s.members.map((x) => `${x.file}:${x.component}`).join(', ')}`);
  }
  return lines.join('\n');
}

export async function hashesCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, ['components', 'no-cache', 'json', 'extract-weights'], ['cache']);
  if (!p.positional.length) return usage(LINE);
  const cachePath = hashCachePath(p);
  const cache = cachePath === null ? undefined : new HashCache(cachePath);
  const files = await modelFiles(p.positional);
    const models: ModelHashes[] = [];
    for (const [i, f] of files.entries()) {
      if (process.stderr.isTTY) process.stderr.write(`\rhashing ${i + 1}/${files.length} ${f.split(/[\\/]/).pop()}\x1b[K`);
      models.push(await modelHashes(f, { components: p.flags.has('components'), extractWeights: p.flags.has('extract-weights'), signal, ...(cache ? { cache } : {}) }));
      cache?.save();
    }
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const shared = p.flags.has('components') ? sharedComponents(models) : null;
    if (p.flags.has('json')) json({ models, shared });
    else process.stdout.write(hashesText(models, shared) + '\n');
  return models.some((m) => m.error) ? EXIT.fileErrors : EXIT.ok;
}
