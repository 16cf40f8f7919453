/**
 * Types the webview's pure logic shares. Re-exports the result shapes (type-only: nothing from src/compute is bundled
 * except `pairIndex`).
 */
export type {
  CompareResult,
  ComponentDiff,
  ComponentStatus,
  FileError,
  ModelInfo,
  PairResult,
} from '../../shared/result';

export type { DistanceMetric as Metric } from '../../shared/distanceCell';
import type { DistanceMetric as Metric } from '../../shared/distanceCell';

export const METRICS: readonly Metric[] = ['l2', 'cosine'];

export function metricLabel(m: Metric): string {
  return m === 'l2' ? 'L2' : 'cosine';
}
