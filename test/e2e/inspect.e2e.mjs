// Scenario "inspect": the read-only custom editor on .safetensors files (architecture, components, tensors with a
// filter, metadata), and a model whose metadata and tensor names hold markup and script, shown as inert text.
import path from 'node:path';
import { Checks, MANIFEST, answerFileDialog, deepTextFn, exact, injectedFn, launch, log, openWorkbench, pollFrame, runFromPalette, shot, webviewFrame } from './lib.mjs';

const c = new Checks('inspect');
const { page, watch, close } = await launch();
const H = MANIFEST.hostile;

async function waitCompare2() {
  const { frame } = await webviewFrame(page, 'compare', 'ft_unet.safetensors', 60_000);
  if (!frame) return 'no compare panel';
  return pollFrame(frame, () => {
    const cells = document.querySelectorAll('#matrix-table td[data-a]').length;
    const t = document.body.innerText;
    return cells === 4 && t.includes('base.safetensors') && t.includes('ft_unet.safetensors') ? true : false;
  }, null, 60_000);
}

async function openFromExplorer(folder, file) {
  const row = (name) => page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact(name) }) }).first();
  const f = row(folder);
  await f.waitFor({ timeout: 20_000 });
  if ((await f.getAttribute('aria-expanded')) !== 'true') await f.click();
  await row(file).waitFor({ timeout: 20_000 });
  await row(file).dblclick();
  log(`opened ${folder}/${file}`);
}

try {
  await openWorkbench(page);

  // 1) base.safetensors opens in the inspector by default
  await openFromExplorer('zoo', 'base.safetensors');
  const { frame } = await webviewFrame(page, 'inspect', 'base.safetensors', 60_000);
  c.check('a .safetensors file opens in the modeldiff inspector (custom editor, data-view=inspect)', !!frame);
  const tab = await page.locator('.tabs-container .tab.active').innerText().catch(() => '');
  c.check('the editor tab is the model file', tab.includes('base.safetensors'), tab);
  if (frame) {
    const arch = await pollFrame(frame, () => document.querySelector('#arch-line')?.textContent || false, null, 30_000);
    c.check('architecture shown (SD 1.x)', typeof arch === 'string' && arch.includes('SD 1.x'), JSON.stringify(arch));
    const comps = await frame.evaluate(() => document.querySelector('#components-table')?.textContent ?? '');
    c.check('components listed (unet, te, vae)', ['unet', 'te', 'vae'].every((x) => comps.includes(x)), comps.slice(0, 300));
    const meta = await frame.evaluate(() => document.querySelector('#metadata-table')?.textContent ?? '');
    c.check('metadata listed (format: pt)', meta.includes('format') && meta.includes('pt'), meta.slice(0, 300));
    const want = 'model.diffusion_model.out.2.weight';
    await frame.locator('#tensors-card input').first().fill('out.2.weight');
    const found = await pollFrame(frame, (k) => {
      const t = document.querySelector('#tensor-table')?.textContent ?? '';
      return t.includes(k) && t.includes('F16') ? t : false;
    }, want, 15_000);
    c.check(`tensor filter finds ${want} with its dtype`, typeof found === 'string', JSON.stringify(found)?.slice(0, 300));
    await page.waitForTimeout(500);
    await shot(page, '10-inspector');
  }

  // 1b) "Compare Open Model With..." from the inspector: the open model against one picked in the dialog.
  await c.step('compare open model with', async () => {
    await runFromPalette(page, 'modeldiff: Compare Open Model With...');
    await answerFileDialog(page, path.join(MANIFEST.zoo.dir, 'ft_unet.safetensors'), 'modeldiff: compare', 'Compare');
    const r = await waitCompare2();
    c.check('"Compare Open Model With..." compares the open model with the picked one', r === true, JSON.stringify(r));
    await shot(page, '12-compare-open-model-with');
  });

  // 2) markup and script in metadata and tensor names stay text
  await openFromExplorer('hostile', 'evil.safetensors');
  const hostile = await webviewFrame(page, 'inspect', 'evil.safetensors', 60_000);
  c.check('the hostile model opens in the inspector', !!hostile.frame);
  if (hostile.frame) {
    const ok = await pollFrame(hostile.frame, () => !!document.querySelector('#metadata-table') && !!document.querySelector('#tensor-table'), null, 30_000);
    c.check('hostile model rendered (metadata and tensor tables)', ok === true, JSON.stringify(ok));
    const text = await hostile.frame.evaluate(deepTextFn);
    for (const [what, s] of [['metadata value', H.metadataValue], ['metadata <script>', H.metadataScript], ['tensor name <img>', H.tensorName], ['tensor name <b>', H.tensorName2]]) {
      c.check(`${what} shown as literal text`, text.includes(s), `${s} not in ${text.slice(0, 500)}`);
    }
    await page.waitForTimeout(1000);
    const inj = await hostile.frame.evaluate(injectedFn);
    c.check('no element injected, no script ran in the inspector', inj.found.length === 0 && inj.pwned === null, JSON.stringify(inj));
    await shot(page, '11-inspector-hostile-inert');
  }
  c.check('no alert() ran', watch.dialogs.length === 0, JSON.stringify(watch.dialogs));
  c.check('zero CSP violations reported by any frame', watch.csp.length === 0, JSON.stringify(watch.csp, null, 1));
} catch (e) {
  c.check('scenario ran to the end', false, e?.stack ?? e);
  await shot(page, 'inspect-error');
} finally {
  log(`page errors: ${watch.pageErrors.length}`);
  await close();
}
c.finish();
