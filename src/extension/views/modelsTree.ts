/** The "Models" tree view: a thin vscode adapter over treeModel.ts. Labels are plain strings, never markdown. */
import * as vscode from 'vscode';
import type { AnalysisFile } from '../../shared/analysis';
import { loadModel, openCheckpoint } from '../../compute';
import type { AnalysisService } from '../analysis/service';
import type { Session } from '../session';
import { Disposable } from '../util/disposable';
import { childNodes, describeNode, nodeId, parentNode, rootNodes, type TensorEntry, type TreeNode } from './treeModel';

export const MODELS_VIEW_ID = 'modeldiff.models';
export const FOCUS_COMMAND = 'modeldiff.focus';

export class ModelsTreeProvider extends Disposable implements vscode.TreeDataProvider<TreeNode> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<TreeNode | undefined>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  /** model path -> its tensors (header only), loaded when a component is expanded */
  private tensors = new Map<string, Promise<TensorEntry[]>>();

  constructor(
    private readonly session: Session,
    private readonly analysis: AnalysisService,
  ) {
    super();
    this._register(
      session.onDidChangeResult(() => {
        this.tensors.clear();
        this._onDidChangeTreeData.fire(undefined);
      }),
    );
    this._register(session.onDidChangeRunning(() => this._onDidChangeTreeData.fire(undefined)));
    this._register(analysis.onDidChange((s) => s.state !== 'running' && this._onDidChangeTreeData.fire(undefined)));
  }

  /** The analysis of the result on display, when it is done. */
  private currentAnalysis(): AnalysisFile | null {
    const r = this.session.current;
    return (r && this.analysis.stateOf(r.outDir)?.analysis) ?? null;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const r = this.session.current;
    const v = r
      ? describeNode(r.result, node, this.currentAnalysis())
      : { id: nodeId(node), label: node.kind === 'message' ? node.text : '', collapsible: 'none' as const, contextValue: 'message', icon: 'info' };
    const item = new vscode.TreeItem(
      v.label,
      v.collapsible === 'none' ? vscode.TreeItemCollapsibleState.None : v.collapsible === 'expanded' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = v.id;
    if ('description' in v && v.description !== undefined) item.description = v.description;
    if ('tooltip' in v && v.tooltip !== undefined) item.tooltip = v.tooltip; // a plain string: never rendered as markdown
    item.contextValue = v.contextValue;
    if (v.icon) item.iconPath = new vscode.ThemeIcon(v.icon);
    if ('focus' in v && v.focus) item.command = { command: FOCUS_COMMAND, title: 'Show in Comparison Panel', arguments: [v.focus] };
    if (r && node.kind === 'model') item.resourceUri = vscode.Uri.file(r.result.models[node.model]?.path ?? '');
    return item;
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    const r = this.session.current;
    if (!node) {
      if (r) return rootNodes(r.result);
      if (this.session.isRunning) return [{ kind: 'message', id: 'running', text: 'Comparing…' }];
      return []; // the view's welcome content offers the commands
    }
    if (!r) return [];
    const component = node.kind === 'component' ? node : node.kind === 'page' && node.parent?.kind === 'component' ? node.parent : null;
    if (component) {
      const m = r.result.models[component.model];
      if (!m) return [];
      // a LoRA's component lists the weights it changes (from result.json), not its factor tensors
      if (m.lora) return childNodes(r.result, node);
      try {
        const nodes = childNodes(r.result, node, await this.modelTensors(m.path));
        return nodes.length ? nodes : [{ kind: 'message', id: `${nodeId(node)}/none`, text: 'no tensors' }];
      } catch (e) {
        return [{ kind: 'message', id: `${nodeId(node)}/error`, text: `could not read the header: ${(e as Error).message}` }];
      }
    }
    return childNodes(r.result, node, undefined, this.currentAnalysis());
  }

  getParent(node: TreeNode): TreeNode | undefined {
    const r = this.session.current;
    return r ? parentNode(node, r.result) : undefined;
  }

  private modelTensors(path: string): Promise<TensorEntry[]> {
    let p = this.tensors.get(path);
    if (!p) {
      // the way the comparison read it (extract-weights mode or not)
      p = openCheckpoint(path, undefined, { extractWeights: !!this.session.current?.result.options.extractWeights }).then((cp) => {
        const m = loadModel(cp, 0);
        const byName = new Map<string, string>();
        for (const t of m.tensors.values()) byName.set(t.ref.name, t.component);
        return cp.tensors.map((t) => ({ name: t.name, component: byName.get(t.name) ?? 'other', dtype: t.dtype, shape: t.shape }));
      });
      p.catch(() => this.tensors.delete(path));
      this.tensors.set(path, p);
    }
    return p;
  }
}
