/**
 * ENOSPC: the output folder on a small tmpfs that holds an earlier result but not the next one beside it. The run
 * fails with a message naming the file and the reason, the earlier result is left byte for byte, and no staging
 * folder or temporary file is left (the space is free again). Needs `mount -t tmpfs` (root); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareModels, type ModeldiffError } from '../../src/compute';
import { tmpDir } from '../helpers/tmp';
import { assertUnchanged, assertWhole, snapshot, writeFaultModels } from './fixture';

const CLI = resolve(__dirname, '../../dist/cli.js');
const PAGE = 4096;

/** Pages a folder's files take on a tmpfs. */
function pages(dir: string): number {
  return readdirSync(dir).reduce((n, name) => n + Math.ceil(statSync(join(dir, name)).size / PAGE), 0);
}

function tryMount(at: string, bytes: number): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', at], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `mount -t tmpfs failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
}

describe('ENOSPC while writing the output', () => {
  const root = tmpDir('modeldiff-enospc-');
  const mnt = mkdtempSync(join(tmpdir(), 'modeldiff-tmpfs-'));
  let skip: string | null = null;
  let few: string[] = [];
  let many: string[] = [];
  after(() => {
    if (!skip) spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  before(async () => {
    // many keys, so that layers.bin grows with the pairs
    const models = writeFaultModels(root, ['a.safetensors', 'b.safetensors', 'c.safetensors', 'd.safetensors', 'e.safetensors', 'f.safetensors'], { tensors: 150, elements: 1024 });
    few = models.slice(0, 2);
    many = models;
    await compareModels(few, { outDir: join(root, 'size-few'), workers: 0 });
    await compareModels(many, { outDir: join(root, 'size-many'), workers: 0 });
    // room for the earlier result and half of the next one
    const size = (pages(join(root, 'size-few')) + Math.ceil(pages(join(root, 'size-many')) / 2) + 2) * PAGE;
    skip = tryMount(mnt, size);
  });

  it('the run fails naming the file and ENOSPC; the earlier result is untouched; nothing is left; the CLI exits 3', async (t) => {
    if (skip) return t.skip(`needs a small tmpfs (${skip})`);
    const out = join(mnt, 'out');
    await compareModels(few, { outDir: out, workers: 0 });
    const old = snapshot(out);
    for (const workers of [0, 2]) {
      await assert.rejects(compareModels(many, { outDir: out, workers }), (e: ModeldiffError) => {
        assert.equal(e.code, 'IO_ERROR');
        assert.equal(e.details?.errno, 'ENOSPC');
        assert.match(e.message, /^cannot write .*: no space left on the device \(ENOSPC\)$/);
        assert.ok(e.file?.startsWith(`${out}.partial/`), `names the file it could not write: ${e.file}`);
        return true;
      });
      assertUnchanged(out, old);
      assert.deepEqual(readdirSync(mnt), ['out'], 'the space is free again');
    }
    const r = spawnSync(process.execPath, [CLI, 'compare', ...many, '--out', out, '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /out\.partial\/.*no space left on the device \(ENOSPC\)/);
    assertUnchanged(out, old);

    // with room again, the same run replaces the earlier result whole
    execFileSync('mount', ['-o', `remount,size=${64 * 1024 * 1024}`, mnt]);
    const result = await compareModels(many, { outDir: out, workers: 0 });
    assert.equal(assertWhole(out).pairs.length, result.pairs.length);
  });
});
