/** Per-model health findings: corrupt position_ids, NaN/Inf, all-zero tensors, missing components, wasted space. */
import type { CompareResult } from '../../../../shared/result';
import type { AnalysisFile, ModelHealth } from '../../../../shared/analysis';
import { toCsv } from '../../../../shared/csv';
import { Card, button } from '../../../shared/chartCard';
import type { Exporter } from '../../../shared/chartCard';
import { h, replaceChildren } from '../../../shared/dom';
import { dataTable, rowHead } from './table';
import { safeText, modelName } from '../../../../shared/text';

/** Findings that need attention (errors and warnings; info lines are not problems). */
export function problemCount(health: readonly ModelHealth[]): number {
  return health.reduce((s, m) => s + m.findings.filter((f) => f.severity !== 'info').length + (m.error ? 1 : 0), 0);
}

const STATUS_TEXT: Record<ModelHealth['status'], string> = { ok: 'ok', warning: 'warning', error: 'error' };

export class HealthCard {
  readonly card = new Card('Health', { id: 'health-card' });
  private analysis: AnalysisFile | null = null;

  constructor(private readonly exporter: Exporter) {
    this.card.addTools(button('CSV', () => void this.exportCsv(), { title: 'Export the findings as CSV' }));
  }

  setData(analysis: AnalysisFile, result: CompareResult): void {
    this.analysis = analysis;
    const n = problemCount(analysis.health);
    this.card.setTitle(n ? `Health: ${n} ${n === 1 ? 'problem' : 'problems'}` : 'Health: no problems');
    this.card.titleEl.classList.toggle('md-warn', n > 0);
    const rows = analysis.health.map((m) =>
      h(
        'tr',
        { dataset: { model: String(m.model), status: m.status } },
        rowHead(modelName(m.model, result.models[m.model]?.file ?? m.file, 40), safeText(m.file)),
        h('td', { class: `md-health-${m.status}` }, STATUS_TEXT[m.status]),
        m.findings.length || m.error
          ? h(
              'td',
              null,
              h(
                'ul',
                { class: 'md-cell-list md-findings' },
                m.error ? h('li', { class: 'md-severity-error' }, `could not be read again: ${safeText(m.error)}`) : null,
                ...m.findings.map((f) => h('li', { class: `md-severity-${f.severity}`, dataset: { severity: f.severity } }, safeText(f.message))),
              ),
            )
          : h('td', { class: 'md-muted' }, 'nothing found'),
      ),
    );
    // a table of hundreds of models scrolls in its card instead of pushing the rest of the panel away
    replaceChildren(this.card.body, h('div', { class: `md-table-wrap${rows.length > 30 ? ' md-scroll-y' : ''}` }, dataTable('health-table', 'Health findings', ['Model', 'Status', 'Findings'], rows)));
  }

  private async exportCsv(): Promise<void> {
    const health = this.analysis?.health;
    if (!health) return;
    const rows = health.flatMap((m) => (m.findings.length ? m.findings.map((f) => [m.model, m.file, m.status, f.severity, f.message]) : [[m.model, m.file, m.status, null, null]]));
    await this.exporter('health.csv', 'csv', toCsv(['model', 'file', 'status', 'severity', 'finding'], rows));
  }
}
