/**
 * What a standalone HTML report embeds (src/compute/output/report gathers it, src/views/report/page.ts writes the page; src/webview/report reads it in the page).
 * Pure types and constants: no DOM, no node:.
 */
import type { AnalysisFile } from './analysis';
import type { CompareResult } from './result';

/** id of the `<script type="application/json">` element holding the ReportData */
export const REPORT_DATA_ID = 'modeldiff-report-data';

export interface ReportLayers {
  /** pair indexes (into result.pairs) whose per-layer values are included, ascending */
  pairs: number[];
  /** base64 of little-endian float32: pairs.length columns of result.layers.keys.length values (NaN: no value) */
  l2: string;
  cosine: string | null;
  /** pairs left out to stay within the budget */
  omitted: number;
  budgetBytes: number;
}

export interface ReportData {
  result: CompareResult;
  /** the compare output folder the report was made from (shown in the header) */
  outDir: string;
  analysis: AnalysisFile | null;
  /** why there is no analysis, when there is none */
  analysisError?: string;
  layers: ReportLayers | null;
  /** the per-pair difference lists were cut to this many entries each to fit the report (counts are exact) */
  differencesCap?: number;
  createdAt: string;
}
