/**
 * Messages between the extension host and its webviews. Pure types and constants: imported by
 * src/extension (host side) and src/webview (panel side); never imports vscode, node: or DOM.
 *
 * Every message is `{ method, params }`; requests add `id` and are answered by `{ method: 'response', id, ok, value | error }`.
 * The webview sends `ready` first; the host posts nothing before it.
 */
import type { CompareResult, ModelInfo } from './result';
import type { PackedResult } from './packedResult';
import type { Seriation } from './clustering';
import type { DistanceMetric } from './distanceCell';
import type { AnalysisFile, RecipeEstimate, TimeEmbedPlacement } from './analysis';

export const PROTOCOL_VERSION = 1;

export interface LayerRowMessage {
  key: string;
  component: string;
  l2: number | null;
  cosine: number | null;
}

export interface InspectTensor {
  key: string;
  name: string;
  component: string;
  dtype: string;
  shape: number[];
  bytes: number;
}

export interface ProgressMessage {
  phase: string;
  bytesDone: number;
  bytesTotal: number;
  etaSeconds: number | null;
  message?: string;
}

/**
 * Which checkpoint a LoRA attribution uses: a model of the result (its index), the base the comparison was run
 * with (`comparison-base`, only for the base), or a file the user picks in a dialog (`choose`).
 */
export type AttributionModelRef = number | 'comparison-base' | 'choose';

/** The strength of each LoRA of the result in (checkpoint - base) (modeldiff attribute). */
export interface LoraAttributionMessage {
  checkpoint: string;
  base: string;
  nonNegative: boolean;
  /** `model`: index of the LoRA in the result */
  loras: { model: number; file: string; strength: number; keys: number; dependent: boolean }[];
  /** ||checkpoint - base - sum s_i dW_i|| / ||checkpoint - base|| over the weights the LoRAs change */
  relResidual: number;
  /** share of ||checkpoint - base||^2 the fit explains on those weights */
  explained: number;
  keys: number;
  notes: string[];
  /** LoRA files that could not be used, with the reason (`model`: index of the LoRA in the result, when it is one) */
  errors: { model?: number; file: string; message: string }[];
}

/** The answer to `lora/attribute` when the user dismissed the dialog that picks the checkpoint or the base file. */
export interface LoraAttributionDismissed {
  dismissed: 'checkpoint' | 'base';
}

/** Webview -> host notifications and requests. */
export interface WebviewToHost {
  ready: { protocolVersion: number };
  /** request: the per-layer table of a pair */
  'layers/get': { a: number; b: number };
  /** request: save a chart or table; the host asks where */
  'export/save': { suggestedName: string; kind: 'png' | 'svg' | 'csv' | 'json'; /** base64 for png, text otherwise */ data: string };
  /** notification: the user focused a model or pair in the panel (the host may reveal it in the tree) */
  'focus/changed': { model?: number; pair?: { a: number; b: number }; component?: string };
  /** request: a merge-recipe estimate of `model` from parents the user chose (2..4 other models) */
  'recipe/get': { model: number; parents: number[] };
  /** notification: run the analyses again (e.g. with file hashes, or another time_embed placement) */
  'analysis/run': { computeHashes?: boolean; timeEmbed?: TimeEmbedPlacement };
  /** notification: the panel has drawn the result it was sent (the host starts the analyses then, not before) */
  'result/drawn': { models: number; outDir: string };
  /** request: the strength of each LoRA of the result in (checkpoint - base); { dismissed } back when the user closes a file dialog */
  'lora/attribute': { checkpoint: Exclude<AttributionModelRef, 'comparison-base'>; base: AttributionModelRef; nonNegative: boolean };
}

/** Host -> webview notifications. */
export interface HostToWebview {
  /** the comparison to show (compare view); the extension packs its pairs (packedResult.ts), the report does not */
  'result/didChange': {
    result: CompareResult | PackedResult;
    outDir: string;
    /** the clustering of the matrix the panel opens on, worked out while the panel loads (it computes any other) */
    seriation?: { component: string; metric: DistanceMetric; value: Seriation };
  };
  /** a running comparison's progress (compare view, before the result) */
  'progress/didChange': ProgressMessage;
  /** focus a pair/component/model (from the tree view or a command) */
  'focus/didChange': { model?: number; pair?: { a: number; b: number }; component?: string };
  /** a model file's header (inspect view: the read-only custom editor) */
  'inspect/didChange': { info: ModelInfo; tensors: InspectTensor[] };
  /** a failure to show in the panel */
  'error/didOccur': { message: string; file?: string };
  /**
   * the analyses of the result on display (analysis.json): sent after `result/didChange`. `state` 'running' comes
   * first (analysis null), then 'done' with the analysis or 'failed' with an error. `static` is true in the HTML report,
   * where nothing can be recomputed (no 'recipe/get', no 'analysis/run').
   */
  'analysis/didChange': { state: 'running' | 'done' | 'failed'; analysis: AnalysisFile | null; error?: string; static?: boolean };
}

export interface RequestResults {
  'layers/get': LayerRowMessage[];
  'export/save': { saved: boolean; path?: string };
  'recipe/get': RecipeEstimate;
  'lora/attribute': LoraAttributionMessage | LoraAttributionDismissed;
}

export type WebviewMessage =
  | { [M in keyof WebviewToHost]: { method: M; params: WebviewToHost[M]; id?: number } }[keyof WebviewToHost];

export type HostMessage =
  | { [M in keyof HostToWebview]: { method: M; params: HostToWebview[M] } }[keyof HostToWebview]
  | { method: 'response'; id: number; ok: true; value: unknown }
  | { method: 'response'; id: number; ok: false; error: string };

/** Which app the webview bundle renders; set as `data-view` on <body> by the host. */
export type WebviewView = 'compare' | 'inspect';
