/** Every modeldiff command (ids as contributed in package.json, category "modeldiff"). */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { MODEL_EXTENSIONS, MODEL_MAP_FILE, RESULT_FILE, DEFAULT_LAYERS_BUDGET_MIB, copyFileAtomic, modelMap, writeFileAtomic, writeReport } from '../../compute';
import { reportHtml } from '../../views/report/page';
import type { AnalysisService } from '../analysis/service';
import type { ComparePanel } from '../panels/comparePanel';
import { showWithDetails, type Session } from '../session';
import { pairsCsv } from '../util/csv';
import type { FocusTarget } from '../views/treeModel';

export const COMMANDS = {
  compareModels: 'modeldiff.compareModels',
  compareFolder: 'modeldiff.compareFolder',
  compareWithActive: 'modeldiff.compareWithActive',
  reopenLastResult: 'modeldiff.reopenLastResult',
  openResult: 'modeldiff.openResult',
  exportReport: 'modeldiff.exportReport',
  cancelComparison: 'modeldiff.cancelComparison',
  showPanel: 'modeldiff.showPanel',
  focus: 'modeldiff.focus',
  computeHashes: 'modeldiff.computeHashes',
} as const;

export const PAIRS_CSV_FILE = 'modeldiff_pairs.csv';
export const REPORT_FILE = 'modeldiff_report.html';

const MODEL_FILTER = { 'Model files': MODEL_EXTENSIONS.map((e) => e.slice(1)) };

export interface CommandDeps {
  ctx: vscode.ExtensionContext;
  session: Session;
  analysis: AnalysisService;
  /** shows the panel, optionally focused on a model/pair/component */
  showPanel: (focus?: FocusTarget, preserveFocus?: boolean) => ComparePanel;
}

export function registerCommands(d: CommandDeps): vscode.Disposable[] {
  const { session } = d;
  const runAndShow = async (inputs: string[]) => {
    d.showPanel(undefined, true);
    await session.run(inputs);
  };
  const guard =
    <A extends unknown[]>(name: string, fn: (...a: A) => Promise<unknown> | unknown) =>
    async (...a: A) => {
      try {
        await fn(...a);
      } catch (e) {
        session.log.error(`${name}: ${(e as Error).stack ?? String(e)}`);
        void showWithDetails(session.log, 'error', `modeldiff: ${(e as Error).message}`);
      }
    };

  return [
    // Explorer: (clicked, selection) — a folder, or several model files.
    vscode.commands.registerCommand(
      COMMANDS.compareModels,
      guard('compareModels', async (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
        const given = (uris?.length ? uris : uri ? [uri] : []).filter((u) => u instanceof vscode.Uri && u.scheme === 'file');
        if (!given.length) return vscode.commands.executeCommand(COMMANDS.compareFolder);
        // a multi-selection may hold other files too: keep folders and model files
        const keep = await Promise.all(given.map(async (u) => given.length === 1 || isModelPath(u.path) || (await isFolder(u))));
        const picked = given.filter((_, i) => keep[i]);
        if (!picked.length) {
          void vscode.window.showInformationMessage('modeldiff: select model files (.safetensors, .ckpt, .pt, .pth, .bin) or a folder.');
          return;
        }
        return runAndShow(picked.map((u) => u.fsPath));
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.compareFolder,
      guard('compareFolder', async () => {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const pick = await vscode.window.showOpenDialog({
          canSelectFolders: true,
          canSelectFiles: false,
          canSelectMany: false,
          openLabel: 'Compare Models',
          title: 'modeldiff: pick a folder of model files',
          ...(folder ? { defaultUri: folder } : {}),
        });
        if (pick?.[0]) await runAndShow([pick[0].fsPath]);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.compareWithActive,
      guard('compareWithActive', async (uri?: vscode.Uri) => {
        const current = uri instanceof vscode.Uri ? uri : activeModelUri();
        if (!current) {
          void vscode.window.showInformationMessage('modeldiff: open a model file (.safetensors, .ckpt, .pt, .pth, .bin) first.');
          return;
        }
        const other = await vscode.window.showOpenDialog({
          canSelectMany: true,
          filters: MODEL_FILTER,
          openLabel: 'Compare',
          title: `modeldiff: compare ${current.path.split('/').pop()} with…`,
          defaultUri: vscode.Uri.joinPath(current, '..'),
        });
        if (other?.length) await runAndShow([current.fsPath, ...other.map((u) => u.fsPath).filter((p) => p !== current.fsPath)]);
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.reopenLastResult,
      guard('reopenLastResult', async () => {
        const r = session.current ?? (await session.restoreLast());
        if (!r) {
          void vscode.window.showInformationMessage('modeldiff: no earlier result in this workspace. Run "Compare Models" first.');
          return;
        }
        d.showPanel();
      }),
    ),
    vscode.commands.registerCommand(
      COMMANDS.openResult,
      guard('openResult', async (uri?: vscode.Uri) => {
        const picked =
          uri instanceof vscode.Uri && uri.scheme === 'file'
            ? [uri]
            : await vscode.window.showOpenDialog({
                canSelectFolders: true,
                canSelectFiles: false,
                canSelectMany: false,
                ...(vscode.workspace.workspaceFolders?.[0] ? { defaultUri: vscode.workspace.workspaceFolders[0].uri } : {}),
                openLabel: 'Open Result',
                title: `modeldiff: open a comparison result (a folder with ${RESULT_FILE})`,
              });
        const dir = picked?.[0]?.fsPath;
        if (!dir) return;
        // the panel loads its page while the host reads result.json
        const panel = d.showPanel();
        panel.opening(dir);
        await session.openFolder(dir).catch((e: unknown) => {
          panel.openFailed((e as Error).message);
          throw e;
        });
      }),
    ),
    vscode.commands.registerCommand(COMMANDS.showPanel, guard('showPanel', () => d.showPanel())),
    vscode.commands.registerCommand(
      COMMANDS.exportReport,
      guard('exportReport', async () => {
        const r = session.current ?? (await session.restoreLast());
        if (!r) {
          void vscode.window.showInformationMessage('modeldiff: nothing to export yet. Run "Compare Models" first.');
          return;
        }
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const pick = await vscode.window.showOpenDialog({
          canSelectFolders: true,
          canSelectFiles: false,
          openLabel: 'Export Here',
          title: 'modeldiff: export report.html, result.json, model_map_v2.json and a CSV to…',
          ...(folder ? { defaultUri: folder } : {}),
        });
        const target = pick?.[0];
        if (!target) return;
        const out = target.fsPath;
        copyFileAtomic(join(r.outDir, RESULT_FILE), join(out, RESULT_FILE));
        // a result folder written by another tool or an older version may lack it: it is made from the result then
        try {
          copyFileAtomic(join(r.outDir, MODEL_MAP_FILE), join(out, MODEL_MAP_FILE));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          writeFileAtomic(join(out, MODEL_MAP_FILE), JSON.stringify(modelMap(r.result)));
        }
        writeFileAtomic(join(out, PAIRS_CSV_FILE), pairsCsv(r.result));
        const a = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'modeldiff: writing the HTML report…' }, async () => {
          const s = await d.analysis.settled(r.outDir);
          return writeReport({ dir: r.outDir, result: r.result }, join(out, REPORT_FILE), {
            render: reportHtml,
            analysis: s?.analysis ?? null,
            ...(s?.analysis ? {} : { analysisError: s?.error ?? 'the analyses were not available when this report was exported' }),
            layersBudgetBytes: DEFAULT_LAYERS_BUDGET_MIB * 1024 * 1024,
          });
        });
        session.log.info(`exported the report to ${out} (${REPORT_FILE}: ${a.bytes} bytes, per-layer values of ${a.layers.pairs.length} pairs)`);
        void vscode.window.showInformationMessage(`modeldiff: exported ${REPORT_FILE} (open it in any browser), ${RESULT_FILE}, ${MODEL_MAP_FILE} and ${PAIRS_CSV_FILE} to ${out}.`);
      }),
    ),
    vscode.commands.registerCommand(COMMANDS.cancelComparison, () => {
      if (!session.cancel()) void vscode.window.showInformationMessage('modeldiff: no comparison is running.');
    }),
    vscode.commands.registerCommand(
      COMMANDS.computeHashes,
      guard('computeHashes', async () => {
        const r = session.current ?? (await session.restoreLast());
        if (!r) {
          void vscode.window.showInformationMessage('modeldiff: nothing to hash yet. Run "Compare Models" first.');
          return;
        }
        d.showPanel(undefined, true);
        const s = await d.analysis.rerun({ computeHashes: true });
        if (s?.state === 'failed' && !s.cancelled) void showWithDetails(session.log, 'error', `modeldiff: the analysis failed: ${s.error}`);
      }),
    ),
    vscode.commands.registerCommand(COMMANDS.focus, (f?: FocusTarget) => {
      if (f && typeof f === 'object') d.showPanel(f, true);
    }),
  ];
}

function isModelPath(p: string): boolean {
  const lower = p.toLowerCase();
  return MODEL_EXTENSIONS.some((e) => lower.endsWith(e));
}

async function isFolder(u: vscode.Uri): Promise<boolean> {
  try {
    return (await stat(u.fsPath)).isDirectory();
  } catch {
    return false;
  }
}

/** The model file of the active editor tab: the inspector (custom editor) or any other editor on a model file. */
function activeModelUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri =
    input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText
      ? input.uri
      : vscode.window.activeTextEditor?.document.uri;
  return uri && uri.scheme === 'file' && isModelPath(uri.path) ? uri : undefined;
}
