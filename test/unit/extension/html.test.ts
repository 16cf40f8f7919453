import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCsp, buildErrorHtml, buildWebviewHtml, makeNonce } from '../../../src/extension/panels/html';

const base = { view: 'compare' as const, cspSource: 'https://*.vscode-cdn.net', scriptUri: 'https://x.vscode-cdn.net/dist/webview/webview.js', styleUris: ['https://x.vscode-cdn.net/dist/webview/webview.css'], title: 'modeldiff' };

test('nonces are fresh, 128-bit, base64', () => {
  const a = makeNonce();
  const b = makeNonce();
  assert.notEqual(a, b);
  assert.equal(Buffer.from(a, 'base64').length, 16);
  assert.match(a, /^[A-Za-z0-9+/]+=*$/);
});

test('CSP: nothing by default, scripts by nonce only, images from the webview source and data:', () => {
  const csp = buildCsp({ cspSource: base.cspSource, nonce: 'N0', allowInlineStyles: false });
  const d = Object.fromEntries(csp.split('; ').map((x) => [x.split(' ')[0], x.split(' ').slice(1).join(' ')]));
  assert.equal(d['default-src'], "'none'");
  assert.equal(d['script-src'], "'nonce-N0'");
  assert.equal(d['style-src'], "https://*.vscode-cdn.net 'nonce-N0'");
  assert.equal(d['img-src'], 'https://*.vscode-cdn.net data:');
  assert.equal(d['connect-src'], "'none'");
  assert.ok(!csp.includes('unsafe-eval'));
  assert.ok(!/script-src[^;]*(unsafe|https?:|\*)/.test(csp));
});

test("CSP: 'unsafe-inline' for styles only when asked, and then without a style nonce (which would void it)", () => {
  const csp = buildCsp({ cspSource: 'S', nonce: 'N1', allowInlineStyles: true });
  assert.match(csp, /style-src S 'unsafe-inline'(;|$)/);
  assert.match(csp, /script-src 'nonce-N1'(;|$)/);
});

test('the page carries the view, the nonce on its only script, and the stylesheets', () => {
  const html = buildWebviewHtml({ ...base, nonce: 'abc+/=', allowInlineStyles: false });
  assert.match(html, /<body data-view="compare">/);
  assert.equal(html.match(/<script/g)?.length, 1);
  assert.match(html, /<script nonce="abc\+\/=" src="https:\/\/x\.vscode-cdn\.net\/dist\/webview\/webview\.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="https:\/\/x\.vscode-cdn\.net\/dist\/webview\/webview\.css">/);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;nonce-abc\+\/=&#39;/);
  assert.match(buildWebviewHtml({ ...base, view: 'inspect', nonce: 'n', allowInlineStyles: true }), /data-view="inspect"/);
});

test('titles and messages are escaped; the error page has no script', () => {
  const html = buildWebviewHtml({ ...base, title: '</title><script>alert(1)</script>', nonce: 'n', allowInlineStyles: false });
  assert.ok(!html.includes('<script>alert(1)'));
  const err = buildErrorHtml({ cspSource: 'S', title: 'modeldiff', message: 'missing <b>x</b>', detail: 'Fix: run `npm run build`' });
  assert.ok(!err.includes('<script'));
  assert.match(err, /missing &lt;b&gt;x&lt;\/b&gt;/);
  assert.match(err, /default-src &#39;none&#39;/);
  assert.doesNotMatch(err, /unsafe/);
});
