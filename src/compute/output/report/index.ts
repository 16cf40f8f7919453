/**
 * The standalone HTML report of a compare output: the panel's own page script (dist/webview/report.js) with the
 * result, the analyses and the per-layer values embedded (see html.ts). Written by `modeldiff report` and by the
 * extension's Export Report.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ResultSource } from '../../analysis/layers';
import type { AnalysisFile } from '../../analysis/types';
import { bundledFile } from '../../bundled';
import type { ReportData, ReportLayers } from '../../../shared/report';
import { reportHtml } from './html';
import { reportLayers } from './layersData';

export { DEFAULT_LAYERS_BUDGET_MIB, pairPriority } from './layersData';

export interface ReportOptions {
  /** the analyses to show, or why there are none */
  analysis: AnalysisFile | null;
  analysisError?: string;
  /** bytes of per-layer values to embed at most */
  layersBudgetBytes: number;
}

export function writeReport(src: ResultSource, path: string, opts: ReportOptions): { bytes: number; layers: ReportLayers } {
  const layers = reportLayers(src, opts.layersBudgetBytes);
  const data: ReportData = {
    result: src.result,
    outDir: src.dir,
    analysis: opts.analysis,
    ...(opts.analysisError ? { analysisError: opts.analysisError } : {}),
    layers,
    createdAt: new Date().toISOString(),
  };
  const title = `modeldiff report: ${src.result.models.length} models (${basename(src.dir)})`;
  const html = reportHtml(data, readFileSync(bundledFile('webview/report.js'), 'utf8'), title);
  writeFileSync(path + '.tmp', html);
  renameSync(path + '.tmp', path);
  return { bytes: Buffer.byteLength(html), layers };
}
