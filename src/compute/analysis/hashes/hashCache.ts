/** Hashes by (path, size, mtimeMs) in a JSON file, so a file is read for its hashes once. */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite';
import type { ComponentHash, FileHashes } from '../../../shared/analysis';

interface CacheEntry {
  size: number;
  mtimeMs: number;
  file?: Omit<FileHashes, 'path' | 'size' | 'mtimeMs'>;
  components?: Record<string, ComponentHash>;
}

interface CacheFile {
  /** 2: component hashes over per-tensor digests */
  modeldiffHashCache: 2;
  entries: Record<string, CacheEntry>;
}

/** Hashes by absolute path, valid while the file's size and mtime are unchanged. */
export class HashCache {
  private entries: Record<string, CacheEntry> = {};
  private dirty = false;

  constructor(readonly file: string | null) {
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // no cache yet
    }
    try {
      const parsed = JSON.parse(text) as CacheFile;
      if (parsed && parsed.modeldiffHashCache === 2 && parsed.entries && typeof parsed.entries === 'object') this.entries = parsed.entries;
    } catch {
      // a damaged cache is rebuilt
    }
  }

  lookup(path: string, size: number, mtimeMs: number): CacheEntry | undefined {
    const e = this.entries[resolve(path)];
    return e && e.size === size && e.mtimeMs === mtimeMs ? e : undefined;
  }

  store(path: string, size: number, mtimeMs: number, patch: Pick<CacheEntry, 'file' | 'components'>): void {
    const key = resolve(path);
    const old = this.entries[key];
    const base: CacheEntry = old && old.size === size && old.mtimeMs === mtimeMs ? old : { size, mtimeMs };
    this.entries[key] = { ...base, ...patch };
    this.dirty = true;
  }

  /** Writes the cache (atomically) when something changed. */
  save(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const body: CacheFile = { modeldiffHashCache: 2, entries: this.entries };
    writeFileAtomic(this.file, JSON.stringify(body, null, 1));
    this.dirty = false;
  }
}

/** The default cache file: $XDG_CACHE_HOME/modeldiff/hashes.json (or ~/.cache/...). */
export function defaultHashCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || (env.HOME || env.USERPROFILE ? resolve(env.HOME || env.USERPROFILE!, '.cache') : resolve('.cache'));
  return resolve(base, 'modeldiff', 'hashes.json');
}
