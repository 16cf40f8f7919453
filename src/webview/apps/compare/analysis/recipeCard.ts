/**
 * Merge-recipe estimate of one model: the precomputed fit (parents chosen automatically or declared), or a new fit
 * with parents the user picks (`recipe/get`), as a table of per-block weights and a chart.
 */
import type { CompareResult } from '../../../../shared/result';
import type { AnalysisFile, RecipeEstimate } from '../../../../shared/analysis';
import { recipeChartOption, recipeFits, recipeRows, recipeVerdict, relResidualText, weight4 } from '../../../../views/charts/recipe';
import { toCsv } from '../../../../shared/csv';
import { slug } from '../../../logic/labels';
import { Card, button } from '../../../shared/chartCard';
import type { ChartCard, Exporter } from '../../../shared/chartCard';
import { chartPalette, domTips } from '../../../shared/chartPalette';
import { select } from '../../../shared/controls';
import { h, replaceChildren } from '../../../shared/dom';
import type { Theme } from '../../../shared/theme';
import { subChart } from './chartCards';
import { staticNote } from './staticNote';
import { dataTable, num, rowHead } from './table';
import { formatNumber, formatInt } from '../../../../shared/format';
import { safeText, modelName } from '../../../../shared/text';

export const MIN_PARENTS = 2;
export const MAX_PARENTS = 4;

const FROM_TEXT: Record<RecipeEstimate['parentsFrom'], string> = {
  nearest: 'chosen automatically: the best-fitting among the nearest models',
  declared: 'declared in the metadata',
  user: 'chosen by you',
};

export class RecipeCard {
  readonly card = new Card('Merge recipe estimate', { id: 'recipe-card' });
  private readonly modelSel;
  private readonly parentsLine = h('div', { class: 'md-recipe-parents-line', id: 'recipe-parents-line' });
  private readonly picker = h('fieldset', { class: 'md-checklist', id: 'recipe-parents' });
  private readonly fitButton: HTMLElement;
  private readonly status = h('p', { class: 'md-status', id: 'recipe-status', attrs: { 'aria-live': 'polite' } });
  private readonly controls = h('div', { class: 'md-recipe-controls' });
  private readonly tableWrap = h('div', { class: 'md-table-wrap md-scroll-y' });
  private readonly notes = h('ul', { class: 'md-muted md-notes-list', id: 'recipe-notes' });
  private readonly verdict = h('p', { class: 'md-recipe-verdict', id: 'recipe-verdict' });
  private readonly chart: ChartCard;
  private analysis: AnalysisFile | null = null;
  private result: CompareResult | null = null;
  private isStatic = false;
  private shown: RecipeEstimate | null = null;
  private fitSeq = 0;

  constructor(
    exporter: Exporter,
    private readonly theme: () => Theme,
    private model: number | null,
    private readonly onModel: (m: number) => void,
    private readonly fit: (model: number, parents: number[]) => Promise<RecipeEstimate>,
  ) {
    this.modelSel = select('recipe-model', 'Model', [], model === null ? '' : String(model), (v) => this.setModel(Number(v)));
    this.card.addTools(this.modelSel.field);
    this.fitButton = button('Fit with chosen parents', () => void this.fitChosen(), { id: 'recipe-fit', secondary: false, title: 'Estimate the merge of this model from the parents ticked' });
    this.controls.append(h('div', { class: 'md-row' }, this.picker, this.fitButton), this.status);
    this.chart = subChart(
      { title: 'Weights per merge block', cardId: 'recipe-chart-card', chartId: 'recipe-chart', exportName: () => this.exportName(), csv: () => this.csv() },
      exporter,
      () => this.theme().bg,
    );
    this.chart.chartEl.style.height = '400px';
    this.card.body.append(this.parentsLine, this.controls, this.verdict, this.tableWrap, this.notes, this.chart.root);
  }

  setData(analysis: AnalysisFile, result: CompareResult, isStatic: boolean): void {
    this.analysis = analysis;
    this.result = result;
    this.isStatic = isStatic;
    this.fitSeq++;
    this.status.textContent = '';
    this.status.classList.remove('md-error');
    const models = analysis.recipes.map((r) => r.model);
    this.card.root.hidden = models.length === 0;
    if (this.model === null || !models.includes(this.model)) this.model = models[0] ?? null;
    this.modelSel.setOptions(
      analysis.recipes.map((r) => ({ value: String(r.model), label: modelName(r.model, result.models[r.model]?.file ?? r.file, 60) })),
      this.model === null ? '' : String(this.model),
    );
    this.showEstimate(this.precomputed());
  }

  private precomputed(): RecipeEstimate | null {
    return this.analysis?.recipes.find((r) => r.model === this.model) ?? null;
  }

  private setModel(m: number): void {
    if (m === this.model) return;
    this.model = m;
    this.onModel(m);
    this.fitSeq++;
    this.status.textContent = '';
    this.showEstimate(this.precomputed());
  }

  private showEstimate(r: RecipeEstimate | null): void {
    this.shown = r;
    this.renderPicker(r);
    this.verdict.hidden = true;
    if (!r || !this.result) {
      replaceChildren(this.parentsLine, h('p', { class: 'md-muted' }, 'No estimate for this model.'));
      replaceChildren(this.tableWrap);
      replaceChildren(this.notes);
      this.chart.root.hidden = true;
      return;
    }
    const models = this.result.models;
    replaceChildren(
      this.parentsLine,
      h('p', null, `Parents ${FROM_TEXT[r.parentsFrom]}: `, r.parents.map((q, i) => h('span', { class: 'md-parent', title: safeText(q.file) }, `P${i} = ${modelName(q.model, models[q.model]?.file ?? q.file, 48)}`))),
      h('p', { class: 'md-muted' }, safeText(r.description)),
    );
    replaceChildren(this.notes, ...r.notes.map((n) => h('li', null, safeText(n))));
    if (!r.parents.length) {
      replaceChildren(this.tableWrap);
      this.chart.root.hidden = true;
      return;
    }
    this.renderTable(r);
    // a mix that does not explain the model is not drawn as if it were a recipe
    const fits = recipeFits(r);
    this.verdict.hidden = false;
    this.verdict.textContent = recipeVerdict(r);
    this.verdict.dataset.fit = fits === null ? 'unknown' : fits ? 'yes' : 'no';
    this.verdict.classList.toggle('md-warn', fits === false);
    this.tableWrap.classList.toggle('md-poor-fit', fits === false);
    this.chart.root.hidden = r.blocks.length === 0 || fits === false;
    this.chart.setTitle(`Weights per merge block (${r.parentsFrom === 'user' ? 'your parents' : 'precomputed'})`);
    if (r.blocks.length && fits !== false) this.chart.setOption(recipeChartOption(r, chartPalette(this.theme()), domTips()));
  }

  private renderTable(r: RecipeEstimate): void {
    const k = r.parents.length;
    const heads = ['Group', ...r.parents.map((q, i) => h('span', { title: safeText(q.file) }, `P${i} #${q.model}`)), 'Residual', 'Rel. residual', 'Identifiable', 'Keys'];
    const rows = recipeRows(r).map(({ kind, fit }) =>
      h(
        'tr',
        { class: `md-recipe-${kind}${fit.identifiable ? '' : ' md-not-identifiable'}`, dataset: { group: fit.group } },
        rowHead(fit.group),
        ...Array.from({ length: k }, (_, i) => num(weight4(fit.weights[i]), fit.free ? `free fit (sum 1, may be negative): ${weight4(fit.free[i])}` : 'no free fit: the parents are affinely dependent here')),
        num(formatNumber(fit.residual, 6), String(fit.residual)),
        num(relResidualText(fit.relResidual), String(fit.relResidual)),
        h('td', { class: fit.identifiable ? '' : 'md-warn', title: fit.identifiable ? '' : 'the parents are equal (affinely dependent) here: the weights among them are not determined' }, fit.identifiable ? 'yes' : 'no'),
        num(formatInt(fit.keys)),
      ),
    );
    replaceChildren(this.tableWrap, dataTable('recipe-table', 'Merge weights per group', heads, rows, { class: 'md-compact', dataset: { parentsFrom: r.parentsFrom, parents: r.parents.map((q) => q.model).join(',') } }));
  }

  private renderPicker(r: RecipeEstimate | null): void {
    this.controls.hidden = false;
    if (this.isStatic) {
      replaceChildren(this.controls, staticNote('choose other parents in VS Code or with `modeldiff recipe`.'));
      return;
    }
    if (!this.controls.contains(this.picker)) replaceChildren(this.controls, h('div', { class: 'md-row' }, this.picker, this.fitButton), this.status);
    const models = this.result?.models ?? [];
    const chosen = new Set(r?.parents.map((q) => q.model) ?? []);
    const boxes = models
      .map((m, i) => ({ m, i }))
      .filter(({ i }) => i !== this.model)
      .map(({ m, i }) => {
        const box = h('input', { attrs: { type: 'checkbox', value: String(i), 'aria-label': `parent ${modelName(i, m.file)}` }, on: { change: () => this.updateFitButton() } });
        box.checked = chosen.has(i);
        return h('label', { class: 'md-check', title: safeText(m.file) }, box, modelName(i, m.file, 36));
      });
    replaceChildren(this.picker, h('legend', { class: 'md-field-label' }, `Parents (${MIN_PARENTS} to ${MAX_PARENTS})`), ...boxes);
    this.updateFitButton();
  }

  private chosenParents(): number[] {
    return [...this.picker.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')].filter((b) => b.checked).map((b) => Number(b.value));
  }

  private updateFitButton(): void {
    const n = this.chosenParents().length;
    const ok = n >= MIN_PARENTS && n <= MAX_PARENTS;
    this.fitButton.toggleAttribute('disabled', !ok);
    this.fitButton.title = ok ? 'Estimate the merge of this model from the parents ticked' : `Tick ${MIN_PARENTS} to ${MAX_PARENTS} parents`;
  }

  private async fitChosen(): Promise<void> {
    const model = this.model;
    const parents = this.chosenParents();
    if (model === null || parents.length < MIN_PARENTS || parents.length > MAX_PARENTS) return;
    const seq = ++this.fitSeq;
    this.status.classList.remove('md-error');
    this.status.textContent = `Fitting ${modelName(model, this.result?.models[model]?.file ?? '', 40)} from ${parents.map((p) => `#${p}`).join(', ')}…`;
    try {
      const r = await this.fit(model, parents);
      if (seq !== this.fitSeq) return;
      if (!r || !Array.isArray(r.blocks) || !Array.isArray(r.parents)) throw new Error('the host sent an estimate this panel cannot read');
      this.status.textContent = `Fitted with your parents. Pick another model to see the precomputed estimate again.`;
      this.showEstimate(r);
    } catch (e) {
      if (seq !== this.fitSeq) return;
      this.status.classList.add('md-error');
      this.status.textContent = `Could not fit the recipe: ${safeText(e instanceof Error ? e.message : String(e))}`;
    }
  }

  rerender(): void {
    const r = this.shown;
    if (r && r.blocks.length && r.parents.length && recipeFits(r) !== false) this.chart.setOption(recipeChartOption(r, chartPalette(this.theme()), domTips()));
  }

  private exportName(): string {
    return slug(`recipe-${this.shown?.model ?? ''}-${this.shown?.parents.map((q) => q.model).join('-') ?? ''}`);
  }

  private csv(): string | null {
    const r = this.shown;
    if (!r) return null;
    const k = r.parents.length;
    const header = ['group', ...r.parents.map((q, i) => `w_P${i}_model${q.model}`), 'residual', 'rel_residual', 'identifiable', 'keys'];
    return toCsv(header, recipeRows(r).map(({ fit }) => [fit.group, ...Array.from({ length: k }, (_, i) => fit.weights[i] ?? null), fit.residual, fit.relResidual, fit.identifiable, fit.keys]));
  }
}
