/**
 * What the hash and analysis workers are given and what they post back. Both end with either their result or
 * `{ type: 'failed', error }`, the one error shape of threadReply.ts; both stop early on the message 'stop'.
 */
import type { SerializedError } from '../../shared/errors';
import type { AnalysisFile, ModelHashes } from '../../shared/analysis';
import type { AnalyzeOptions } from '../analysis/analyze';

export interface HashWorkerInput {
  paths: string[];
  components: boolean;
  extractWeights: boolean;
}

export type HashWorkerMessage =
  | { type: 'progress'; index: number; done: number }
  | { type: 'result'; index: number; hashes: ModelHashes }
  | { type: 'failed'; error: SerializedError };

export interface AnalysisWorkerInput {
  dir: string;
  options: Pick<AnalyzeOptions, 'timeEmbed' | 'hashCache' | 'computeHashes'>;
}

export type AnalysisWorkerMessage =
  | { type: 'step'; message: string }
  | { type: 'done'; analysis: AnalysisFile }
  | { type: 'failed'; error: SerializedError };

/** The message that asks a worker to stop. */
export const STOP = 'stop';
