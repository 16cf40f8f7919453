/**
 * Untrusted strings (tensor names, metadata, file names) must stay inert. The DOM side only ever inserts text
 * (checked here by scanning the sources for HTML sinks); the pure parts that produce markup-bearing formats (SVG
 * export, CSV) escape; display text neutralises control and bidi characters.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { networkSvg, xmlSafe } from '../../../src/webview/logic/svg';
import { escapeHtml } from '../../../src/shared/text';
import { cellTooltip } from '../../../src/webview/logic/cellTooltip';
import { buildMatrix } from '../../../src/webview/logic/matrix';
import { buildGraph } from '../../../src/webview/logic/graph';
import { isRefusedAttribute } from '../../../src/webview/logic/attrs';
import { HOSTILE_IMG, HOSTILE_SCRIPT, makeResult } from '../../webview/fixture';
import { safeText, modelName } from '../../../src/shared/text';

const SRC = join(__dirname, '..', '..', '..', 'src', 'webview');

function sources(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('no HTML sinks in the webview sources', () => {
  test('no innerHTML/outerHTML/insertAdjacentHTML/document.write/srcdoc/eval/new Function', () => {
    const sinks = /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\.srcdoc\s*=|\beval\s*\(|new Function\s*\(|createContextualFragment|DOMParser|setHTMLUnsafe/;
    const offenders = sources(SRC)
      .map((f) => ({ f, lines: readFileSync(f, 'utf8').split('\n') }))
      .flatMap(({ f, lines }) => lines.map((l, i) => ({ f, i: i + 1, l })).filter(({ l }) => sinks.test(l) && !l.trim().startsWith('*') && !l.trim().startsWith('//')));
    assert.deepEqual(offenders, []);
  });
  test('echarts tooltips are DOM elements built by us, never formatter strings', () => {
    const charts = sources(join(SRC, 'apps'));
    for (const f of charts) {
      const s = readFileSync(f, 'utf8');
      for (const m of s.matchAll(/formatter:\s*\(([^)]*)\)\s*=>\s*\{?([\s\S]{0,400})/g)) {
        const body = m[2]!;
        if (/tooltipElement/.test(body) || !/tooltip/.test(s.slice(Math.max(0, m.index! - 200), m.index!))) continue;
        assert.fail(`${f}: a tooltip formatter that does not build DOM`);
      }
    }
  });
  test('the DOM helper refuses event handlers, style and URL attributes', () => {
    for (const k of ['onclick', 'ONERROR', ' onload', 'style', 'href', 'src', 'srcdoc', 'xlink:href', 'formaction']) assert.equal(isRefusedAttribute(k), true, k);
    for (const k of ['aria-label', 'data-x', 'title', 'value', 'placeholder']) assert.equal(isRefusedAttribute(k), false, k);
    assert.match(readFileSync(join(SRC, 'shared', 'dom.ts'), 'utf8'), /if \(isRefusedAttribute\(k\)\) throw/);
  });
});

describe('escaping where we write markup-bearing formats', () => {
  test('escapeHtml (HTML and XML)', () => {
    assert.equal(escapeHtml(`<img src=x onerror="a('b')">&`), '&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;');
  });
  test('xmlSafe strips characters XML cannot hold', () => {
    assert.equal(xmlSafe('a\u0000b\u0007c\td\n'), 'a\ufffdb\ufffdc\td\n');
  });
  test('the network SVG export keeps labels as escaped text', () => {
    const svg = networkSvg(
      [
        { id: 0, label: `#0 ${HOSTILE_SCRIPT}`, x: 0, y: 0, color: '#fff' },
        { id: 1, label: `#1 ${HOSTILE_IMG}`, x: 100, y: 50, color: 'rgb(1, 2, 3)' },
      ],
      [{ from: 0, to: 1, label: '</text><script>x</script>', color: '#888', width: 1, dashed: true }],
      { background: '#000', foreground: '#fff', fontFamily: '"Segoe UI", sans-serif', fontSize: 12, nodeRadius: 10 },
      `title ${HOSTILE_SCRIPT}`,
    );
    assert.doesNotMatch(svg, /<script|<img/);
    assert.match(svg, /&lt;script&gt;window.__pwned=&quot;script&quot;&lt;\/script&gt;/);
    assert.match(svg, /font-family="&quot;Segoe UI&quot;, sans-serif"/);
    // well-formed: every tag we open is one of ours
    const tags = [...svg.matchAll(/<\/?([a-zA-Z]+)/g)].map((m) => m[1]);
    assert.ok(tags.every((t) => ['svg', 'title', 'rect', 'line', 'text', 'circle'].includes(t!)), tags.join(','));
  });
});

describe('display text', () => {
  test('control characters and bidi overrides become U+FFFD; markup stays literal', () => {
    assert.equal(safeText('evil\u202Etxt.exe'), 'evil\ufffdtxt.exe');
    assert.equal(safeText('a\u0000b\u001bc\u2066d'), 'a\ufffdb\ufffdc\ufffdd');
    assert.equal(safeText('tab\tand\nnewline'), 'tab\tand\nnewline');
    assert.equal(safeText(HOSTILE_SCRIPT), HOSTILE_SCRIPT);
  });
  test('labels, tooltips and graph labels carry the raw name as text (the DOM layer uses textContent)', () => {
    const r = makeResult();
    assert.equal(modelName(0, r.models[0]!.file), `#0 base ${HOSTILE_SCRIPT}.safetensors`);
    const m = buildMatrix(r, 'unet', 'l2');
    const tip = cellTooltip(m.cells[0]![1]!, r.models, 'unet', 'l2');
    assert.deepEqual(tip.rows[0], ['A', `#0 base ${HOSTILE_SCRIPT}.safetensors`]);
    assert.deepEqual(tip.rows[1], ['B', `#1 merge ${HOSTILE_IMG}.safetensors`]);
    const g = buildGraph(r, m, { threshold: null });
    assert.ok(g.nodes[1]!.title.includes(HOSTILE_IMG));
  });
});
