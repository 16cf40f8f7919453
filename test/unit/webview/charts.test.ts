/**
 * The pure chart-option builders of src/views/charts rendered to SVG with echarts server-side rendering in Node (no
 * DOM), as the CLI does: every chart has its title and axis names, and the numbers drawn are those of the input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderSvg } from '../../../src/views/charts/ssr';
import { LIGHT_PALETTE } from '../../../src/views/charts/palette';
import { breakdownBarsOption, breakdownHeatmapOption, breakdownHeatmapSize, breakdownRows, heatmapPairs, pairIndexOf } from '../../../src/views/charts/breakdown';
import { EXACT_REL_RESIDUAL, recipeChartOption, recipeRows, relResidualText, weight4 } from '../../../src/views/charts/recipe';
import { dendrogramHeight, dendrogramLayout, dendrogramOption } from '../../../src/views/charts/dendrogram';
import { mstHeight, mstLayout, mstOption } from '../../../src/views/charts/mst';
import { itemTooltip, tipHtml } from '../../../src/views/charts/chartTooltip';
import { escapeHtml } from '../../../src/shared/text';
import { makeAnalysis, UNET_MERGES, UNET_MST } from '../../webview/analysisFixture';
import { HOSTILE_SCRIPT, makeResult, MODEL_FILES } from '../../webview/fixture';
import { formatNumber } from '../../../src/shared/format';
import { modelName } from '../../../src/shared/text';

const analysis = makeAnalysis();
const result = makeResult();

/** The text content of every <text> element, unescaped. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'));
}

function wellFormed(svg: string): void {
  assert.ok(svg.startsWith('<svg'), 'an svg document');
  assert.doesNotMatch(svg, /<script|<img|<foreignObject/i, 'no active content');
}

describe('breakdown charts (SSR)', () => {
  const m = analysis.breakdowns.vae!;
  const p = pairIndexOf(m, 1, 0);

  test('pairIndexOf finds a pair in either order, -1 when absent', () => {
    assert.equal(p, 0);
    assert.equal(pairIndexOf(m, 3, 4), 9);
    assert.equal(pairIndexOf(m, 2, 2), -1);
  });

  test('rows: shares of L2² sum to 1, null stays null', () => {
    const rows = breakdownRows(m, p);
    const total = rows.reduce((s, r) => s + (r.l2 ?? 0) ** 2, 0);
    assert.ok(Math.abs(rows.reduce((s, r) => s + (r.share ?? 0), 0) - 1) < 1e-12);
    assert.equal(rows[1]!.share, rows[1]!.l2! ** 2 / total);
    const te = analysis.breakdowns.te!;
    const na = breakdownRows(te, pairIndexOf(te, 0, 4));
    assert.ok(na.every((r) => r.l2 === null && r.share === null));
  });

  test('bars: title, axis names, one bar label per group with its value', () => {
    const svg = renderSvg(breakdownBarsOption(m, p, LIGHT_PALETTE, { names: result }), 800, 400);
    wellFormed(svg);
    const t = texts(svg);
    assert.ok(t.some((s) => s.startsWith('L2 per VAE part: #0 base <scr')), 'title names the pair (escaped in the SVG)');
    assert.ok(svg.includes('#0 base &lt;script'), 'names are escaped');
    for (const name of ['VAE part', 'L2', 'encoder', 'decoder', 'quant_conv', 'post_quant_conv']) assert.ok(t.includes(name), name);
    for (let g = 0; g < m.groups.length; g++) assert.ok(t.includes(formatNumber(m.l2[g]![p]!)), `value of ${m.groups[g]}`);
  });

  test('bars: a group without a value is labelled n/a, not drawn as 0', () => {
    const b = analysis.breakdowns.block!;
    const svg = renderSvg(breakdownBarsOption(b, pairIndexOf(b, 0, 1), LIGHT_PALETTE), 900, 420);
    const t = texts(svg);
    assert.ok(t.includes('BASE (n/a)'));
    assert.ok(t.includes('IN04'));
    assert.ok(t.includes('merge block'));
    assert.ok(t.some((s) => s.includes('time_embed in BASE')));
  });

  test('heatmap: every pair and group, values in the cells, n/a cells labelled, scale ends', () => {
    const te = analysis.breakdowns.te!;
    const size = breakdownHeatmapSize(te, te.pairs.length);
    const svg = renderSvg(breakdownHeatmapOption(te, result, LIGHT_PALETTE, { selected: 0 }), size.width, size.height);
    wellFormed(svg);
    const t = texts(svg);
    for (const q of te.pairs) assert.ok(t.includes(`#${q.a}–#${q.b}`), `pair ${q.a}-${q.b}`);
    for (const g of te.groups) assert.ok(t.includes(g), g);
    assert.ok(t.includes('pair') && t.includes('text-encoder part'));
    assert.equal(t.filter((s) => s === 'n/a').length, te.groups.length * 4, 'the 4 pairs of model 4 are n/a in every group');
    const values = te.l2.flat().filter((v): v is number => v !== null);
    assert.ok(t.includes(formatNumber(Math.max(...values))) && t.includes(formatNumber(Math.min(...values))), 'scale from min to max');
    assert.ok(t.includes(formatNumber(te.l2[2]![1]!, 3)), 'a cell value');
  });

  test('heatmapPairs: all pairs when few, else those of the selected models first, in order', () => {
    const b = analysis.breakdowns.block!;
    assert.deepEqual(heatmapPairs(b, 0, 1), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // pairs of models 3 and 4: (0,3) (0,4) (1,3) (1,4) (2,3) (2,4) (3,4) = indices 2 3 5 6 7 8 9; then (0,1)
    assert.deepEqual(heatmapPairs(b, 3, 4, 8), [0, 2, 3, 5, 6, 7, 8, 9]);
    assert.deepEqual(heatmapPairs(b, 3, 4, 3), [2, 3, 5]);
  });

  test('heatmap: a subset of pairs says how many are shown', () => {
    const b = analysis.breakdowns.block!;
    const t = texts(renderSvg(breakdownHeatmapOption(b, result, LIGHT_PALETTE, { pairs: [0, 1, 2] }), 700, 700));
    assert.ok(t.some((s) => s.startsWith('3 of 10 pairs shown')));
    assert.ok(!t.includes('#3–#4'));
  });
});

describe('recipe chart (SSR)', () => {
  const r = analysis.recipes[1]!;

  test('rows: overall, blocks, components in order', () => {
    const rows = recipeRows(r);
    assert.deepEqual(rows.map((x) => x.fit.group).slice(0, 3), ['UNET', 'BASE', 'IN00']);
    assert.deepEqual(rows.slice(-2).map((x) => [x.kind, x.fit.group]), [['component', 'TE'], ['component', 'VAE']]);
    assert.equal(weight4(0.123456), '0.1235');
    assert.equal(weight4(null), 'n/a');
    assert.equal(relResidualText(EXACT_REL_RESIDUAL / 2), '0.0015 (exact)');
  });

  test('chart: title, legend with both parents, every block, axis names', () => {
    const svg = renderSvg(recipeChartOption(r, LIGHT_PALETTE), 900, 420);
    wellFormed(svg);
    const t = texts(svg);
    assert.ok(t.some((s) => s.startsWith('Merge weights per block: #1 merge')));
    assert.ok(t.some((s) => s.startsWith('P0 #0 base')) && t.some((s) => s.startsWith('P1 #2 finetune-a')), 'legend');
    for (const f of r.blocks) assert.ok(t.includes(f.group), f.group);
    assert.ok(t.includes('weight') && t.includes('merge block') && t.includes('relative residual'));
  });
});

describe('family charts (SSR)', () => {
  const unet = analysis.family.find((f) => f.component === 'unet')!;

  test('dendrogram layout: leaves in tree order, merges at their heights', () => {
    const l = dendrogramLayout(unet.dendrogram);
    assert.deepEqual(l.order, [0, 3, 2, 1, 4]);
    assert.deepEqual(l.elbows.map((e) => e.node.height), UNET_MERGES.map((m) => m[2]));
    assert.deepEqual(l.elbows[0]!.coords, [[0, 1], [0, 1], [0, 2], [0, 2]]);
    assert.equal(l.y.get(8), (l.y.get(7)! + 5) / 2);
  });

  test('dendrogram: leaves labelled by model, merge heights, axis name', () => {
    const svg = renderSvg(dendrogramOption(unet.dendrogram, LIGHT_PALETTE), 800, dendrogramHeight(unet.dendrogram));
    wellFormed(svg);
    const t = texts(svg);
    assert.ok(t.includes('Family tree of unet (average linkage)'));
    assert.ok(t.includes('average-linkage L2'));
    for (const i of [2, 3, 4]) assert.ok(t.includes(modelName(i, MODEL_FILES[i], 28)), `leaf ${i}`);
    assert.ok(t.some((s) => s.startsWith('#0 base <scr')), 'hostile leaf name kept as text');
    for (const [, , h] of UNET_MERGES.slice(1)) assert.ok(t.includes(formatNumber(h, 3)), `merge at ${h}`);
  });

  test('dendrogram with two roots says so', () => {
    const te = analysis.family.find((f) => f.component === 'te')!;
    const t = texts(renderSvg(dendrogramOption(te.dendrogram, LIGHT_PALETTE), 800, 400));
    assert.ok(t.some((s) => s.startsWith('2 separate groups')));
  });

  test('spanning tree: layered from the root, every model and edge length drawn', () => {
    const l = mstLayout(unet.mst);
    assert.equal(l.pos.get(0)!.depth, 0);
    assert.equal(l.pos.get(4)!.depth, 2);
    assert.equal(l.depth, 2);
    const svg = renderSvg(mstOption(unet.mst, result, LIGHT_PALETTE), 800, mstHeight(unet.mst));
    wellFormed(svg);
    const t = texts(svg);
    assert.ok(t.includes('Spanning tree of unet (minimum total L2)'));
    for (let i = 1; i < 5; i++) assert.ok(t.includes(modelName(i, MODEL_FILES[i], 22)), `node ${i}`);
    for (const e of UNET_MST) assert.ok(t.includes(formatNumber(e.l2, 3)), `edge ${e.parent}->${e.child}`);
  });
});

describe('tooltips of the builders', () => {
  test('the default renderer escapes every piece', () => {
    const html = tipHtml({ title: HOSTILE_SCRIPT, rows: [['<b>k</b>', '<img src=x>']] });
    assert.doesNotMatch(html, /<script|<img|<b>/);
    assert.ok(html.includes(escapeHtml(HOSTILE_SCRIPT)));
  });

  test('a custom renderer and base settings are used', () => {
    const tip = itemTooltip({ renderTip: (c) => `custom:${c.title}`, tooltipBase: { className: 'x' } }, () => ({ title: 't', rows: [] }));
    assert.equal(tip.className, 'x');
    assert.equal((tip.formatter as (p: unknown) => unknown)({}), 'custom:t');
    const option = breakdownBarsOption(analysis.breakdowns.vae!, 0, LIGHT_PALETTE, { names: result });
    const f = (option.tooltip as { formatter: (p: unknown) => string }).formatter;
    const s = f({ dataIndex: 1 });
    assert.equal(typeof s, 'string');
    assert.ok(s.includes(`decoder: L2 ${formatNumber(analysis.breakdowns.vae!.l2[1]![0]!, 6)}`));
  });
});
