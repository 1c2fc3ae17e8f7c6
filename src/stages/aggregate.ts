/**
 * Stage kind `aggregate`: for one dataset, collects every run's history, selection, ASR
 * curves, robustness metrics and perturbation sizes, and writes the mean +- std over folds
 * (aggregate.json, read by plot and report) and Tables 2-5 (tables.csv/.json/.md). Each
 * number keeps the stage id and sha256 of the file it came from. Never fills in a run that
 * is missing: a regime with no runs is an error.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json, JsonObject } from '../dag/pipeline-types.js';
import { defineStage } from '../dag/stage-kind.js';
import { aggregateRegime } from '../report/aggregate.js';
import { distanceTables, tablesCsv, tablesJson, tablesMarkdown } from '../report/tables.js';
import type { ExperimentAggregate, FoldResult, Source } from '../report/types.js';
import type { DistancesFile } from './attack.js';
import type { AsrFile } from './evaluate.js';
import { inputPaths, readJson, sha256File, writeJson } from './io.js';
import type { MetricsFile } from './metrics.js';
import type { SelectionFile } from './select.js';
import type { HistoryFile } from './train.js';

interface AggregateParams {
  [key: string]: Json;
  dataset: string;
  /** The regimes in the order the figures and tables show them: a list, or an object's keys. */
  regimes: Json;
  /** Parameters to print in the report (any JSON). */
  shown: Json;
}

interface Stamped {
  stage: string;
  regime: string;
  fold: number;
}

type Partial = Omit<FoldResult, 'sources'> & { sources: Source[] };

export const aggregate = defineStage<AggregateParams>({
  kind: 'aggregate',
  description:
    'Mean +- std over folds per regime (Figures 3-10 data) and Tables 2-5, with provenance.',
  paramsSchema: {
    type: 'object',
    required: ['dataset', 'regimes'],
    additionalProperties: false,
    properties: {
      dataset: { type: 'string', minLength: 1 },
      regimes: { type: ['array', 'object'] },
      shown: {},
    },
  },
  inputs: {
    histories: { description: 'history.json of every train stage', many: true },
    selections: { description: 'selected.json of every select stage', many: true },
    evaluations: { description: 'asr.json of every evaluate stage', many: true },
    metrics: { description: 'metrics.json of every metrics stage', many: true },
    distances: { description: 'distances.json of every attack stage', many: true },
  },
  outputs: ['aggregate.json', 'tables.csv', 'tables.json', 'tables.md'],
  resources: { cpu: 1 },
  module: import.meta.url,
  async run(ctx) {
    const p = ctx.params;
    const runs = new Map<string, Partial>();
    const runOf = (file: Stamped): Partial => {
      const id = `${file.regime}\u0000${file.fold}`;
      let run = runs.get(id);
      if (!run) {
        run = {
          fold: file.fold,
          history: { epochs: [], loss: [], val_loss: [], acc: [], val_acc: [] },
          selectedEpoch: Number.NaN,
          evaluation: { epochs: [], testAccuracy: [], asr: {} },
          metrics: { epochs: [], clever: [], lossSensitivity: [], empiricalRobustness: [] },
          distances: {},
          sources: [],
        };
        runs.set(id, run);
      }
      return run;
    };
    const read = <T extends Stamped>(
      input: string,
      holds: Source['holds'],
      use: (file: T, run: Partial) => void,
    ) => {
      for (const path of inputPaths(ctx, input)) {
        const file = readJson<T>(path);
        const run = runOf(file);
        use(file, run);
        run.sources.push({
          stageId: file.stage,
          file: path.split('/').pop() as string,
          digest: sha256File(path),
          holds,
        });
      }
    };
    read<HistoryFile>('histories', 'history', (h, run) => {
      run.history = {
        epochs: h.epochs,
        loss: h.loss,
        val_loss: h.val_loss,
        acc: h.acc,
        val_acc: h.val_acc,
      };
    });
    read<SelectionFile>('selections', 'selection', (s, run) => {
      run.selectedEpoch = s.epoch;
    });
    read<AsrFile>('evaluations', 'evaluation', (e, run) => {
      run.evaluation = { epochs: e.epochs, testAccuracy: e.testAccuracy, asr: e.asr };
    });
    read<MetricsFile>('metrics', 'metrics', (m, run) => {
      run.metrics = {
        epochs: m.epochs,
        clever: m.clever,
        lossSensitivity: m.lossSensitivity,
        empiricalRobustness: m.empiricalRobustness,
      };
    });
    read<DistancesFile & Stamped>('distances', 'distances', (d, run) => {
      run.distances[d.attack] = { l0: d.l0, l2: d.l2, linf: d.linf };
    });

    const regimeNames = Array.isArray(p.regimes)
      ? p.regimes.map(String)
      : Object.keys(p.regimes as JsonObject);
    const result: ExperimentAggregate = {
      dataset: p.dataset,
      params: (p.shown ?? {}) as JsonObject,
      regimes: regimeNames.map((regime) => {
        const folds = [...runs.entries()]
          .filter(([id]) => id.startsWith(`${regime}\u0000`))
          .map(([, run]) => run);
        if (folds.length === 0) throw new Error(`regime '${regime}': no runs among the inputs`);
        return aggregateRegime(regime, folds);
      }),
    };
    writeJson(join(ctx.outDir, 'aggregate.json'), result);
    const tables = distanceTables([result]);
    writeFileSync(join(ctx.outDir, 'tables.csv'), tablesCsv(tables));
    writeFileSync(join(ctx.outDir, 'tables.json'), tablesJson(tables));
    writeFileSync(join(ctx.outDir, 'tables.md'), tablesMarkdown(tables));
  },
});
