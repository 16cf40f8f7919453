/**
 * The matrix's models in cluster order (seriation): average-linkage dendrogram of the drawn distances, leaves in
 * optimal order, and flat clusters cut from it, for the heatmap, its dendrogram and the network's colours. Pure.
 */
import { condensed, seriate as seriateDistances, type Seriation } from '../../shared/clustering';
import type { DistanceMatrix } from './matrix';

export type { Seriation };
export type OrderMode = 'cluster' | 'file';
export const ORDER_LABEL: Readonly<Record<OrderMode, string>> = { cluster: 'Clustered', file: 'File order' };

/** Above this many models the heatmap opens in cluster order (file order stays one click away). */
export const CLUSTER_ORDER_FROM = 16;

/** Distance of a drawn cell: identical and equal values at 0, plain values as drawn; none for n/a and absent. */
function cellDistance(m: DistanceMatrix, a: number, b: number): number | null {
  const c = m.cells[a]![b]!;
  return c.kind === 'value' || c.kind === 'identical' || c.kind === 'equal' ? c.distance : null;
}

export function seriate(m: DistanceMatrix): Seriation {
  return seriateDistances(m.n, condensed(m.n, (a, b) => cellDistance(m, a, b)));
}

/** The identity order. */
export function fileOrder(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
