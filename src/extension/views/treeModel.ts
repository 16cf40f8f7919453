/**
 * What the "Models" tree shows, computed from a CompareResult: models -> components -> tensors, a "Differences"
 * section with one node per pair (component statuses, keys only in A/B, shape and dtype differences), and the
 * files that could not be read. Children are built when a node is expanded, and a list longer than PAGE_SIZE comes in
 * pages ("1–100 of 232"); past PAGE_SIZE pairs the Differences are grouped by their first model (232 models: 231
 * groups in 3 pages instead of 26,796 rows). With the result's analysis (analysis.json), each model also lists its declared
 * parents and its health findings. Pure (no vscode import): modelsTree.ts turns these into TreeItems.
 *
 * Every label, description and tooltip here may hold text from a model file: the tree shows them as plain
 * strings only (no MarkdownString, no command links built from names).
 */
import type { AnalysisFile, DeclaredParent, ModelHealth, ModelLineage } from '../../shared/analysis';
import type { CompareResult, ComponentDiff, ComponentStats, PairResult } from '../../shared/result';
import { FILE_ROLE_LABEL, notComparableText, pairIndex } from '../../shared/result';
import { formatBytes, formatCosine, formatCount, formatDistance, formatInt } from '../../shared/format';

export type DiffGroup = 'only_a' | 'only_b' | 'mismatched' | 'dtype';

export type TreeNode =
  | { kind: 'model'; model: number }
  | { kind: 'component'; model: number; component: string }
  | { kind: 'tensor'; model: number; component: string; name: string; dtype: string; shape: number[]; index?: number; count?: number }
  /** a weight of the base that a LoRA changes (its target), under the LoRA's component */
  | { kind: 'loraTarget'; model: number; component: string; key: string }
  | { kind: 'declaredParents'; model: number }
  | { kind: 'declaredParent'; model: number; index: number }
  | { kind: 'health'; model: number }
  | { kind: 'finding'; model: number; index: number }
  | { kind: 'differences' }
  /** the pairs (a, b) with b > a, when there are too many pairs for one list */
  | { kind: 'pairsOf'; a: number }
  | { kind: 'pair'; a: number; b: number }
  | { kind: 'pairComponent'; a: number; b: number; component: string }
  | { kind: 'diffGroup'; a: number; b: number; group: DiffGroup }
  | { kind: 'diffKey'; a: number; b: number; group: DiffGroup; key: string; detail?: string }
  | { kind: 'errors' }
  | { kind: 'fileError'; index: number }
  | { kind: 'message'; id: string; text: string }
  /** items start..end-1 of the `total` children of `parent` (null: the models at the root) */
  | { kind: 'page'; parent: TreeNode | null; start: number; end: number; total: number };

/** Longer child lists come in pages of this many. */
export const PAGE_SIZE = 100;

function paged(parent: TreeNode | null, list: TreeNode[]): TreeNode[] {
  if (list.length <= PAGE_SIZE) return list;
  const out: TreeNode[] = [];
  for (let start = 0; start < list.length; start += PAGE_SIZE) out.push({ kind: 'page', parent, start, end: Math.min(list.length, start + PAGE_SIZE), total: list.length });
  return out;
}

/** The node holding item `index` of the `total` children of `parent`: the parent itself, or its page. */
function holder(parent: TreeNode | null, index: number, total: number): TreeNode | undefined {
  if (total <= PAGE_SIZE) return parent ?? undefined;
  const start = Math.floor(index / PAGE_SIZE) * PAGE_SIZE;
  return { kind: 'page', parent, start, end: Math.min(total, start + PAGE_SIZE), total };
}

/** True when the Differences are grouped by first model. */
function grouped(result: CompareResult): boolean {
  return result.pairs.length > PAGE_SIZE;
}

/** Pairs (a, b), b > a, in order of b. */
function pairsOf(result: CompareResult, a: number): PairResult[] {
  const n = result.models.length;
  const out: PairResult[] = [];
  for (let b = a + 1; b < n; b++) {
    const p = getPair(result, a, b);
    if (p) out.push(p);
  }
  return out;
}

export interface FocusTarget {
  model?: number;
  pair?: { a: number; b: number };
  component?: string;
}

export interface NodeView {
  id: string;
  label: string;
  description?: string;
  /** plain text */
  tooltip?: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  contextValue: string;
  /** codicon id */
  icon?: string;
  /** selecting the node focuses the comparison panel on this */
  focus?: FocusTarget;
}

export interface TensorEntry {
  name: string;
  component: string;
  dtype: string;
  shape: number[];
}

const GROUP_LABEL: Record<DiffGroup, string> = {
  only_a: 'Only in A',
  only_b: 'Only in B',
  mismatched: 'Shape mismatches',
  dtype: 'Dtype differences',
};

export function rootNodes(result: CompareResult): TreeNode[] {
  const nodes: TreeNode[] = paged(null, result.models.map((m) => ({ kind: 'model', model: m.index })));
  if (result.pairs.length) nodes.push({ kind: 'differences' });
  if (result.errors.length) nodes.push({ kind: 'errors' });
  return nodes;
}

export function getPair(result: CompareResult, a: number, b: number): PairResult | undefined {
  const n = result.models.length;
  if (a === b || a < 0 || b < 0 || a >= n || b >= n) return undefined;
  const p = result.pairs[pairIndex(a, b, n)];
  return p && ((p.a === a && p.b === b) || (p.a === b && p.b === a)) ? p : result.pairs.find((q) => (q.a === a && q.b === b) || (q.a === b && q.b === a));
}

/** Models whose `component` is bit-identical to model `model`'s. */
export function identicalTo(result: CompareResult, model: number, component: string): number[] {
  const out: number[] = [];
  for (const p of result.pairs) {
    if (p.a !== model && p.b !== model) continue;
    if (p.components[component]?.identical) out.push(p.a === model ? p.b : p.a);
  }
  return out.sort((x, y) => x - y);
}

export function healthOf(analysis: AnalysisFile | null | undefined, model: number): ModelHealth | undefined {
  return analysis?.health.find((h) => h.model === model);
}

export function lineageOf(analysis: AnalysisFile | null | undefined, model: number): ModelLineage | undefined {
  return analysis?.lineage.models.find((l) => l.model === model);
}

/** How a declared parent is named: its name, else the hash it was declared by. */
export function declaredName(p: DeclaredParent): string {
  return p.name ?? p.shortHash ?? p.sha256 ?? p.legacyHash ?? '(unnamed)';
}

/**
 * Children of a node; tensors of a component come from the model header, which the caller loads (`tensors`).
 * `analysis` (of this result) adds the declared parents and health of each model.
 */
export function childNodes(result: CompareResult, node: TreeNode, tensors?: TensorEntry[], analysis?: AnalysisFile | null): TreeNode[] {
  if (node.kind === 'page') {
    const all = node.parent ? allChildren(result, node.parent, tensors, analysis) : result.models.map((m): TreeNode => ({ kind: 'model', model: m.index }));
    return all.slice(node.start, node.end);
  }
  return paged(node, allChildren(result, node, tensors, analysis));
}

function allChildren(result: CompareResult, node: TreeNode, tensors?: TensorEntry[], analysis?: AnalysisFile | null): TreeNode[] {
  switch (node.kind) {
    case 'model': {
      const m = result.models[node.model];
      if (!m) return [];
      const out: TreeNode[] = Object.keys(m.components).map((component) => ({ kind: 'component', model: node.model, component }));
      if (lineageOf(analysis, node.model)?.parents.length) out.push({ kind: 'declaredParents', model: node.model });
      if (healthOf(analysis, node.model)) out.push({ kind: 'health', model: node.model });
      return out;
    }
    case 'declaredParents':
      return (lineageOf(analysis, node.model)?.parents ?? []).map((_, index) => ({ kind: 'declaredParent', model: node.model, index }));
    case 'health':
      return (healthOf(analysis, node.model)?.findings ?? []).map((_, index) => ({ kind: 'finding', model: node.model, index }));
    case 'component': {
      const lora = result.models[node.model]?.lora;
      if (lora) {
        const keys = lora.targetKeys[node.component] ?? [];
        const more = (lora.targetsByComponent[node.component] ?? 0) - keys.length;
        const out: TreeNode[] = keys.map((key) => ({ kind: 'loraTarget', model: node.model, component: node.component, key }));
        if (more > 0) out.push({ kind: 'message', id: `m/${node.model}/c/${node.component}/more`, text: `and ${more} more weights (result.json lists the first ${keys.length})` });
        return out;
      }
      const list = (tensors ?? []).filter((t) => t.component === node.component);
      return list.map((t, index) => ({ kind: 'tensor', model: node.model, component: node.component, name: t.name, dtype: t.dtype, shape: t.shape, index, count: list.length }));
    }
    case 'differences':
      if (!grouped(result)) return result.pairs.map((p) => ({ kind: 'pair', a: p.a, b: p.b }));
      return result.models.slice(0, -1).map((_, a) => ({ kind: 'pairsOf', a }));
    case 'pairsOf':
      return pairsOf(result, node.a).map((p) => ({ kind: 'pair', a: p.a, b: p.b }));
    case 'pair': {
      const p = getPair(result, node.a, node.b);
      if (!p) return [];
      const out: TreeNode[] = result.components.filter((c) => p.components[c]).map((component) => ({ kind: 'pairComponent', a: p.a, b: p.b, component }));
      for (const group of ['only_a', 'only_b', 'mismatched', 'dtype'] as DiffGroup[]) {
        if (groupItems(p, group).length) out.push({ kind: 'diffGroup', a: p.a, b: p.b, group });
      }
      return out;
    }
    case 'diffGroup': {
      const p = getPair(result, node.a, node.b);
      if (!p) return [];
      return groupItems(p, node.group).map((it) => {
        const n: TreeNode = { kind: 'diffKey', a: p.a, b: p.b, group: node.group, key: it.key };
        if (it.detail !== undefined) n.detail = it.detail;
        return n;
      });
    }
    case 'errors':
      return result.errors.map((_, index) => ({ kind: 'fileError', index }));
    default:
      return [];
  }
}

function groupItems(p: PairResult, group: DiffGroup): { key: string; detail?: string }[] {
  const d = p.differences;
  switch (group) {
    case 'only_a':
      return d.only_a.map((key) => ({ key }));
    case 'only_b':
      return d.only_b.map((key) => ({ key }));
    case 'mismatched':
      return d.mismatched.map((k) => ({ key: k.key, detail: `${k.a ?? '?'} vs ${k.b ?? '?'}` }));
    case 'dtype':
      return d.dtype.map((k) => ({ key: k.key, detail: `${k.a ?? '?'} vs ${k.b ?? '?'}` }));
  }
}

/** The parent of a node (for TreeView.reveal): the node, or the page of it, whose children hold it; undefined for roots. */
export function parentNode(node: TreeNode, result: CompareResult): TreeNode | undefined {
  const n = result.models.length;
  switch (node.kind) {
    case 'model':
      return holder(null, node.model, n);
    case 'component':
      return { kind: 'model', model: node.model };
    case 'loraTarget':
      return { kind: 'component', model: node.model, component: node.component };
    case 'tensor': {
      const component: TreeNode = { kind: 'component', model: node.model, component: node.component };
      return node.index !== undefined && node.count !== undefined ? holder(component, node.index, node.count) : component;
    }
    case 'declaredParents':
    case 'health':
      return { kind: 'model', model: node.model };
    case 'declaredParent':
      return { kind: 'declaredParents', model: node.model };
    case 'finding':
      return { kind: 'health', model: node.model };
    case 'pairsOf':
      return holder({ kind: 'differences' }, node.a, n - 1);
    case 'pair': {
      const a = Math.min(node.a, node.b);
      const b = Math.max(node.a, node.b);
      if (!grouped(result)) return holder({ kind: 'differences' }, Math.max(0, result.pairs.indexOf(getPair(result, a, b)!)), result.pairs.length);
      const list = pairsOf(result, a);
      return holder({ kind: 'pairsOf', a }, list.findIndex((p) => p.b === b), list.length);
    }
    case 'pairComponent':
    case 'diffGroup':
      return { kind: 'pair', a: node.a, b: node.b };
    case 'diffKey': {
      const group: TreeNode = { kind: 'diffGroup', a: node.a, b: node.b, group: node.group };
      const p = getPair(result, node.a, node.b);
      const items = p ? groupItems(p, node.group) : [];
      return holder(group, Math.max(0, items.findIndex((it) => it.key === node.key)), items.length);
    }
    case 'fileError':
      return holder({ kind: 'errors' }, node.index, result.errors.length);
    case 'page':
      return node.parent ?? undefined;
    default:
      return undefined;
  }
}

export function nodeId(node: TreeNode): string {
  switch (node.kind) {
    case 'model':
      return `m/${node.model}`;
    case 'component':
      return `m/${node.model}/c/${node.component}`;
    case 'tensor':
      return `m/${node.model}/c/${node.component}/t/${node.name}`;
    case 'loraTarget':
      return `m/${node.model}/c/${node.component}/w/${node.key}`;
    case 'declaredParents':
      return `m/${node.model}/parents`;
    case 'declaredParent':
      return `m/${node.model}/parents/${node.index}`;
    case 'health':
      return `m/${node.model}/health`;
    case 'finding':
      return `m/${node.model}/health/${node.index}`;
    case 'differences':
      return 'd';
    case 'pairsOf':
      return `d/of/${node.a}`;
    case 'page':
      return `${node.parent ? nodeId(node.parent) : 'models'}/page/${node.start}`;
    case 'pair':
      return `d/${node.a}-${node.b}`;
    case 'pairComponent':
      return `d/${node.a}-${node.b}/c/${node.component}`;
    case 'diffGroup':
      return `d/${node.a}-${node.b}/g/${node.group}`;
    case 'diffKey':
      return `d/${node.a}-${node.b}/g/${node.group}/k/${node.key}`;
    case 'errors':
      return 'e';
    case 'fileError':
      return `e/${node.index}`;
    case 'message':
      return `msg/${node.id}`;
  }
}

export function dtypeMix(s: ComponentStats): string {
  return Object.entries(s.dtypes)
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .map(([d, n]) => `${d}×${n}`)
    .join(' ');
}

export function pairSummary(result: CompareResult, p: PairResult): string {
  const cs = result.components.map((c) => p.components[c]).filter((d): d is ComponentDiff => !!d);
  if (cs.length && cs.every((d) => d.status === 'identical')) return 'identical';
  const counts = new Map<string, number>();
  for (const d of cs) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
  const order = ['changed', 'same_delta', 'equal_values', 'identical', 'not_comparable', 'only_in_a', 'only_in_b'];
  return order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${statusLabel(s)}`).join(' · ');
}

export function statusLabel(s: string): string {
  switch (s) {
    case 'equal_values':
      return 'equal values';
    case 'same_delta':
      return 'same delta';
    case 'not_comparable':
      return 'not comparable';
    case 'only_in_a':
      return 'only in A';
    case 'only_in_b':
      return 'only in B';
    default:
      return s;
  }
}

const STATUS_ICON: Record<string, string> = {
  identical: 'pass-filled',
  equal_values: 'pass',
  same_delta: 'pass',
  changed: 'diff-modified',
  only_in_a: 'diff-removed',
  only_in_b: 'diff-added',
  not_comparable: 'circle-slash',
};

export function describeNode(result: CompareResult, node: TreeNode, analysis?: AnalysisFile | null): NodeView {
  const id = nodeId(node);
  const file = (i: number) => result.models[i]?.file ?? `#${i}`;
  switch (node.kind) {
    case 'declaredParents':
    case 'declaredParent':
    case 'health':
    case 'finding':
      return describeAnalysisNode(result, node, analysis);
    case 'model': {
      const m = result.models[node.model]!;
      const l = m.lora;
      return {
        id,
        label: m.file,
        description: m.archDetail,
        tooltip:
          `${m.path}\n${m.archDetail}\n${m.role ? `${FILE_ROLE_LABEL[m.role]}\n` : ''}${m.format}, ${formatBytes(m.sizeBytes)}, ${m.tensorCount} tensors, ${formatCount(m.paramCount)} parameters` +
          (l
            ? `\nLoRA for ${l.family} (${l.familyFrom}); ${l.naming} names; modules ${Object.entries(l.modules).map(([k, n]) => `${k}×${n}`).join(' ')}` +
              `${l.ranks.length ? `; rank ${l.ranks.join(', ')}` : ''}; alpha/rank ${l.scales.map((s) => formatDistance(s)).join(', ')}${l.dora ? '; DoRA' : ''}\n` +
              `changes ${l.targets} weights of ${l.keySpace}: ${Object.entries(l.targetsByComponent).map(([c, n]) => `${c} ${n}`).join(', ')}`
            : ''),
        collapsible: 'collapsed',
        contextValue: 'model',
        icon: l ? 'extensions' : 'file-binary',
        focus: { model: node.model },
      };
    }
    case 'component': {
      const lora = result.models[node.model]?.lora;
      if (lora) {
        const count = lora.targetsByComponent[node.component] ?? 0;
        const s = result.models[node.model]!.components[node.component];
        return {
          id,
          label: node.component,
          description: `changes ${count} weight${count === 1 ? '' : 's'}${s ? ` · ${formatCount(s.params)} params · factors ${dtypeMix(s)}` : ''}`,
          tooltip: `${node.component}: this LoRA changes ${count} weights of ${lora.keySpace}${s ? `\nfactors: ${formatBytes(s.bytes)}, ${dtypeMix(s)}` : ''}`,
          collapsible: count ? 'collapsed' : 'none',
          contextValue: 'component.lora',
          icon: 'symbol-namespace',
          focus: { model: node.model, component: node.component },
        };
      }
      const s = result.models[node.model]?.components[node.component];
      const same = identicalTo(result, node.model, node.component).map(file);
      const desc = s ? [`${formatCount(s.params)} params`, dtypeMix(s)] : [];
      if (same.length) desc.push(`identical to ${same.join(', ')}`);
      return {
        id,
        label: node.component,
        description: desc.join(' · '),
        tooltip: s
          ? `${node.component}: ${s.tensors} tensors, ${s.params} parameters, ${formatBytes(s.bytes)}\ndtypes: ${dtypeMix(s)}${same.length ? `\nbit-identical to: ${same.join(', ')}` : ''}`
          : node.component,
        collapsible: 'collapsed',
        contextValue: same.length ? 'component.identical' : 'component',
        icon: same.length ? 'link' : 'symbol-namespace',
        focus: { model: node.model, component: node.component },
      };
    }
    case 'loraTarget':
      return {
        id,
        label: node.key,
        description: 'changed by this LoRA',
        tooltip: `${node.key}\na weight of ${result.models[node.model]?.lora?.keySpace ?? 'the base'} that this LoRA changes`,
        collapsible: 'none',
        contextValue: 'loraTarget',
        icon: 'symbol-array',
      };
    case 'tensor':
      return {
        id,
        label: node.name,
        description: `${node.dtype} [${node.shape.join(', ')}]`,
        tooltip: `${node.name}\n${node.dtype} [${node.shape.join(', ')}]`,
        collapsible: 'none',
        contextValue: 'tensor',
        icon: 'symbol-array',
      };
    case 'differences':
      return {
        id,
        label: 'Differences',
        description: grouped(result) ? `${formatInt(result.pairs.length)} pairs, by first model` : `${result.pairs.length} pairs`,
        collapsible: grouped(result) ? 'collapsed' : 'expanded',
        contextValue: 'differences',
        icon: 'diff',
      };
    case 'pairsOf': {
      const list = pairsOf(result, node.a);
      const same = list.filter((p) => pairSummary(result, p) === 'identical').length;
      return {
        id,
        label: `${file(node.a)} ↔ …`,
        description: `${formatInt(list.length)} ${list.length === 1 ? 'pair' : 'pairs'}${same ? ` · ${same} bit-identical` : ''}`,
        tooltip: `Pairs of ${result.models[node.a]?.path ?? file(node.a)} with the models after it`,
        collapsible: 'collapsed',
        contextValue: 'pairsOf',
        icon: 'git-compare',
        focus: { model: node.a },
      };
    }
    case 'page':
      return {
        id,
        label: node.parent ? `${formatInt(node.start + 1)}–${formatInt(node.end)}` : `Models ${formatInt(node.start + 1)}–${formatInt(node.end)}`,
        description: `of ${formatInt(node.total)}`,
        collapsible: 'collapsed',
        contextValue: 'page',
        icon: 'list-flat',
      };
    case 'pair': {
      const p = getPair(result, node.a, node.b);
      return {
        id,
        label: `${file(node.a)} ↔ ${file(node.b)}`,
        description: p ? pairSummary(result, p) : '',
        tooltip: `A: ${result.models[node.a]?.path ?? ''}\nB: ${result.models[node.b]?.path ?? ''}`,
        collapsible: 'collapsed',
        contextValue: 'pair',
        icon: p && pairSummary(result, p) === 'identical' ? 'pass-filled' : 'git-compare',
        focus: { pair: { a: node.a, b: node.b } },
      };
    }
    case 'pairComponent': {
      const d = getPair(result, node.a, node.b)?.components[node.component];
      const parts = d ? [d.status === 'not_comparable' ? notComparableText(d) : statusLabel(d.status)] : [];
      if (d && d.status !== 'identical' && (d.l2 !== null || d.cosine !== null)) parts.push(`L2 ${formatDistance(d.l2)}`, `cos ${formatCosine(d.cosine)}`);
      return {
        id,
        label: node.component,
        description: parts.join(' · '),
        tooltip: d
          ? `${node.component}: ${d.status === 'not_comparable' ? notComparableText(d) : statusLabel(d.status)}\nL2 ${d.l2 ?? '—'}, cosine ${d.cosine ?? '—'}\n${d.shared} shared keys, ${d.changed} changed, ${d.only_a} only in A, ${d.only_b} only in B, ${d.mismatched} shape mismatches, ${d.dtype_diff} dtype differences`
          : node.component,
        collapsible: 'none',
        contextValue: `pairComponent.${d?.status ?? 'unknown'}`,
        icon: STATUS_ICON[d?.status ?? ''] ?? 'circle-outline',
        focus: { pair: { a: node.a, b: node.b }, component: node.component },
      };
    }
    case 'diffGroup': {
      const p = getPair(result, node.a, node.b);
      const n = p ? groupItems(p, node.group).length : 0;
      return {
        id,
        label: GROUP_LABEL[node.group],
        description: `${n}${p?.differences.truncated ? '+ (list cut)' : ''}`,
        collapsible: 'collapsed',
        contextValue: `diffGroup.${node.group}`,
        icon: node.group === 'only_a' ? 'diff-removed' : node.group === 'only_b' ? 'diff-added' : 'warning',
        focus: { pair: { a: node.a, b: node.b } },
      };
    }
    case 'diffKey':
      return {
        id,
        label: node.key,
        ...(node.detail !== undefined ? { description: node.detail } : {}),
        tooltip: node.detail !== undefined ? `${node.key}\n${node.detail}` : node.key,
        collapsible: 'none',
        contextValue: 'diffKey',
      };
    case 'errors':
      return { id, label: 'Could not read', description: `${result.errors.length} files`, collapsible: 'expanded', contextValue: 'errors', icon: 'error' };
    case 'fileError': {
      const e = result.errors[node.index]!;
      return { id, label: e.file, description: e.message, tooltip: `${e.path}\n${e.code}: ${e.message}`, collapsible: 'none', contextValue: 'fileError', icon: 'error' };
    }
    case 'message':
      return { id, label: node.text, collapsible: 'none', contextValue: 'message', icon: 'info' };
  }
}

/** Node to reveal for a focus coming from the panel. */
export function nodeForFocus(f: FocusTarget): TreeNode | undefined {
  if (f.pair) {
    const a = Math.min(f.pair.a, f.pair.b);
    const b = Math.max(f.pair.a, f.pair.b);
    return f.component ? { kind: 'pairComponent', a, b, component: f.component } : { kind: 'pair', a, b };
  }
  if (f.model !== undefined) return f.component ? { kind: 'component', model: f.model, component: f.component } : { kind: 'model', model: f.model };
  return undefined;
}

const SEVERITY_ICON: Record<ModelHealth['findings'][number]['severity'], string> = { error: 'error', warning: 'warning', info: 'info' };
const STATUS_HEALTH_ICON: Record<ModelHealth['status'], string> = { ok: 'pass', warning: 'warning', error: 'error' };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "1 error · 2 warnings · 1 note", or "no problems found". */
export function healthSummary(h: ModelHealth): string {
  const word = { error: 'error', warning: 'warning', info: 'note' } as const;
  const parts = (['error', 'warning', 'info'] as const)
    .map((sev) => ({ n: h.findings.filter((f) => f.severity === sev).length, w: word[sev] }))
    .filter((x) => x.n > 0)
    .map((x) => plural(x.n, x.w));
  return parts.length ? parts.join(' · ') : 'no problems found';
}

function matchText(result: CompareResult, p: DeclaredParent): string {
  if (!p.match) return 'not in this folder';
  return `${result.models[p.match.model]?.file ?? p.match.file} (by ${p.match.by})`;
}

function describeAnalysisNode(result: CompareResult, node: Extract<TreeNode, { kind: 'declaredParents' | 'declaredParent' | 'health' | 'finding' }>, analysis: AnalysisFile | null | undefined): NodeView {
  const id = nodeId(node);
  switch (node.kind) {
    case 'declaredParents': {
      const parents = lineageOf(analysis, node.model)?.parents ?? [];
      const found = parents.filter((p) => p.match).map((p) => result.models[p.match!.model]?.file ?? p.match!.file);
      return {
        id,
        label: `Declared parents: ${parents.map(declaredName).join(', ')}`,
        description: found.length ? `found: ${found.join(', ')}` : 'none in this folder',
        tooltip: parents.map((p) => `${p.role}: ${declaredName(p)} -> ${matchText(result, p)}`).join('\n'),
        collapsible: 'collapsed',
        contextValue: 'declaredParents',
        icon: 'type-hierarchy-super',
      };
    }
    case 'declaredParent': {
      const p = lineageOf(analysis, node.model)?.parents[node.index];
      if (!p) return { id, label: '?', collapsible: 'none', contextValue: 'declaredParent' };
      const hash = p.sha256 ?? p.shortHash ?? p.legacyHash;
      return {
        id,
        label: declaredName(p),
        description: `${p.role} · ${matchText(result, p)}`,
        tooltip: `${p.role}: ${declaredName(p)}${hash ? `\ndeclared hash ${hash}` : ''}\n${p.match ? `matched ${matchText(result, p)}` : 'not found among the compared models'}`,
        collapsible: 'none',
        contextValue: p.match ? 'declaredParent.found' : 'declaredParent',
        icon: p.match ? 'link' : 'question',
        ...(p.match ? { focus: { model: p.match.model } } : {}),
      };
    }
    case 'health': {
      const h = healthOf(analysis, node.model);
      if (!h) return { id, label: 'Health', collapsible: 'none', contextValue: 'health' };
      return {
        id,
        label: 'Health',
        description: healthSummary(h),
        tooltip: h.findings.length ? h.findings.map((f) => `${f.severity}: ${f.message}`).join('\n') : 'no problems found',
        collapsible: h.findings.length ? 'collapsed' : 'none',
        contextValue: `health.${h.status}`,
        icon: STATUS_HEALTH_ICON[h.status],
        focus: { model: node.model },
      };
    }
    case 'finding': {
      const f = healthOf(analysis, node.model)?.findings[node.index];
      if (!f) return { id, label: '?', collapsible: 'none', contextValue: 'finding' };
      return { id, label: f.message, tooltip: `${f.severity}: ${f.message}`, collapsible: 'none', contextValue: `finding.${f.severity}`, icon: SEVERITY_ICON[f.severity] };
    }
  }
}
