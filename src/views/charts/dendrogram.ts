/**
 * Average-linkage dendrogram of one component, drawn from the node heights: leaves (models) down the y axis in tree
 * order, merges at x = the average L2 between the two clusters. Several roots when some groups share no comparable
 * pair.
 */
import type { Dendrogram, DendrogramNode } from '../../shared/analysis';
import type { ChartPalette } from './palette';
import { axisStyle, baseOption, titleOption } from './palette';
import type { TipOptions } from './chartTooltip';
import { itemTooltip } from './chartTooltip';
import { formatNumber } from '../../shared/format';
import { modelName } from '../../shared/text';

export interface DendrogramLayout {
  /** leaf node ids, top to bottom */
  order: number[];
  /** y position per node id (leaves 1..n, inner nodes the mean of their children) */
  y: Map<number, number>;
  /** one polyline per inner node: child 1 -> merge height -> child 2 */
  elbows: { node: DendrogramNode; coords: [number, number][] }[];
}

export function dendrogramLayout(d: Dendrogram): DendrogramLayout {
  const byId = new Map(d.nodes.map((n) => [n.id, n]));
  const order: number[] = [];
  const y = new Map<number, number>();
  const elbows: DendrogramLayout['elbows'] = [];
  const place = (id: number, depth: number): number => {
    const n = byId.get(id);
    if (!n || depth > d.nodes.length) return 0;
    if (!n.children) {
      order.push(id);
      y.set(id, order.length);
      return order.length;
    }
    const [c1, c2] = n.children;
    const y1 = place(c1, depth + 1);
    const y2 = place(c2, depth + 1);
    const yy = (y1 + y2) / 2;
    y.set(id, yy);
    const h1 = byId.get(c1)?.height ?? 0;
    const h2 = byId.get(c2)?.height ?? 0;
    elbows.push({ node: n, coords: [[h1, y1], [n.height, y1], [n.height, y2], [h2, y2]] });
    return yy;
  };
  for (const r of d.roots) place(r, 0);
  return { order, y, elbows };
}

/** Pixels per leaf: 26, down to 4 for many models (232 leaves: about 1,100 px, not 6,000). */
export function leafRow(leaves: number): number {
  return Math.max(4, Math.min(26, Math.floor(1100 / Math.max(1, leaves))));
}

export function dendrogramHeight(d: Dendrogram): number {
  const leaves = Math.max(2, d.roots.length ? d.nodes.filter((n) => !n.children).length : 0);
  return 130 + leaves * leafRow(leaves);
}

export function dendrogramOption(d: Dendrogram, p: ChartPalette, opts: TipOptions & { highlight?: number | null } = {}): Record<string, unknown> {
  const { order, y, elbows } = dendrogramLayout(d);
  const byId = new Map(d.nodes.map((n) => [n.id, n]));
  const leafLabel = (pos: number) => {
    const n = byId.get(order[pos - 1] ?? -1);
    return n && n.model !== undefined ? modelName(n.model, n.file, 28) : '';
  };
  const maxH = Math.max(0, ...d.nodes.map((n) => n.height));
  const ax = axisStyle(p);
  // rows thinner than a line of text: every k-th leaf is named (the tooltip names each)
  const row = leafRow(order.length);
  const every = Math.max(1, Math.ceil(14 / row));
  const inner = elbows.map((e) => e.node);
  const subtitle = [
    d.roots.length > 1 ? `${d.roots.length} separate groups (no comparable pair between them)` : '',
    d.absent.length ? `without ${d.component}: ${d.absent.map((i) => `#${i}`).join(', ')}` : '',
  ].filter(Boolean).join('; ');
  const content = (params: unknown) => {
    const q = params as { seriesName: string; dataIndex: number };
    if (q.seriesName === 'models') {
      const n = byId.get(order[q.dataIndex] ?? -1);
      return n ? { title: modelName(n.model ?? -1, n.file), rows: [] } : null;
    }
    const n = q.seriesName === 'merges' ? inner[q.dataIndex] : elbows[q.dataIndex]?.node;
    if (!n) return null;
    return {
      title: `merge at L2 ${formatNumber(n.height, 6)}`,
      rows: [
        ['models', String(n.size)],
        ['pairs averaged', String(n.linkedPairs ?? '')],
      ] as [string, string][],
    };
  };
  return {
    ...baseOption(p),
    title: titleOption(p, `Family tree of ${d.component} (average linkage)`, subtitle || 'x = average L2 between the merged clusters'),
    grid: { top: 64, left: 16, right: 32, bottom: 12, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 8, top: 4, bottom: 4 } },
    tooltip: itemTooltip(opts, content),
    xAxis: { type: 'value', name: 'average-linkage L2', nameLocation: 'middle', nameGap: 28, min: 0, max: maxH > 0 ? undefined : 1, ...ax, axisLabel: { color: p.foreground, formatter: (v: number) => formatNumber(v, 3) } },
    yAxis: {
      type: 'value',
      inverse: true,
      min: 0,
      max: order.length + 1,
      interval: every,
      ...ax,
      splitLine: { show: false },
      axisTick: { show: false },
      axisLabel: {
        interval: 0,
        color: (v: unknown) => (opts.highlight !== undefined && opts.highlight !== null && byId.get(order[Number(v) - 1] ?? -1)?.model === opts.highlight ? p.accent : p.foreground),
        formatter: (v: number) => leafLabel(v),
      },
    },
    series: [
      {
        type: 'lines',
        name: 'tree',
        coordinateSystem: 'cartesian2d',
        polyline: true,
        lineStyle: { color: p.series[0], width: row < 10 ? 1 : 2, opacity: 1 },
        data: elbows.map((e) => ({ coords: e.coords })),
      },
      {
        type: 'scatter',
        name: 'merges',
        symbolSize: row < 10 ? 3 : 7,
        itemStyle: { color: p.series[0] },
        data: inner.map((n) => [n.height, y.get(n.id) ?? 0]),
        label: { show: inner.length <= 24, position: 'right', color: p.muted, fontSize: p.fontSize - 2, formatter: (q: { value: [number, number] }) => formatNumber(q.value[0], 3) },
      },
      {
        type: 'scatter',
        name: 'models',
        symbolSize: row < 10 ? 3 : 8,
        itemStyle: { color: p.foreground },
        data: order.map((id, i) => [byId.get(id)?.height ?? 0, i + 1]),
      },
    ],
  };
}
