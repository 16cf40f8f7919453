/** A hand-made analysis.json for sampleResult(): health findings of every severity and declared parents of model 2. */
import type { AnalysisFile, DeclaredLineage, DeclaredParent, ModelHealth, ModelLineage } from '../../../src/shared/analysis';
import type { CompareResult } from '../../../src/shared/result';

function health(model: number, file: string, findings: ModelHealth['findings']): ModelHealth {
  const status = findings.some((f) => f.severity === 'error') ? 'error' : findings.some((f) => f.severity === 'warning') ? 'warning' : 'ok';
  return {
    model,
    file,
    arch: 'sd1',
    positionIds: [],
    nonFinite: { keys: [], count: 0 },
    allZero: { keys: [], count: 0, benign: [] },
    missingComponents: [],
    unexpectedKeys: { keys: [], count: 0 },
    wasted: null,
    findings,
    status,
  };
}

function parent(role: string, name: string | null, match: DeclaredParent['match'], shortHash: string | null = null): DeclaredParent {
  return { role, name, sha256: null, shortHash, legacyHash: null, recipe: null, match };
}

const NO_DECLARATION: DeclaredLineage = { title: null, architecture: null, author: null, recipe: null, mergedFrom: [], trainedFrom: null, ancestors: [], selfHashes: [], keys: [], notes: [] };

function lineage(model: number, file: string, parents: DeclaredParent[]): ModelLineage {
  return { model, file, declared: NO_DECLARATION, parents, nearest: [], sameUnet: [], equalUnet: [], confirmed: [], unconfirmed: [], estimate: null, estimateParents: [] };
}

export function sampleAnalysis(result: CompareResult): AnalysisFile {
  const [m0, m1, m2] = result.models.map((m) => m.file) as [string, string, string];
  return {
    schemaVersion: 1,
    tool: { name: 'modeldiff', version: '0.1.0' },
    createdAt: '2026-11-25T00:01:00.000Z',
    resultCreatedAt: result.createdAt,
    timeEmbed: 'BASE',
    breakdowns: {},
    recipes: [],
    family: [],
    lineage: {
      models: [
        lineage(0, m0, []),
        lineage(1, m1, []),
        lineage(2, m2, [parent('A', 'base', { model: 0, file: m0, by: 'name' }), parent('B', null, null, 'ABCDEF0123'), parent('C', '<script>alert(5)</script>', null)]),
      ],
      declaredEdges: [{ parent: 0, child: 2, role: 'A' }],
      hashesUsed: false,
    },
    health: [
      health(0, m0, []),
      health(1, m1, [{ severity: 'info', message: 'EMA copy: 10 tensors, 1.0 MiB not needed for inference' }]),
      health(2, m2, [
        { severity: 'error', message: '1 tensor with NaN/Inf values (first: <img src=x onerror=alert(6)>)' },
        { severity: 'warning', message: 'missing for sd1: te' },
        { severity: 'warning', message: '2 unexpected keys (0.0 MiB; first: junk)' },
      ]),
    ],
    hashes: null,
    shared: null,
    notes: [],
  };
}
