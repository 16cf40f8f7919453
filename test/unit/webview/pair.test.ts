import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { differenceRows, distancesFrom, layerCsvRows, SUMMARY_COLUMNS, summaryCsvRows, summaryRows } from '../../../src/webview/logic/pair';
import { buildMatrix, findPair } from '../../../src/webview/logic/matrix';
import { cellTooltip } from '../../../src/webview/logic/cellTooltip';
import { toCsv } from '../../../src/shared/csv';
import { HOSTILE_SCRIPT, layerRows, makeResult } from '../../webview/fixture';

describe('pair summary, differences, distance-from line, tooltips', () => {
  const r = makeResult();

  test('summary rows in component order with status and counts', () => {
    const rows = summaryRows(r, findPair(r, 0, 4)!);
    assert.deepEqual(
      rows.map((x) => [x.component, x.status]),
      [
        ['unet', 'changed'],
        ['te', 'not_comparable'],
        ['vae', 'changed'],
        ['other', 'identical'],
      ],
    );
    assert.equal(rows[1]!.l2, null);
    assert.equal(rows[1]!.mismatched, 480);
    const csv = toCsv(SUMMARY_COLUMNS, summaryCsvRows(rows));
    assert.match(csv.split('\r\n')[2]!, /^te,not_comparable,,,0,0,0,0,480,0,0$/);
  });

  test('differences flattened: only A, only B, shape, dtype', () => {
    const d = differenceRows(findPair(r, 1, 4)!);
    assert.deepEqual(d[0], { kind: 'only in A', key: `model_ema.${HOSTILE_SCRIPT}`, a: 'present', b: '' });
    assert.deepEqual(d[1], { kind: 'shape', key: 'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight', a: '[49408,768]', b: '[49408,1024]' });
  });

  test('distance from a reference model: self 0, identical 0, n/a gaps (not 0)', () => {
    const te = buildMatrix(r, 'te', 'l2');
    const line = distancesFrom(te.cells[0]!, 'l2');
    assert.equal(line[0], 0);
    assert.equal(line[2], 0);
    assert.equal(line[4], null);
    assert.equal(line[1], r.pairs[0]!.components.te!.l2);
    const cos = distancesFrom(buildMatrix(r, 'unet', 'cosine').cells[0]!, 'cosine');
    assert.equal(cos[0], 1);
  });

  test('tooltips: identical says so, n/a says n/a for both metrics, values with the digits that matter', () => {
    const unet = buildMatrix(r, 'unet', 'l2');
    const ident = cellTooltip(unet.cells[0]![3]!, r.models, 'unet', 'l2');
    assert.equal(ident.title, '= identical');
    assert.equal(ident.tone, 'identical');
    const na = cellTooltip(buildMatrix(r, 'te', 'l2').cells[0]![4]!, r.models, 'te', 'l2');
    assert.equal(na.title, 'n/a: not comparable');
    assert.deepEqual(
      na.rows.filter(([k]) => k === 'L2' || k === 'cosine'),
      [
        ['L2', 'n/a'],
        ['cosine', 'n/a'],
      ],
    );
    const v = cellTooltip(unet.cells[0]![1]!, r.models, 'unet', 'l2');
    const l2 = r.pairs[0]!.components.unet!.l2!;
    assert.equal(v.title, `L2 ${Number(l2.toPrecision(6))}`, 'six significant digits, not 17');
    const cos = cellTooltip(buildMatrix(r, 'unet', 'cosine').cells[0]![1]!, r.models, 'unet', 'cosine');
    const c = r.pairs[0]!.components.unet!.cosine!;
    // a similarity near 1 keeps the digits that tell it from 1 (1 - cos to three significant digits)
    assert.equal(Number(cos.title.replace('cosine ', '')), Number(c.toFixed(Math.max(4, 2 - Math.floor(Math.log10(1 - c))))));
  });

  test('layers CSV rows keep exact values and nulls as empty', () => {
    const rows = layerCsvRows(layerRows(0, 4).slice(2400, 2401));
    const text = toCsv(['key', 'component', 'l2', 'cosine'], rows);
    assert.match(text, /^key,component,l2,cosine\r\ncond_stage_model\.[^,]+,te,,\r\n$/);
  });
});
