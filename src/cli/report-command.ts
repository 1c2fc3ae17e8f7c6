/**
 * `advrob-dag report --against RUN`: report.html of a recorded run (default the latest) with
 * RUN's curves drawn dashed in the same figures. Built outside the DAG from provenance and
 * the store (the aggregate stages' aggregate.json and the report stage's params), so it
 * compares any two runs without rerunning a stage; written to a file of the user's choice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../dag/diagnostics.js';
import { Provenance, type RunRow } from '../dag/provenance.js';
import { workspacePaths } from '../dag/run.js';
import { type RunOutput, runOutputs } from '../dag/run-diff.js';
import { Store } from '../dag/store.js';
import type { RenderedFigure } from '../report/html.js';
import type { ExperimentAggregate } from '../report/types.js';
import type { VerdictThresholds } from '../report/verdicts.js';
import { findRun } from './diff-command.js';
import { EXIT } from './output.js';

export interface ReportFlags {
  against: string;
  run?: string;
  output?: string;
}

const usage = (message: string): UserError => new UserError([{ severity: 'error', message }]);

function aggregatesOf(prov: Provenance, store: Store, run: RunRow): ExperimentAggregate[] {
  const outputs = runOutputs(prov, store, run.id, 'aggregate', 'aggregate.json');
  if (outputs.length === 0) throw usage(`run ${run.id} has no aggregate stage output`);
  const gone = outputs.filter((o) => o.text === null).map((o) => o.stageId);
  if (gone.length > 0)
    throw usage(`run ${run.id}: aggregate.json of ${gone.join(', ')} was collected by gc`);
  return outputs.map((o) => JSON.parse(o.text as string) as ExperimentAggregate);
}

function reportParams(outputs: RunOutput[], run: RunRow) {
  const [report] = outputs;
  if (!report)
    throw usage(`run ${run.id} has no report stage to take the title and thresholds from`);
  return JSON.parse(report.params) as { title: string; verdicts: VerdictThresholds };
}

export async function reportCommand(flags: ReportFlags, root: string): Promise<number> {
  const paths = workspacePaths(root);
  if (!fs.existsSync(paths.provenance)) throw usage('no runs recorded in this workspace yet');
  const prov = new Provenance(paths.provenance);
  const store = new Store(paths.cache);
  try {
    const latest = prov.runs(1)[0];
    const run = flags.run !== undefined ? findRun(prov, flags.run) : latest;
    if (!run) throw usage('no runs recorded in this workspace yet');
    const other = findRun(prov, flags.against);
    const mine = aggregatesOf(prov, store, run);
    const theirs = aggregatesOf(prov, store, other);
    const params = reportParams(runOutputs(prov, store, run.id, 'report', 'report.html'), run);
    const { figureDefs } = await import('../report/figures.js');
    const { renderSvg } = await import('../report/render.js');
    const { reportHtml } = await import('../report/html.js');
    const { distanceTables } = await import('../report/tables.js');
    const { verdictsOf } = await import('../report/verdicts.js');
    const label = `run ${other.id}`;
    const figures: RenderedFigure[] = [];
    for (const agg of mine) {
      const peer = theirs.find((t) => t.dataset === agg.dataset);
      const overlay = peer ? { label, aggregate: peer } : undefined;
      for (const def of figureDefs(agg, overlay))
        figures.push({ def, svg: await renderSvg(def.spec), files: [] });
    }
    figures.sort(
      (a, b) => a.def.paperFigure - b.def.paperFigure || a.def.id.localeCompare(b.def.id),
    );
    const html = reportHtml({
      title: `${params.title} — run ${run.id} against ${other.id}`,
      aggregates: mine,
      figures,
      tables: distanceTables(mine),
      params: mine[0]?.params ?? {},
      verdicts: mine.flatMap((agg) => verdictsOf(agg, params.verdicts)),
      against: other.id,
    });
    const out = path.resolve(root, flags.output ?? `report-${run.id}-against-${other.id}.html`);
    fs.writeFileSync(out, html);
    process.stdout.write(`${out}\n`);
    return EXIT.ok;
  } finally {
    prov.close();
  }
}
