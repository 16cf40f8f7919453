/** Declared parents (from metadata) beside the nearest models measured, and whether the two agree. */
import type { CompareResult } from '../../../../shared/result';
import type { AnalysisFile, DeclaredParent, DeclaredRecipe, ModelLineage } from '../../../../shared/analysis';
import { relResidualText, weight4 } from '../../../../views/charts/recipe';
import { toCsv } from '../../../../shared/csv';
import { Card, button } from '../../../shared/chartCard';
import type { Exporter } from '../../../shared/chartCard';
import { h, replaceChildren } from '../../../shared/dom';
import type { Child } from '../../../shared/dom';
import { dataTable, listCell, rowHead } from './table';
import { safeText, modelName } from '../../../../shared/text';
import { formatNumber } from '../../../../shared/format';

export function recipeText(r: DeclaredRecipe): string {
  const parts = [r.tool, r.method ?? ''].filter(Boolean);
  if (r.alpha !== null) parts.push(`alpha ${r.alpha}`);
  if (r.beta !== null) parts.push(`beta ${r.beta}`);
  if (r.blockWeights) parts.push(`${r.blockWeights.length} block weights`);
  return parts.join(', ');
}

function parentText(p: DeclaredParent, result: CompareResult): Child[] {
  const name = p.name ?? p.sha256?.slice(0, 12) ?? p.shortHash ?? p.legacyHash ?? '(unnamed)';
  const match = p.match
    ? h('span', { class: 'md-match', title: `matched by ${p.match.by}` }, ` → ${modelName(p.match.model, result.models[p.match.model]?.file ?? p.match.file, 40)} (by ${p.match.by})`)
    : h('span', { class: 'md-muted' }, ' (not in this folder)');
  return [h('span', { class: 'md-role' }, `${safeText(p.role)}: `), safeText(name), match, p.recipe ? h('span', { class: 'md-muted' }, ` [${safeText(recipeText(p.recipe))}]`) : null];
}

function checkText(l: ModelLineage): Child[] {
  const out: Child[] = [];
  if (l.confirmed.length) out.push(h('span', { class: 'md-ok' }, `confirmed: ${l.confirmed.map((i) => `#${i}`).join(', ')}`));
  if (l.unconfirmed.length) out.push(h('span', { class: 'md-warn' }, `not among the nearest: ${l.unconfirmed.map((i) => `#${i}`).join(', ')}`));
  return out;
}

export class LineageCard {
  readonly card = new Card('Lineage: declared and measured', { id: 'lineage-card' });
  private analysis: AnalysisFile | null = null;

  constructor(private readonly exporter: Exporter) {
    this.card.addTools(button('CSV', () => void this.exportCsv(), { title: 'Export the lineage as CSV' }));
  }

  setData(analysis: AnalysisFile, result: CompareResult): void {
    this.analysis = analysis;
    const lin = analysis.lineage;
    const declaring = lin.models.filter((l) => l.parents.length).length;
    this.card.setTitle(`Lineage: declared and measured (${declaring} ${declaring === 1 ? 'model declares' : 'models declare'} parents)`);
    const rows = lin.models.map((l) =>
      h(
        'tr',
        { dataset: { model: String(l.model), confirmed: String(l.confirmed.length), unconfirmed: String(l.unconfirmed.length) } },
        rowHead(modelName(l.model, result.models[l.model]?.file ?? l.file, 40), safeText(l.file)),
        h(
          'td',
          null,
          l.declared.recipe ? h('div', { class: 'md-recipe-line' }, `recipe: ${safeText(recipeText(l.declared.recipe))}`) : null,
          l.parents.length ? h('ul', { class: 'md-cell-list' }, ...l.parents.map((p) => h('li', null, ...parentText(p, result)))) : h('span', { class: 'md-muted' }, 'none declared'),
        ),
        listCell([
          ...l.nearest.map((n) => `${modelName(n.model, result.models[n.model]?.file ?? n.file, 32)} (L2 ${formatNumber(n.l2, 6)})`),
          ...(l.sameUnet.length ? [`bit-identical UNet: ${l.sameUnet.map((i) => `#${i}`).join(', ')}`] : []),
          ...(l.equalUnet?.length ? [`equal UNet values, not bit-identical: ${l.equalUnet.map((i) => `#${i}`).join(', ')}`] : []),
        ]),
        ((c) => (c.length ? h('td', null, ...c.flatMap((x, i) => (i ? [h('br'), x] : [x]))) : h('td', { class: 'md-muted' }, '—')))(checkText(l)),
        l.estimate
          ? h(
              'td',
              { class: 'md-estimate' },
              l.estimateParents.map((p, i) => `#${p} ${weight4(l.estimate!.weights[i])}`).join(', '),
              h('span', { class: 'md-muted' }, ` (rel. residual ${relResidualText(l.estimate.relResidual)})`),
            )
          : h('td', { class: 'md-muted' }, '—'),
      ),
    );
    replaceChildren(
      this.card.body,
      lin.hashesUsed ? null : h('p', { class: 'md-muted' }, 'Declared parents were matched by file name only: no file hashes were computed.'),
      h('div', { class: `md-table-wrap${rows.length > 30 ? ' md-scroll-y' : ''}` }, dataTable('lineage-table', 'Lineage', ['Model', 'Declared parents', 'Nearest measured UNets', 'Check', 'Estimate from declared parents'], rows)),
    );
  }

  private async exportCsv(): Promise<void> {
    const lin = this.analysis?.lineage;
    if (!lin) return;
    const rows = lin.models.map((l) => [
      l.model,
      l.file,
      l.parents.map((p) => `${p.role}: ${p.name ?? p.sha256 ?? ''}${p.match ? ` -> #${p.match.model}` : ''}`).join('; '),
      l.nearest.map((n) => `#${n.model} ${n.l2}`).join('; '),
      l.confirmed.join(' '),
      l.unconfirmed.join(' '),
      l.estimate ? l.estimateParents.map((p, i) => `#${p} ${l.estimate!.weights[i]}`).join('; ') : null,
    ]);
    await this.exporter('lineage.csv', 'csv', toCsv(['model', 'file', 'declared_parents', 'nearest', 'confirmed', 'unconfirmed', 'estimate'], rows));
  }
}
