import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { csvField, toCsv } from '../../../src/shared/csv';

describe('CSV export text', () => {
  test('plain fields, numbers exact, empty for null', () => {
    assert.equal(csvField('unet'), 'unet');
    assert.equal(csvField(0.1 + 0.2), '0.30000000000000004');
    assert.equal(csvField(-1.5e-7), '-1.5e-7');
    assert.equal(csvField(null), '');
    assert.equal(csvField(undefined), '');
    assert.equal(csvField(Number.NaN), 'NaN');
    assert.equal(csvField(Infinity), 'Infinity');
    assert.equal(csvField(true), 'true');
  });
  test('quotes commas, quotes, newlines and edge spaces', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(' padded'), '" padded"');
  });
  test('text that a spreadsheet would run as a formula is defused', () => {
    assert.equal(csvField('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
    assert.equal(csvField('+1'), "'+1");
    assert.equal(csvField('-cmd'), "'-cmd");
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField(-3), '-3', 'negative numbers stay numbers');
  });
  test('markup is just text in CSV', () => {
    assert.equal(csvField('<script>x</script>'), '<script>x</script>');
  });
  test('toCsv: header, CRLF rows, trailing CRLF', () => {
    const s = toCsv(['key', 'l2'], [
      ['a.weight', 1.25],
      ['b,c', null],
    ]);
    assert.equal(s, 'key,l2\r\na.weight,1.25\r\n"b,c",\r\n');
  });
});

describe('one CSV writer for every export', () => {
  test('the CLI, the extension and the panel write the same CSV through it (formula guard included)', async () => {
    const { layersCsv } = await import('../../../src/cli/commands/layers');
    const text = layersCsv([{ key: '=HYPERLINK("x")', component: 'unet', l2: 1.5, cosine: null }]);
    assert.equal(text, toCsv(['key', 'component', 'l2', 'cosine'], [['=HYPERLINK("x")', 'unet', 1.5, null]]));
    assert.equal(text, 'key,component,l2,cosine\r\n"\'=HYPERLINK(""x"")",unet,1.5,\r\n');
  });
});
