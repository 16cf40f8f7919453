/** The model-file custom editor (data-view="inspect") in headless chromium under the strict CSP. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { artifactPath, chromiumMissingReason, launchBrowser, openWebview, waitFor } from './harness';
import type { Harness } from './harness';
import { HOSTILE_IMG, HOSTILE_SCRIPT, makeInspect } from './fixture';

const skip = chromiumMissingReason();

describe('inspect view (headless chromium, strict CSP)', { skip }, () => {
  let browser: Browser;
  let h: Harness;
  const data = makeInspect();

  before(async () => {
    browser = await launchBrowser();
    h = await openWebview(browser, {
      view: 'inspect',
      respond: async (m, hh) => {
        if (m.method === 'ready') await hh.send('inspect/didChange', data);
        if (m.method === 'export/save') await hh.respond(m.id!, { saved: true, path: `/tmp/${m.params.suggestedName}` });
      },
    });
    await h.page.locator('#tensor-table .vt-row').first().waitFor({ timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
  });

  test('header: file name and architecture line', async () => {
    assert.equal(h.posted[0]!.method, 'ready');
    assert.equal(await h.page.locator('#model-name').innerText(), `inspect ${HOSTILE_IMG}.safetensors`);
    assert.match(await h.page.locator('#arch-line').innerText(), /^SD 1\.x · safetensors · 1\.99 GiB · 3,200 tensors · 3\.2M parameters$/);
  });

  test('components table: tensors, parameters, dtypes', async () => {
    const unet = await h.page.locator('#components-table tr[data-component="unet"]').innerText();
    assert.match(unet, /unet\s+2,400\s+2\.4M\s+4\.58 MiB\s+F16: 2400/);
    assert.equal(await h.page.locator('#components-table tbody tr').count(), 4);
  });

  test('tensors table: 2,600 rows virtualized, name filter, dtype filter, sort by size', async () => {
    assert.equal(await h.page.locator('#tensor-table .vt-status').innerText(), '2,600 rows');
    assert.ok((await h.page.locator('#tensor-table .vt-row').count()) < 80, 'only rows in view are rendered');
    const first = await h.page.locator('#tensor-table .vt-row:not([hidden])').first().innerText();
    assert.match(first, /model\.diffusion_model\.block0\.attn1\.to_q\.weight\s+unet\s+F32\s+\[320, 1, 3, 3\]\s+2,880\s+11\.3 KiB/);
    await h.page.locator('#tensor-filter input').fill('block8.');
    await waitFor(async () => (await h.page.locator('#tensor-table .vt-status').innerText()) === '1 of 2,600 rows', 'name filter');
    await h.page.locator('#tensor-filter input').fill('attn1 -to_k');
    const expected = data.tensors.filter((t) => t.name.includes('attn1') && !t.name.includes('to_k')).length;
    await waitFor(async () => (await h.page.locator('#tensor-table .vt-status').innerText()) === `${expected.toLocaleString('en-US')} of 2,600 rows`, 'exclusion filter');
    await h.page.locator('#tensor-filter input').fill('');
    await h.page.locator('#tensor-dtype').evaluate((el: any) => el.scrollIntoView({ block: 'center' }));
    await h.page.locator('#tensor-dtype').click();
    await h.page.locator('#tensor-dtype li[role="option"]').filter({ hasText: /^\s*F32\s*$/ }).click();
    await waitFor(async () => (await h.page.locator('#tensor-table .vt-status').innerText()) === '260 of 2,600 rows', 'dtype filter');
    await h.page.locator('#tensor-table .vt-th[data-col="bytes"]').click();
    const firstSize = await h.page.locator('#tensor-table .vt-row:not([hidden]) .vt-td:nth-child(6)').first().innerText();
    const maxF32 = Math.max(...data.tensors.filter((t) => t.dtype === 'F32').map((t) => t.bytes));
    assert.equal(maxF32, 320 * 3 * 9 * 4);
    assert.equal(firstSize, '33.8 KiB', 'largest F32 tensor first ([320,3,3,3] x 4 bytes)');
    const last = h.states.at(-1) as { dtype?: string; sort?: unknown };
    assert.equal(last.dtype, 'F32');
    assert.deepEqual(last.sort, { column: 'bytes', dir: 'desc' });
  });

  test('metadata: keys and values shown as text, JSON values indented', async () => {
    const meta = await h.page.locator('#metadata-table').innerText();
    assert.ok(meta.includes('<i onmouseover=alert(1)>key</i>'));
    assert.ok(meta.includes('value with </pre><script>window.__pwned="meta"</script>'));
    assert.ok(meta.includes(HOSTILE_SCRIPT));
    assert.ok(meta.includes(`"${HOSTILE_IMG.replace(/"/g, '\\"')}": 3`), 'JSON metadata pretty-printed');
    assert.equal(await h.page.locator('#metadata-card .md-card-title').innerText(), 'Metadata (4)');
  });

  test('markup and script in names, notes and metadata stay inert', async () => {
    assert.equal(await h.page.evaluate(() => (globalThis as any).__pwned), undefined);
    const counts = await h.page.evaluate(() => {
      const d = (globalThis as any).document;
      return { scripts: d.querySelectorAll('script').length, imgs: d.querySelectorAll('img').length, i: d.querySelectorAll('i, b').length, pre: d.querySelectorAll('pre').length };
    });
    assert.deepEqual(counts, { scripts: 2, imgs: 0, i: 0, pre: 4 });
    assert.ok((await h.page.locator('#notes').innerText()).includes(`note ${HOSTILE_SCRIPT}`));
  });

  test('exports the tensor table as CSV with formula-safe text', async () => {
    await h.page.locator('#tensors-card vscode-button[title="Export the tensors shown as CSV"]').click();
    const m = await h.waitForPosted((x) => x.method === 'export/save' && x.params.kind === 'csv');
    const lines = m.params.data.trim().split('\r\n');
    assert.equal(lines[0], 'name,key,component,dtype,shape,elements,bytes');
    assert.equal(lines.length, 261);
  });

  test('screenshot, no console errors, no CSP violations', async () => {
    await h.page.mouse.move(1, 1);
    await h.page.screenshot({ path: artifactPath('inspect-dark.png'), fullPage: true });
    await h.setTheme('light');
    await h.page.waitForTimeout(100);
    await h.page.screenshot({ path: artifactPath('inspect-light.png'), fullPage: true });
    assert.deepEqual(h.pageErrors, []);
    assert.deepEqual(h.consoleErrors, []);
    assert.deepEqual(await h.cspViolations(), []);
  });
});

describe('inspect view: a file that cannot be read', { skip }, () => {
  test('error/didOccur before any header shows the failure as text', async () => {
    const browser = await launchBrowser();
    try {
      const h = await openWebview(browser, {
        view: 'inspect',
        respond: async (m, hh) => {
          if (m.method === 'ready') await hh.send('error/didOccur', { message: 'ST_HEADER_TOO_LARGE: header is larger than 100 MB <b>x</b>', file: `bad ${HOSTILE_IMG}.safetensors` });
        },
      });
      await waitFor(async () => (await h.page.locator('#errors').isVisible()) && (await h.page.locator('#errors').innerText()).includes('<b>x</b>'), 'error shown');
      assert.equal(await h.page.locator('#model-name').innerText(), `bad ${HOSTILE_IMG}.safetensors`);
      assert.match(await h.page.locator('#inspect-header').innerText(), /could not be read/);
      assert.equal(await h.page.evaluate(() => (globalThis as any).document.querySelectorAll('img, b').length), 0);
      assert.deepEqual(h.consoleErrors, []);
      assert.deepEqual(await h.cspViolations(), []);
    } finally {
      await browser.close();
    }
  });
});
