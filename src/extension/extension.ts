/**
 * modeldiff for VS Code: Compare Models from the explorer and the palette, the "Models" tree, the comparison panel
 * and the read-only model inspector. The engine runs in its own piscina worker pool (dist/engineWorker.js), so the
 * extension host only awaits promises; model files are read asynchronously and only ever as data.
 */
import * as vscode from 'vscode';
import { AnalysisService } from './analysis/service';
import { registerCommands } from './commands/index';
import { COMPARE_VIEW_TYPE, ComparePanel } from './panels/comparePanel';
import { InspectEditorProvider } from './panels/inspectEditor';
import { Session } from './session';
import { MODELS_VIEW_ID, ModelsTreeProvider } from './views/modelsTree';
import { nodeForFocus, type FocusTarget } from './views/treeModel';

export function activate(ctx: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('modeldiff', { log: true });
  ctx.subscriptions.push(log);
  const session = new Session(ctx, log);
  ctx.subscriptions.push(session);
  // before any panel or tree listens to the session: the analysis state of a new result is set when they hear of it
  const analysis = new AnalysisService(session);
  ctx.subscriptions.push(analysis);

  const tree = new ModelsTreeProvider(session, analysis);
  const treeView = vscode.window.createTreeView(MODELS_VIEW_ID, { treeDataProvider: tree, showCollapseAll: true });
  ctx.subscriptions.push(tree, treeView);

  const revealInTree = (f: FocusTarget) => {
    const node = nodeForFocus(f);
    if (node && treeView.visible && session.current) void Promise.resolve(treeView.reveal(node, { select: true, focus: false, expand: false })).catch(() => {});
  };
  const panelDeps = { ctx, session, analysis, onFocus: revealInTree };
  const showPanel = (focus?: FocusTarget, preserveFocus = false) => {
    const panel = ComparePanel.show(panelDeps, preserveFocus);
    if (focus) panel.focus(focus, preserveFocus);
    return panel;
  };

  ctx.subscriptions.push(
    ...registerCommands({ ctx, session, analysis, showPanel }),
    ...InspectEditorProvider.register(ctx, log),
    vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state) => ComparePanel.revive(panel, panelDeps, state),
    }),
    { dispose: () => ComparePanel.instance?.dispose() },
    // a comparison still running when the window goes away is stopped, so its workers go with it
    { dispose: () => session.cancel() },
  );

  // The tree shows the last result of this workspace after a reload.
  void session.restoreLast();
  log.info(`modeldiff ${ctx.extension.packageJSON.version as string} activated (extension host ${process.version}, ${vscode.env.appName} ${vscode.version})`);
}

export function deactivate(): void {}
