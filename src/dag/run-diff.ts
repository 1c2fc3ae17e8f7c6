/**
 * Two recorded runs side by side, from provenance.db and the store only: the params that
 * differ, which stages reran and which stayed cached, and every number that changed in the
 * JSON and CSV files the stages wrote. Read-only. Objects that `gc` collected are reported
 * as missing, never an error: the rest of the comparison still stands.
 */

import type { JsonObject } from './pipeline-types.js';
import type { ExecutionRow, Provenance, RunRow } from './provenance.js';
import type { Store } from './store.js';
import {
  diffNumbers,
  isTabular,
  type ParamChange,
  paramChanges,
  type SeriesDiff,
} from './value-diff.js';

export interface RunInfo {
  id: string;
  startedAt: string;
  status: string;
  argv: string[];
  profile: string | null;
}

export interface FileDiff {
  stageId: string;
  file: string;
  series: SeriesDiff[];
}

export interface MissingObjects {
  stageId: string;
  /** Which run's outputs are gone. */
  run: string;
  files: string[];
}

export interface RunDiff {
  a: RunInfo;
  /** A recorded run, or what the workspace would run (`planned: true`, nothing to compare). */
  b: RunInfo & { planned?: boolean };
  /** null when a run predates recorded params (then only argv tells). */
  params: ParamChange[] | null;
  stages: {
    /** Stages run B executed (or would execute). */
    reran: string[];
    /** Stages run B took from the cache (or would). */
    cached: string[];
    failed: string[];
    onlyA: string[];
    onlyB: string[];
  };
  files: FileDiff[];
  missing: MissingObjects[];
}

export const runInfo = (run: RunRow): RunInfo => ({
  id: run.id,
  startedAt: new Date(run.started_at).toISOString(),
  status: run.status,
  argv: JSON.parse(run.argv) as string[],
  profile: run.profile,
});

export const runParams = (run: RunRow): JsonObject | null =>
  run.params === null ? null : (JSON.parse(run.params) as JsonObject);

/** A run's last execution of each stage (a retried stage has several). */
function lastExecutions(prov: Provenance, runId: string): Map<string, ExecutionRow> {
  const byStage = new Map<string, ExecutionRow>();
  for (const e of prov.executionsOfRun(runId)) byStage.set(e.stage_id, e);
  return byStage;
}

const byStatus = (executions: Map<string, ExecutionRow>, statuses: readonly string[]): string[] =>
  [...executions.values()].filter((e) => statuses.includes(e.status)).map((e) => e.stage_id);

function outputFiles(prov: Provenance, e: ExecutionRow): Map<string, string> {
  return new Map(
    prov
      .outputsOf(e.id)
      .filter((o) => o.label !== '' && isTabular(o.label))
      .map((o) => [o.label, o.digest]),
  );
}

/** The changed numbers of one stage whose output differs between the runs. */
function stageDiff(
  prov: Provenance,
  store: Store,
  runs: { a: RunRow; b: RunRow },
  ea: ExecutionRow,
  eb: ExecutionRow,
): { files: FileDiff[]; missing: MissingObjects[] } {
  const fa = outputFiles(prov, ea);
  const fb = outputFiles(prov, eb);
  const files: FileDiff[] = [];
  const gone = { a: [] as string[], b: [] as string[] };
  for (const file of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const da = fa.get(file);
    const db = fb.get(file);
    if (da === db || da === undefined || db === undefined) continue;
    const hasA = store.hasObject(da);
    const hasB = store.hasObject(db);
    if (!hasA) gone.a.push(file);
    if (!hasB) gone.b.push(file);
    if (!hasA || !hasB) continue;
    const series = diffNumbers(
      file,
      store.readObject(da).toString('utf8'),
      store.readObject(db).toString('utf8'),
    );
    if (series.length > 0) files.push({ stageId: ea.stage_id, file, series });
  }
  const missing = (['a', 'b'] as const)
    .filter((side) => gone[side].length > 0)
    .map((side) => ({ stageId: ea.stage_id, run: runs[side].id, files: gone[side] }));
  return { files, missing };
}

export function diffRuns(prov: Provenance, store: Store, a: RunRow, b: RunRow): RunDiff {
  const ea = lastExecutions(prov, a.id);
  const eb = lastExecutions(prov, b.id);
  const pa = runParams(a);
  const pb = runParams(b);
  const files: FileDiff[] = [];
  const missing: MissingObjects[] = [];
  for (const [stageId, execB] of eb) {
    const execA = ea.get(stageId);
    if (!execA || execA.output_tree === execB.output_tree) continue;
    if (execA.output_tree === null || execB.output_tree === null) continue;
    const d = stageDiff(prov, store, { a, b }, execA, execB);
    files.push(...d.files);
    missing.push(...d.missing);
  }
  return {
    a: runInfo(a),
    b: runInfo(b),
    params: pa && pb ? paramChanges(pa, pb) : null,
    stages: {
      reran: byStatus(eb, ['ran']),
      cached: byStatus(eb, ['cached', 'assumed-fresh']),
      failed: byStatus(eb, ['failed']),
      onlyA: [...ea.keys()].filter((id) => !eb.has(id)),
      onlyB: [...eb.keys()].filter((id) => !ea.has(id)),
    },
    files,
    missing,
  };
}

/**
 * Run A against what the workspace would run now (another profile or --set): the params
 * that would differ and the stages that would rerun. Nothing ran, so no values to compare.
 */
export function plannedDiff(
  prov: Provenance,
  a: RunRow,
  planned: {
    argv: string[];
    profile: string | null;
    params: JsonObject;
    stages: { id: string; willRun: boolean }[];
  },
): RunDiff {
  const ea = lastExecutions(prov, a.id);
  const ids = new Set(planned.stages.map((s) => s.id));
  const pa = runParams(a);
  return {
    a: runInfo(a),
    b: {
      id: '(planned)',
      startedAt: '',
      status: 'planned',
      argv: planned.argv,
      profile: planned.profile,
      planned: true,
    },
    params: pa ? paramChanges(pa, planned.params) : null,
    stages: {
      reran: planned.stages.filter((s) => s.willRun).map((s) => s.id),
      cached: planned.stages.filter((s) => !s.willRun).map((s) => s.id),
      failed: [],
      onlyA: [...ea.keys()].filter((id) => !ids.has(id)),
      onlyB: [...ids].filter((id) => !ea.has(id)),
    },
    files: [],
    missing: [],
  };
}

export interface RunOutput {
  stageId: string;
  /** The stage's params as recorded, JSON. */
  params: string;
  /** The file's text, or null when gc collected it. */
  text: string | null;
}

/** The file `file` of each stage of `kind` in a run (its last execution of each stage). */
export function runOutputs(
  prov: Provenance,
  store: Store,
  runId: string,
  kind: string,
  file: string,
): RunOutput[] {
  return [...lastExecutions(prov, runId).values()]
    .filter((e) => e.kind === kind && e.status !== 'failed')
    .map((e) => {
      const digest = prov.outputsOf(e.id).find((o) => o.label === file)?.digest;
      const text =
        digest && store.hasObject(digest) ? store.readObject(digest).toString('utf8') : null;
      return { stageId: e.stage_id, params: e.params, text };
    });
}
