/**
 * The panel's "LoRA strengths" request: resolves the checkpoint and the base (models of the result, the comparison's
 * base, or files the user picks), then attributes (checkpoint - base) to every LoRA of the result in a worker thread.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { attributeInWorker, type CompareResult } from '../../compute';
import type { AttributionModelRef, LoraAttributionMessage, WebviewToHost } from '../../shared/protocol';

export async function loraAttribution(result: CompareResult, p: WebviewToHost['lora/attribute'], onProgress?: (text: string) => void): Promise<LoraAttributionMessage | null> {
  const loras = result.models.filter((m) => m.lora);
  if (!loras.length) throw new Error('this result has no LoRA');
  const checkpoint = await resolveModel(result, p.checkpoint, 'checkpoint to attribute');
  if (!checkpoint) return null;
  const base = await resolveModel(result, p.base, 'base (the model the checkpoint was made from)');
  if (!base) return null;
  if (base === checkpoint) throw new Error('the checkpoint and the base are the same file');
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `modeldiff: LoRA strengths in ${basename(checkpoint)}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      let last = 0;
      return attributeInWorker(
        { checkpoint, base, loras: loras.map((m) => m.path), allowNegative: !p.nonNegative },
        {
          signal: controller.signal,
          onProgress: ({ keysDone, keysTotal }) => {
            const pct = keysTotal ? (100 * keysDone) / keysTotal : 0;
            progress.report({ increment: pct - last, message: `${keysDone}/${keysTotal} weights` });
            last = pct;
            onProgress?.(`${keysDone}/${keysTotal}`);
          },
        },
      );
    },
  );
  const a = r.attribution;
  const indexOf = new Map(loras.map((m) => [m.path, m.index]));
  return {
    checkpoint: a.checkpoint,
    base: a.base,
    nonNegative: p.nonNegative,
    loras: a.loras.map((l) => ({ model: indexOf.get(l.file) ?? -1, file: basename(l.file), strength: l.strength, keys: l.keys, dependent: l.dependent })),
    relResidual: a.relResidual,
    explained: a.explained,
    keys: a.keys,
    notes: a.notes,
    errors: r.errors.map((e) => ({ file: e.file, message: e.message })),
  };
}

async function resolveModel(result: CompareResult, ref: AttributionModelRef, what: string): Promise<string | undefined> {
  if (typeof ref === 'number') {
    const m = result.models[ref];
    if (!m) throw new Error(`no model ${ref} in this result`);
    if (m.lora) throw new Error(`${m.file} is a LoRA, not a checkpoint`);
    return m.path;
  }
  if (ref === 'comparison-base') {
    if (!result.options.base) throw new Error('this comparison was run without a base');
    return result.options.base;
  }
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Use',
    title: `modeldiff: the ${what}`,
    filters: { Models: ['safetensors', 'ckpt', 'pt', 'pth', 'bin', 'gguf'] },
  });
  return picked?.[0]?.fsPath;
}
