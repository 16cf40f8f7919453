/**
 * The standalone HTML report of a compare output: the panel's own page script (dist/webview/report.js) with the
 * result, the analyses and the per-layer values embedded. This side gathers the data (ReportData, src/shared/report.ts)
 * and writes the file; the page itself is a view (src/views/report/page.ts), handed in by the caller as `render`.
 * Written by `modeldiff report` and by the extension's Export Report.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ResultSource } from '../../analysis/layers';
import type { AnalysisFile } from '../../../shared/analysis';
import { writeFileAtomic } from '../../io/atomicWrite';
import { bundledFile } from '../../io/bundledFile';
import type { ReportData, ReportLayers } from '../../../shared/report';
import { capDifferences, DEFAULT_DIFFERENCES_BUDGET_MIB, differencesCap } from './differences';
import { reportLayers } from './layersData';

export { DEFAULT_LAYERS_BUDGET_MIB, pairPriority } from './layersData';
export { DEFAULT_DIFFERENCES_BUDGET_MIB } from './differences';

/** Turns the data into the HTML page (src/views/report/page.ts reportHtml). */
export type ReportRenderer = (data: ReportData, pageScript: string, title: string) => string;

export interface ReportOptions {
  render: ReportRenderer;
  /** the analyses to show, or why there are none */
  analysis: AnalysisFile | null;
  analysisError?: string;
  /** bytes of per-layer values to embed at most */
  layersBudgetBytes: number;
  /** bytes of per-pair difference lists to embed at most (default DEFAULT_DIFFERENCES_BUDGET_MIB) */
  differencesBudgetBytes?: number;
}

export function writeReport(src: ResultSource, path: string, opts: ReportOptions): { bytes: number; layers: ReportLayers; differencesCap: number | null } {
  const layers = reportLayers(src, opts.layersBudgetBytes);
  const cap = differencesCap(src.result, opts.differencesBudgetBytes ?? DEFAULT_DIFFERENCES_BUDGET_MIB * 1024 * 1024);
  const data: ReportData = {
    result: capDifferences(src.result, cap),
    ...(Number.isFinite(cap) ? { differencesCap: cap } : {}),
    outDir: src.dir,
    analysis: opts.analysis,
    ...(opts.analysisError ? { analysisError: opts.analysisError } : {}),
    layers,
    createdAt: new Date().toISOString(),
  };
  const title = `modeldiff report: ${src.result.models.length} models (${basename(src.dir)})`;
  const html = opts.render(data, readFileSync(bundledFile('webview/report.js'), 'utf8'), title);
  writeFileAtomic(path, html);
  return { bytes: Buffer.byteLength(html), layers, differencesCap: Number.isFinite(cap) ? cap : null };
}
