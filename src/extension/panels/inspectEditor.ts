/**
 * The read-only custom editor for model files: architecture, components, tensors and metadata of one model, read
 * from its header only (openCheckpoint never reads tensor bytes), rendered by the webview bundle as data-view="inspect".
 */
import * as vscode from 'vscode';
import { loadModel, openCheckpoint, toModeldiffError } from '../../compute';
import { Disposable } from '../util/disposable';
import { readExtractWeights } from '../util/settings';
import { HostIpc } from './ipc';
import { inspectTensors } from './inspectData';
import { renderWebview, webviewOptions } from './webviewContent';

/** *.safetensors opens here by default; the other model extensions offer it as an option ("Open With..."). */
export const INSPECT_VIEW_TYPES = ['modeldiff.inspector', 'modeldiff.inspectorPickle'] as const;

class ModelDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

export class InspectEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  static register(ctx: vscode.ExtensionContext, log: vscode.LogOutputChannel): vscode.Disposable[] {
    const provider = new InspectEditorProvider(ctx, log);
    return INSPECT_VIEW_TYPES.map((t) =>
      vscode.window.registerCustomEditorProvider(t, provider, { supportsMultipleEditorsPerDocument: true, webviewOptions: { retainContextWhenHidden: false } }),
    );
  }

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    return new ModelDocument(uri);
  }

  async resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel, token: vscode.CancellationToken): Promise<void> {
    const session = new InspectSession(document.uri, panel, this.log);
    panel.onDidDispose(() => session.dispose());
    panel.webview.options = webviewOptions(this.ctx.extensionUri);
    const title = `modeldiff: ${document.uri.path.split('/').pop() ?? ''}`;
    await renderWebview(panel.webview, this.ctx.extensionUri, 'inspect', title, this.log);
    if (!token.isCancellationRequested) void session.load();
  }
}

class InspectSession extends Disposable {
  private readonly ipc: HostIpc;
  private readonly abort = new AbortController();

  constructor(
    private readonly uri: vscode.Uri,
    panel: vscode.WebviewPanel,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.ipc = new HostIpc((m) => panel.webview.postMessage(m), {}, {}, (line) => log.warn(`inspector: ${line}`));
    this._register(panel.webview.onDidReceiveMessage((m) => void this.ipc.receive(m)));
    this._register({ dispose: () => this.abort.abort() });
    this._register(this.ipc);
  }

  async load(): Promise<void> {
    const file = this.uri.path.split('/').pop() ?? this.uri.toString();
    if (this.uri.scheme !== 'file') {
      this.ipc.notify('error/didOccur', { message: `modeldiff can only read local files (this one is ${this.uri.scheme}:).`, file });
      return;
    }
    const path = this.uri.fsPath;
    try {
      const cfg = vscode.workspace.getConfiguration('modeldiff.compare');
      const checkpoint = await openCheckpoint(path, this.abort.signal, { extractWeights: readExtractWeights((k) => cfg.get(k)) });
      const model = loadModel(checkpoint, 0);
      this.ipc.notify('inspect/didChange', { info: model.info, tensors: inspectTensors(checkpoint, model) });
    } catch (e) {
      if (this.isDisposed) return;
      const err = toModeldiffError(e, path);
      this.log.error(`${path}: ${err.code}: ${err.message}`);
      this.ipc.notify('error/didOccur', { message: `${err.code}: ${err.message}`, file });
    }
  }
}
