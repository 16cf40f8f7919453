/**
 * Minimum spanning tree of one component as a layered graph: each tree hangs from its suggested root (the median
 * model), edges point parent -> child with their L2. The direction is a heuristic: distances cannot tell a parent
 * from a child.
 */
import type { SpanningTree } from '../../shared/analysis';
import type { ChartPalette } from './palette';
import { baseOption, seriesColor, titleOption } from './palette';
import type { ModelNames } from './breakdown';
import type { TipOptions } from './chartTooltip';
import { itemTooltip } from './chartTooltip';
import { formatNumber } from '../../shared/format';
import { modelName } from '../../shared/text';

export interface MstLayout {
  /** model -> (x slot, depth) */
  pos: Map<number, { x: number; depth: number }>;
  width: number;
  depth: number;
}

/** Leaves get consecutive x slots, a parent sits over the middle of its children, trees side by side. */
export function mstLayout(t: SpanningTree): MstLayout {
  const children = new Map<number, number[]>();
  for (const e of t.directed) {
    const list = children.get(e.parent) ?? [];
    list.push(e.child);
    children.set(e.parent, list);
  }
  const pos = new Map<number, { x: number; depth: number }>();
  let next = 0;
  let maxDepth = 0;
  const place = (m: number, depth: number): number => {
    if (pos.has(m)) return pos.get(m)!.x;
    maxDepth = Math.max(maxDepth, depth);
    const kids = (children.get(m) ?? []).filter((c) => !pos.has(c));
    pos.set(m, { x: -1, depth });
    const xs = kids.map((c) => place(c, depth + 1));
    const x = xs.length ? (xs[0]! + xs[xs.length - 1]!) / 2 : next++;
    pos.set(m, { x, depth });
    return x;
  };
  for (const r of t.roots) place(r, 0);
  return { pos, width: Math.max(1, next), depth: maxDepth };
}

/** More leaves side by side than this and their labels are slanted, so neighbours do not print over each other. */
const UPRIGHT_LABEL_LEAVES = 6;
/**
 * Past this many models a layered tree is a wall of overlapping labels: the tree is laid out by forces instead (edge
 * length following the L2, started from a circle so the picture is the same every time), names on hover.
 */
export const FORCE_LAYOUT_FROM = 40;

export function mstHeight(t: SpanningTree): number {
  const l = mstLayout(t);
  if (l.pos.size > FORCE_LAYOUT_FROM) return 620;
  return 150 + (l.depth + 1) * 90 + (l.width > UPRIGHT_LABEL_LEAVES ? 80 : 0);
}

export function mstOption(t: SpanningTree, names: ModelNames, p: ChartPalette, opts: TipOptions & { highlight?: number | null; /** flat cluster per model (-1: alone), to colour the nodes */ clusters?: ReadonlyMap<number, number> } = {}): Record<string, unknown> {
  const { pos, width } = mstLayout(t);
  const slanted = width > UPRIGHT_LABEL_LEAVES;
  const models = [...pos.keys()].sort((a, b) => a - b);
  const edges = t.directed;
  const label = (m: number) => modelName(m, names.models[m]?.file, 22);
  const content = (params: unknown) => {
    const q = params as { dataType: string; dataIndex: number };
    if (q.dataType === 'edge') {
      const e = edges[q.dataIndex];
      return e ? { title: `L2 ${formatNumber(e.l2, 6)}`, rows: [['parent (suggested)', modelName(e.parent, names.models[e.parent]?.file)], ['child', modelName(e.child, names.models[e.child]?.file)]] as [string, string][] } : null;
    }
    const m = models[q.dataIndex];
    if (m === undefined) return null;
    const parent = edges.find((e) => e.child === m);
    return {
      title: modelName(m, names.models[m]?.file),
      rows: [parent ? ['parent (suggested)', `${modelName(parent.parent, names.models[parent.parent]?.file)}, L2 ${formatNumber(parent.l2, 6)}`] : ['root', t.roots.includes(m) ? 'yes' : '']] as [string, string][],
    };
  };
  const force = models.length > FORCE_LAYOUT_FROM;
  const maxL2 = Math.max(0, ...edges.map((e) => e.l2));
  const subtitle = [
    force ? 'laid out by forces, edge length following L2; names on hover' : '',
    'rooted at the median model; the direction is a guess',
    t.roots.length > 1 ? `${t.roots.length} trees` : '',
    t.absent.length ? `without ${t.component}: ${t.absent.map((i) => `#${i}`).join(', ')}` : '',
  ].filter(Boolean).join('; ');
  return {
    ...baseOption(p),
    title: titleOption(p, `Spanning tree of ${t.component} (minimum total L2)`, subtitle),
    tooltip: itemTooltip(opts, content),
    series: [
      {
        type: 'graph',
        name: 'spanning tree',
        layout: force ? 'force' : 'none',
        ...(force
          ? { top: 70, bottom: 20, left: 20, right: 20, force: { repulsion: 22, gravity: 0.2, edgeLength: [3, 36], layoutAnimation: false, friction: 0.6 }, zoom: 1.4 }
          : { top: 80, bottom: slanted ? 120 : 40, left: slanted ? 160 : 90, right: 90 }),
        roam: force,
        symbolSize: force ? 8 : 14,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: [0, force ? 5 : 8],
        data: models.map((m, k) => ({
          name: String(m),
          // force layout: start on a circle (no random start, so the same tree always gives the same picture)
          x: force ? 300 * Math.cos((2 * Math.PI * k) / models.length) : pos.get(m)!.x * 100,
          y: force ? 300 * Math.sin((2 * Math.PI * k) / models.length) : pos.get(m)!.depth * 100,
          itemStyle: { color: m === opts.highlight ? p.accent : opts.clusters ? ((c) => (c >= 0 ? seriesColor(p, c) : p.muted))(opts.clusters.get(m) ?? -1) : t.roots.includes(m) ? p.series[1] : p.series[0], borderColor: p.background },
        })),
        // echarts draws a link with a larger value shorter: the value is how close the two models are
        links: edges.map((e) => ({ source: String(e.parent), target: String(e.child), value: force ? (maxL2 > 0 ? 1 - e.l2 / maxL2 : 1) : e.l2 })),
        emphasis: { focus: 'adjacency', label: { show: true } },
        label: {
          show: !force,
          position: 'bottom',
          ...(slanted ? { rotate: 35, align: 'right', verticalAlign: 'middle', distance: 10 } : {}),
          color: p.foreground,
          fontSize: p.fontSize - 1,
          formatter: (q: { dataIndex: number }) => label(models[q.dataIndex] ?? -1),
        },
        edgeLabel: { show: !force && edges.length <= 40, color: p.muted, fontSize: p.fontSize - 1, formatter: (q: { dataIndex: number }) => formatNumber(edges[q.dataIndex]?.l2, 3) },
        lineStyle: { color: p.muted, width: 1.5, opacity: 0.9 },
      },
    ],
  };
}
