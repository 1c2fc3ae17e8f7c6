/**
 * `advrob-dag diff [RUN_A] [RUN_B]`: what a change did, from provenance.db and the store.
 * Default: the last two runs; one id: that run against the latest; with --set/--profile,
 * the latest run (or RUN_A) against what the workspace would run with them. Read-only.
 */
import * as fs from 'node:fs';
import { UserError } from '../dag/diagnostics.js';
import { expandNames, Planner, selectStages } from '../dag/plan.js';
import { Provenance, type RunRow } from '../dag/provenance.js';
import { workspacePaths } from '../dag/run.js';
import { diffRuns, plannedDiff, type RunDiff } from '../dag/run-diff.js';
import { StatCache } from '../dag/stat-cache.js';
import { Store } from '../dag/store.js';
import { renderDiffMarkdown, renderDiffText } from '../ui/diff.js';
import { EXIT } from './output.js';
import { type GlobalOptions, kindsOf, openPipeline, type PipelineOptions } from './workspace.js';

export interface DiffFlags extends PipelineOptions {
  json?: boolean;
  markdown?: boolean;
  maxValues: number;
}

const usage = (message: string): UserError => new UserError([{ severity: 'error', message }]);

export function findRun(prov: Provenance, prefix: string): RunRow {
  const matches = prov.runsWithPrefix(prefix, 2);
  const [run] = matches;
  if (matches.length > 1) throw usage(`run '${prefix}': more than one run id starts with it`);
  if (!run) throw usage(`run '${prefix}': no such run (\`advrob-dag log\` lists them)`);
  return run;
}

async function planned(
  prov: Provenance,
  root: string,
  a: RunRow,
  o: GlobalOptions & DiffFlags,
): Promise<RunDiff> {
  const pipeline = await openPipeline(o, o);
  const paths = workspacePaths(root);
  const planner = new Planner(
    pipeline,
    await kindsOf(pipeline),
    new Store(paths.cache),
    new StatCache(paths.statCache),
    root,
    {
      force: expandNames(pipeline, [], '--force'),
      assumeFresh: expandNames(pipeline, [], '--assume-fresh'),
    },
  );
  const { entries } = planner.plan(selectStages(pipeline, []));
  const argv = [
    'run',
    ...(o.profile ? ['--profile', o.profile] : []),
    ...(o.set ?? []).flatMap((s) => ['--set', s]),
  ];
  return plannedDiff(prov, a, {
    argv,
    profile: pipeline.profile,
    params: pipeline.params,
    stages: entries,
  });
}

export async function diffCommand(
  runIds: string[],
  o: GlobalOptions & DiffFlags,
  root: string,
): Promise<number> {
  const paths = workspacePaths(root);
  if (!fs.existsSync(paths.provenance)) throw usage('no runs recorded in this workspace yet');
  const prov = new Provenance(paths.provenance);
  try {
    const hypothetical = o.profile !== undefined || (o.set ?? []).length > 0;
    if (runIds.length > (hypothetical ? 1 : 2))
      throw usage(
        `diff takes at most ${hypothetical ? 'one run id with --set/--profile' : 'two run ids'}`,
      );
    const latest = prov.runs(2);
    let diff: RunDiff;
    if (hypothetical) {
      const a = runIds[0] !== undefined ? findRun(prov, runIds[0]) : latest[0];
      if (!a) throw usage('no runs recorded in this workspace yet');
      diff = await planned(prov, root, a, o);
    } else {
      const [newest, previous] = latest;
      const a = runIds[0] !== undefined ? findRun(prov, runIds[0]) : previous;
      const b = runIds[1] !== undefined ? findRun(prov, runIds[1]) : newest;
      if (!a || !b)
        throw usage(`diff needs two runs; this workspace has recorded ${latest.length}`);
      diff = diffRuns(prov, new Store(paths.cache), a, b);
    }
    const render = { maxValues: o.maxValues };
    process.stdout.write(
      o.json
        ? `${JSON.stringify(diff, null, 2)}\n`
        : o.markdown
          ? renderDiffMarkdown(diff, render)
          : renderDiffText(diff, render),
    );
    return EXIT.ok;
  } finally {
    prov.close();
  }
}
