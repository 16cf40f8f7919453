/**
 * File hashes as Civitai and A1111 show them (SHA-256, AutoV2, legacy, AutoV3), and the components whose content is
 * the same in several files. Hashes read every byte of every file, so they may be missing until asked for.
 */
import type { CompareResult } from '../../../../shared/result';
import type { AnalysisFile, ModelHashes } from '../../../../shared/analysis';
import { toCsv } from '../../../../shared/csv';
import { Card, button } from '../../../shared/chartCard';
import type { Exporter } from '../../../shared/chartCard';
import { h, replaceChildren } from '../../../shared/dom';
import { staticNote } from './staticNote';
import { dataTable, listCell, num, rowHead } from './table';
import { safeText } from '../../../../shared/text';
import { formatBytes, formatInt } from '../../../../shared/format';

const SHORT = 12;

/** The model index of a hashes entry: by path, else its position (analysis.json lists them in model order). */
export function hashesModel(result: CompareResult, mh: ModelHashes, position: number): number {
  const i = result.models.findIndex((m) => m.path === mh.path);
  return i >= 0 ? i : position;
}

export class HashesCard {
  readonly card = new Card('File hashes', { id: 'hashes-card' });
  private analysis: AnalysisFile | null = null;
  private result: CompareResult | null = null;

  constructor(
    private readonly exporter: Exporter,
    private readonly computeHashes: () => void,
  ) {
    this.card.addTools(button('CSV', () => void this.exportCsv(), { title: 'Export the hashes as CSV' }));
  }

  setData(analysis: AnalysisFile, result: CompareResult, isStatic: boolean): void {
    this.analysis = analysis;
    this.result = result;
    if (!analysis.hashes) {
      replaceChildren(
        this.card.body,
        h('p', { class: 'md-muted' }, 'File hashes were not computed: they read every byte of every file. They identify files on Civitai and match parents declared by hash.'),
        isStatic
          ? staticNote('compute them in VS Code or with `modeldiff hashes`.')
          : button('Compute hashes: reads every file', () => this.computeHashes(), { id: 'hashes-compute', secondary: false, title: 'Run the analyses again with file hashes' }),
      );
      return;
    }
    const rows = analysis.hashes.map((mh, pos) => this.row(result, mh, pos));
    replaceChildren(
      this.card.body,
      h('div', { class: 'md-table-wrap' }, dataTable('hashes-table', 'File hashes', ['#', 'File', 'SHA-256', 'AutoV2', 'Legacy (A1111)', 'AutoV3'], rows)),
      h('h4', { class: 'md-subtitle' }, 'Components shared across files'),
      this.sharedTable(analysis),
    );
  }

  private row(result: CompareResult, mh: ModelHashes, pos: number): HTMLTableRowElement {
    const i = hashesModel(result, mh, pos);
    const f = mh.hashes;
    const na = (why: string) => h('td', { class: 'md-na', title: why }, 'n/a');
    const why = mh.error ? safeText(mh.error) : 'not computed';
    return h(
      'tr',
      { dataset: { model: String(i) } },
      num(String(i)),
      rowHead(safeText(mh.file), safeText(mh.path)),
      f ? h('td', { class: 'md-hash', title: f.sha256 }, `${f.sha256.slice(0, SHORT)}…`) : na(why),
      f ? h('td', { class: 'md-hash' }, f.autov2) : na(why),
      f ? h('td', { class: `md-hash${f.legacyUnreliable ? ' md-muted' : ''}`, title: f.legacyUnreliable ? 'file under 2 MiB: Civitai shows no AutoV1 for it' : '' }, f.legacy) : na(why),
      f?.autov3Short ? h('td', { class: 'md-hash', title: f.autov3 ?? '' }, f.autov3Short) : na(f ? 'not a safetensors file' : why),
    );
  }

  private sharedTable(analysis: AnalysisFile): HTMLElement {
    const shared = analysis.shared ?? [];
    if (!shared.length) return h('p', { class: 'md-muted', id: 'shared-none' }, 'No component has the same content in two files.');
    const rows = shared.map((s) =>
      h(
        'tr',
        { dataset: { hash: s.sha256 } },
        h('td', { class: 'md-hash', title: s.sha256 }, `${s.sha256.slice(0, SHORT)}…`),
        listCell(s.members.map((m) => `${safeText(m.file)} (${safeText(m.component)})`)),
        num(formatInt(s.tensors)),
        num(formatBytes(s.bytes)),
      ),
    );
    return h('div', { class: 'md-table-wrap' }, dataTable('shared-table', 'Components shared across files', ['Content hash', 'Files (component)', 'Tensors', 'Size'], rows));
  }

  private async exportCsv(): Promise<void> {
    const a = this.analysis;
    const r = this.result;
    if (!a?.hashes || !r) return;
    const rows = a.hashes.map((mh, pos) => [hashesModel(r, mh, pos), mh.file, mh.hashes?.sha256 ?? null, mh.hashes?.autov2 ?? null, mh.hashes?.legacy ?? null, mh.hashes?.autov3 ?? null, mh.error ?? null]);
    await this.exporter('hashes.csv', 'csv', toCsv(['model', 'file', 'sha256', 'autov2', 'legacy', 'autov3', 'error'], rows));
  }
}

