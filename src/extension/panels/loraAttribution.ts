/**
 * The panel's "LoRA strengths" request: resolves the checkpoint and the base (models of the result, the comparison's
 * base, or files the user picks), then attributes (checkpoint - base) to every LoRA of the result in a worker thread.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { attributeInWorker, type CompareResult } from '../../compute';
import type { AttributionModelRef, LoraAttributionDismissed, LoraAttributionMessage, WebviewToHost } from '../../shared/protocol';
import { attributionMessage, resultLoraPaths, resultModelPath } from './loraAttributionMessage';

export async function loraAttribution(
  result: CompareResult,
  p: WebviewToHost['lora/attribute'],
  onProgress?: (text: string) => void,
): Promise<LoraAttributionMessage | LoraAttributionDismissed> {
  const loras = resultLoraPaths(result);
  const checkpoint = await resolveModel(result, p.checkpoint, 'checkpoint to attribute');
  if (!checkpoint) return { dismissed: 'checkpoint' };
  const base = await resolveModel(result, p.base, 'base (the model the checkpoint was made from)');
  if (!base) return { dismissed: 'base' };
  if (base === checkpoint) throw new Error('the checkpoint and the base are the same file');
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `modeldiff: LoRA strengths in ${basename(checkpoint)}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      let last = 0;
      return attributeInWorker(
        { checkpoint, base, loras, allowNegative: !p.nonNegative },
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
  return attributionMessage(result, r, p.nonNegative);
}

async function resolveModel(result: CompareResult, ref: AttributionModelRef, what: string): Promise<string | undefined> {
  if (ref !== 'choose') return resultModelPath(result, ref);
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Use',
    title: `modeldiff: the ${what}`,
    filters: { Models: ['safetensors', 'ckpt', 'pt', 'pth', 'bin', 'gguf'] },
  });
  return picked?.[0]?.fsPath;
}
