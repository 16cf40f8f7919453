/**
 * LoRA strengths: when the result holds LoRAs, pick a checkpoint and its base (models of the result, the
 * comparison's base, or files) and see the strength of each LoRA in (checkpoint - base) (`lora/attribute`). The card
 * says what it cannot do: no base chosen, and each LoRA it could not attribute (its targets are not in the base...).
 */
import type { CompareResult } from '../../../shared/result';
import type { AttributionModelRef, LoraAttributionDismissed, LoraAttributionMessage } from '../../../shared/protocol';
import { formatInt, formatNumber, percent } from '../../../shared/format';
import { modelName, safeText } from '../../../shared/text';
import { Card, button } from '../../shared/chartCard';
import { select, type Option } from '../../shared/controls';
import { h, replaceChildren } from '../../shared/dom';
import { dataTable, num, rowHead } from './analysis/table';

type Ask = (
  checkpoint: Exclude<AttributionModelRef, 'comparison-base'>,
  base: AttributionModelRef,
  nonNegative: boolean,
) => Promise<LoraAttributionMessage | LoraAttributionDismissed>;

const CHOOSE = 'choose';
const COMPARISON_BASE = 'comparison-base';
/** The base select's entry when the comparison has no base: nothing is asked of the host until one is picked. */
const NO_BASE = 'none';

export const NO_BASE_TEXT = 'No base chosen: the strengths are measured in (checkpoint − base), so pick the model the checkpoint was made from (a checkpoint of this comparison, or a file).';

export class LoraCard {
  readonly card = new Card('LoRA strengths in a checkpoint', { id: 'lora-card' });
  private readonly ckptSel;
  private readonly baseSel;
  private readonly signSel;
  private readonly status = h('p', { class: 'md-status', id: 'lora-status', attrs: { 'aria-live': 'polite' } });
  private readonly out = h('div', { class: 'md-table-wrap md-scroll-y', id: 'lora-strengths' });
  private result: CompareResult | null = null;
  private seq = 0;

  constructor(private readonly ask: Ask) {
    this.ckptSel = select('lora-checkpoint', 'Checkpoint', [], CHOOSE, () => {});
    this.baseSel = select('lora-base', 'Base', [], CHOOSE, () => {});
    this.signSel = select('lora-sign', 'Strengths', [{ value: 'nonneg', label: '≥ 0' }, { value: 'free', label: 'unconstrained' }], 'nonneg', () => {});
    const run = button('Attribute', () => void this.run(), { id: 'lora-run', secondary: false, title: 'Least squares of (checkpoint − base) by the LoRAs of this result' });
    this.card.body.append(
      h('p', { class: 'md-muted' }, 'Which of these LoRAs, at what strength, make up the difference between a checkpoint and its base: least squares over the weights the LoRAs change, in float64.'),
      h('div', { class: 'md-row' }, this.ckptSel.field, this.baseSel.field, this.signSel.field, run),
      this.status,
      this.out,
    );
    this.card.root.hidden = true;
  }

  setResult(result: CompareResult): void {
    this.result = result;
    this.seq++;
    const hasLoras = result.models.some((m) => m.lora);
    this.card.root.hidden = !hasLoras;
    if (!hasLoras) return;
    const checkpoints = result.models.filter((m) => !m.lora);
    const ckpts: Option[] = checkpoints.map((m) => ({ value: String(m.index), label: modelName(m.index, m.file, 60) }));
    const chooseOpt: Option = { value: CHOOSE, label: 'Choose a file…' };
    const basePath = result.options.base;
    const baseName = basePath?.split(/[\\/]/).pop();
    // the checkpoint to attribute is not the comparison's base by default
    const firstCkpt = checkpoints.find((m) => m.path !== basePath) ?? checkpoints[0];
    this.ckptSel.setOptions([...ckpts, chooseOpt], firstCkpt ? String(firstCkpt.index) : CHOOSE);
    const baseFirst: Option = baseName ? { value: COMPARISON_BASE, label: `${baseName} (this comparison's base)` } : { value: NO_BASE, label: 'No base chosen' };
    this.baseSel.setOptions([baseFirst, ...ckpts, chooseOpt], baseFirst.value);
    this.status.textContent = '';
    replaceChildren(this.out);
  }

  private async run(): Promise<void> {
    if (!this.result) return;
    if (this.baseSel.value === NO_BASE) {
      this.seq++;
      replaceChildren(this.out);
      this.setStatus(NO_BASE_TEXT, true);
      return;
    }
    const ref = (v: string): AttributionModelRef => (v === CHOOSE || v === COMPARISON_BASE ? v : Number(v));
    const checkpoint = ref(this.ckptSel.value);
    const base = ref(this.baseSel.value);
    if (checkpoint === COMPARISON_BASE) return;
    if (typeof checkpoint === 'number' && checkpoint === base) {
      this.setStatus('Pick a base other than the checkpoint.', true);
      return;
    }
    const seq = ++this.seq;
    this.setStatus('Attributing… (the LoRAs\' factors and both checkpoints are read)', false);
    try {
      const r = await this.ask(checkpoint, base, this.signSel.value === 'nonneg');
      if (seq !== this.seq) return;
      if ('dismissed' in r) {
        replaceChildren(this.out);
        this.setStatus(r.dismissed === 'base' ? NO_BASE_TEXT : 'No checkpoint chosen: pick the checkpoint to attribute (a checkpoint of this comparison, or a file).', true);
        return;
      }
      this.setStatus('', false);
      this.render(r);
    } catch (e) {
      if (seq === this.seq) this.setStatus(e instanceof Error ? e.message : String(e), true);
    }
  }

  private setStatus(text: string, error: boolean): void {
    this.status.textContent = text;
    this.status.classList.toggle('md-error', error);
  }

  private render(r: LoraAttributionMessage): void {
    const file = (p: string) => safeText(p.split(/[\\/]/).pop() ?? p);
    const attributed = new Set(r.loras.map((l) => l.model));
    const rows = [...r.loras]
      .sort((a, b) => b.strength - a.strength)
      .map((l) =>
        h(
          'tr',
          { dataset: { model: String(l.model) }, class: l.dependent ? 'md-not-identifiable' : '' },
          rowHead(modelName(l.model, l.file, 60), safeText(l.file)),
          num(formatNumber(l.strength, 4), String(l.strength)),
          num(formatInt(l.keys)),
          h('td', { class: l.dependent ? 'md-warn' : 'md-muted' }, l.dependent ? 'a combination of the others: not identifiable' : ''),
        ),
      );
    // the LoRAs of the result that have no strength, each with the reason
    const unplaced = r.errors.filter((e) => e.model === undefined || attributed.has(e.model));
    for (const m of this.result?.models ?? []) {
      if (!m.lora || attributed.has(m.index)) continue;
      const errs = r.errors.filter((e) => e.model === m.index);
      const why = errs.length ? errs.map((e) => e.message).join('; ') : 'not part of the fit';
      rows.push(
        h(
          'tr',
          { dataset: { model: String(m.index) }, class: 'md-not-attributed' },
          rowHead(modelName(m.index, m.file, 60), safeText(m.file)),
          num('—', 'no strength: this LoRA could not be attributed', true),
          num('—', undefined, true),
          h('td', { class: 'md-warn' }, `not attributed: ${safeText(why)}`),
        ),
      );
    }
    replaceChildren(
      this.out,
      h('p', null, `${file(r.checkpoint)} − ${file(r.base)}: strengths ${r.nonNegative ? '≥ 0' : 'unconstrained'}; on the ${formatInt(r.keys)} weights the LoRAs change the fit explains ${percent(r.explained)} (relative residual ${formatNumber(r.relResidual, 4)}).`),
      dataTable('lora-strength-table', 'LoRA strengths', ['LoRA', 'Strength', 'Weights', ''], rows),
      r.notes.length || unplaced.length
        ? h('ul', { class: 'md-muted md-notes-list' }, ...r.notes.map((n) => h('li', null, safeText(n))), ...unplaced.map((e) => h('li', { class: 'md-error' }, `${safeText(e.file)}: ${safeText(e.message)}`)))
        : null,
    );
  }
}
