import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contrastRatio, luminance, mix, over, parseColor, readableOn, scaleIndex, scalePosition, sequentialScale, toCss, toHex } from '../../../src/webview/logic/color';

describe('parseColor', () => {
  test('hex forms', () => {
    assert.deepEqual(parseColor('#fff'), { r: 255, g: 255, b: 255, a: 1 });
    assert.deepEqual(parseColor('#1f1f1f'), { r: 31, g: 31, b: 31, a: 1 });
    assert.deepEqual(parseColor('#ff000080'), { r: 255, g: 0, b: 0, a: 128 / 255 });
    assert.deepEqual(parseColor('#0f08'), { r: 0, g: 255, b: 0, a: 136 / 255 });
  });
  test('rgb()/rgba() in comma and space syntax, percentages, transparent', () => {
    assert.deepEqual(parseColor('rgb(1, 2, 3)'), { r: 1, g: 2, b: 3, a: 1 });
    assert.deepEqual(parseColor('rgba(255, 255, 255, 0.7)'), { r: 255, g: 255, b: 255, a: 0.7 });
    assert.deepEqual(parseColor('rgb(10 20 30 / 50%)'), { r: 10, g: 20, b: 30, a: 0.5 });
    assert.deepEqual(parseColor(' RGB(100%, 0%, 0%) '), { r: 255, g: 0, b: 0, a: 1 });
    assert.deepEqual(parseColor('transparent'), { r: 0, g: 0, b: 0, a: 0 });
  });
  test('rejects what it does not understand', () => {
    for (const s of ['', 'red', '#12', '#12345', 'rgb(1,2)', 'hsl(0 0% 0%)', 'url(x)', undefined, null]) assert.equal(parseColor(s as string), null, String(s));
  });
});

describe('mixing, contrast, scale', () => {
  const black = { r: 0, g: 0, b: 0, a: 1 };
  const white = { r: 255, g: 255, b: 255, a: 1 };
  test('mix and over', () => {
    assert.deepEqual(mix(black, white, 0), black);
    assert.deepEqual(mix(black, white, 1), white);
    assert.deepEqual(mix(black, white, 0.5), { r: 128, g: 128, b: 128, a: 1 });
    assert.deepEqual(mix(black, white, 7), white, 'clamped');
    assert.deepEqual(over({ r: 255, g: 255, b: 255, a: 0.5 }, black), { r: 128, g: 128, b: 128, a: 1 });
  });
  test('css and hex output', () => {
    assert.equal(toCss(white), 'rgb(255, 255, 255)');
    assert.equal(toCss({ ...white, a: 0.25 }), 'rgba(255, 255, 255, 0.25)');
    assert.equal(toHex({ r: 137, g: 209, b: 133, a: 1 }), '#89d185');
  });
  test('luminance and readable text', () => {
    assert.equal(luminance(black), 0);
    assert.equal(luminance(white), 1);
    assert.equal(contrastRatio(black, white), 21);
    assert.deepEqual(readableOn({ r: 137, g: 209, b: 133, a: 1 }, [white, black]), black);
    assert.deepEqual(readableOn({ r: 10, g: 30, b: 90, a: 1 }, [black, white]), white);
  });
  test('sequential scale endpoints and positions', () => {
    const s = sequentialScale(black, white, 64);
    assert.equal(s.length, 64);
    assert.deepEqual(s[0], black);
    assert.deepEqual(s[63], white);
    assert.equal(scalePosition(5, 0, 10), 0.5);
    assert.equal(scalePosition(-1, 0, 10), 0);
    assert.equal(scalePosition(11, 0, 10), 1);
    assert.equal(scalePosition(3, 3, 3), 0.5, 'degenerate extent maps to the middle');
    assert.equal(scaleIndex(0, 0, 10, 64), 0);
    assert.equal(scaleIndex(10, 0, 10, 64), 63);
    assert.equal(scaleIndex(5, 0, 10, 64), 32);
  });
});
