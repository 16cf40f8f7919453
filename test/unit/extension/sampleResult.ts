/** A small hand-made CompareResult: three models, one identical pair, one pair with key/shape/dtype differences. */
import type { CompareResult, ComponentDiff, ModelInfo } from '../../../src/shared/result';

const stats = (dtypes: Record<string, number>, params: number) => ({ tensors: Object.values(dtypes).reduce((a, b) => a + b, 0), params, bytes: params * 2, dtypes });

function model(index: number, file: string): ModelInfo {
  return {
    index,
    file,
    path: `/models/${file}`,
    format: 'safetensors',
    arch: 'sd1',
    archDetail: 'SD 1.x',
    sizeBytes: 1000,
    tensorCount: 4,
    paramCount: 600,
    components: { unet: stats({ F16: 2 }, 500), vae: stats({ F16: 1, F32: 1 }, 100) },
    metadata: {},
    notes: [],
  } as unknown as ModelInfo; // fields added to ModelInfo later are not needed here
}

function diff(status: ComponentDiff['status'], l2: number | null, extra: Partial<ComponentDiff> = {}): ComponentDiff {
  return { status, l2, cosine: l2 === null ? null : 1 - l2 / 10, identical: status === 'identical', equal_values: status === 'identical' || status === 'equal_values', shared: 2, only_a: 0, only_b: 0, mismatched: 0, dtype_diff: 0, changed: status === 'changed' ? 1 : 0, non_finite: 0, bytes_only: 0, ...extra };
}

export function sampleResult(): CompareResult {
  return {
    schemaVersion: 1,
    tool: { name: 'modeldiff', version: '0.1.0' },
    createdAt: '2026-11-25T00:00:00.000Z',
    options: { metric: 'l2', components: null, includeEma: true, workers: 2, memoryBudgetMiB: 256 },
    models: [model(0, 'base.safetensors'), model(1, 'copy.safetensors'), model(2, '<img src=x onerror=alert(1)>.safetensors')],
    errors: [{ code: 'ST_HEADER_TOO_LARGE', message: 'header is too large', file: 'bad.safetensors', path: '/models/bad.safetensors' }],
    components: ['unet', 'vae'],
    pairs: [
      { a: 0, b: 1, components: { unet: diff('identical', 0), vae: diff('identical', 0) }, differences: { only_a: [], only_b: [], mismatched: [], dtype: [], truncated: false } },
      {
        a: 0,
        b: 2,
        components: { unet: diff('changed', 1.5, { only_a: 1, mismatched: 1 }), vae: diff('equal_values', 0, { dtype_diff: 1 }) },
        differences: {
          only_a: ['model.diffusion_model.out.2.bias'],
          only_b: ['=cmd|calc'],
          mismatched: [{ key: 'model.diffusion_model.input_blocks.0.0.weight', a: '[320,4,3,3]', b: '[320,9,3,3]' }],
          dtype: [{ key: 'first_stage_model.decoder.conv_in.weight', a: 'F16', b: 'F32' }],
          truncated: false,
        },
      },
      { a: 1, b: 2, components: { unet: diff('changed', 1.5), vae: diff('equal_values', 0) }, differences: { only_a: [], only_b: [], mismatched: [], dtype: [], truncated: false } },
    ],
    layers: { file: 'layers.bin', keys: [], keyComponents: [], pairs: 3, planes: ['l2', 'cosine'] },
    stats: { seconds: 1, bytesRead: 10, bytesTotal: 10, tensorsCompared: 4, identicalGroups: 1, guardRecomputes: 0, kernels: 'reference' },
  };
}
