/**
 * `modeldiff charts`: SVG files rendered server-side from the panel's chart builders, checked for the numbers of
 * result.json / analysis.json they must show, well-formed XML with hostile model names escaped, and usage errors.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readAnalysis } from '../../src/compute/analysis';
import { readResult, type CompareResult } from '../../src/compute';
import { chartsCommand, fileStem } from '../../src/cli/commands/charts';
import { base, blockMerge, finetune, layout } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';
import { comparedFolder } from '../unit/analysis/helpers';
import { formatNumber } from '../../src/shared/format';

const HOSTILE = 'm <img src=x onerror=alert(1)> & "q".safetensors';

async function quietly(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const w = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  let out = '';
  let err = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await fn(), out, err };
  } finally {
    process.stdout.write = w;
    process.stderr.write = e;
  }
}

describe('modeldiff charts', () => {
  const root = tmpDir('modeldiff-charts-');
  let out = '';
  let result: CompareResult;

  before(async () => {
    const b = base(layout('sd15', { scale: 32 }), 1);
    const A = finetune(b, { components: ['unet'], sigma: 0.01, seed: 11 });
    const B = finetune(b, { components: ['unet', 'te'], sigma: 0.01, seed: 12 });
    const f = await comparedFolder(root, [
      { file: 'a.safetensors', recipe: A },
      { file: 'b.safetensors', recipe: B },
      { file: 'base.safetensors', recipe: b },
      { file: HOSTILE, recipe: blockMerge(A, B, (k) => (k.includes('.input_blocks.') ? 0.25 : 0.75)) },
    ]);
    out = f.out;
    result = readResult(out);
  });

  test('writes every chart as well-formed SVG with the numbers it stands for', async () => {
    const r = await quietly(() => chartsCommand([out, '--pair', 'a,b', '--model', '3'], new AbortController().signal));
    assert.equal(r.code, 0, r.err);
    const dir = join(out, 'charts');
    const files = readdirSync(dir).sort();
    const expected = [
      ...result.components.map((c) => `distance-${c}-l2.svg`),
      ...['block', 'type', 'vae', 'te'].flatMap((s) => [`breakdown-${s}-a-vs-b.svg`, `breakdown-${s}-pairs.svg`]),
      `recipe-${fileStem(HOSTILE)}.svg`,
      ...result.components.flatMap((c) => [`dendrogram-${c}.svg`, `mst-${c}.svg`]),
    ].sort();
    assert.deepEqual(files, expected);
    for (const f of files) {
      const svg = readFileSync(join(dir, f), 'utf8');
      assert.match(svg, /^<svg[\s>]/, f);
      assert.match(svg, /<\/svg>\s*$/, f);
      assert.doesNotMatch(svg, /<script|<img/i, `${f}: no markup from file names`);
    }
    const analysis = readAnalysis(out);
    const bars = readFileSync(join(dir, 'breakdown-block-a-vs-b.svg'), 'utf8');
    for (const g of analysis.breakdowns.block!.groups.slice(0, 5)) assert.ok(bars.includes(`>${g}<`), `block label ${g}`);
    const recipe = analysis.recipes.find((x) => x.model === 3)!;
    assert.ok(recipe.parents.length >= 2);
    const svg = readFileSync(join(dir, `recipe-${fileStem(HOSTILE)}.svg`), 'utf8');
    assert.ok(svg.includes('IN04') && svg.includes('OUT04'));
    const dist = readFileSync(join(dir, 'distance-unet-l2.svg'), 'utf8');
    const l2 = result.pairs[0]!.components.unet!.l2!;
    assert.ok(dist.includes(`>${formatNumber(l2, 3)}<`), `the a-b UNet distance ${formatNumber(l2, 3)} is printed in its cell`);
    assert.ok(dist.includes('&lt;img src=x') || dist.includes('&#60;img src=x'), 'the hostile name is escaped text');
  });

  test('usage: unknown component, bad pair, bad width', async () => {
    const signal = new AbortController().signal;
    const usage = (pattern: RegExp) => (e: Error & { code?: string }) => e.code === 'USAGE' && pattern.test(e.message);
    await assert.rejects(() => quietly(() => chartsCommand([out, '--component', 'nope'], signal)), usage(/no component "nope" in this result/));
    await assert.rejects(() => quietly(() => chartsCommand([out, '--pair', 'a'], signal)), usage(/--pair names two models/));
    await assert.rejects(() => quietly(() => chartsCommand([out, '--width', '10'], signal)), usage(/--width is a whole number from 320 to 8000/));
  });
});
