/**
 * `advrob-dag log`: past runs from provenance.db, newest first, with what each did.
 * Read-only; no lock.
 */
import * as fs from 'node:fs';
import { type FailedAttempt, Provenance } from '../dag/provenance.js';
import { workspacePaths } from '../dag/run.js';
import { formatDuration } from '../ui/text.js';

const attemptLine = (f: FailedAttempt): string =>
  `    ${f.retried ? 'retried' : 'failed '} ${f.stageId}${f.attempt > 1 || f.retried ? ` attempt ${f.attempt}` : ''}${f.cause ? ` (${f.cause})` : ''}  log ${f.logPath ?? '-'}`;

export function runLog(root: string, opts: { limit: number; json: boolean }): string {
  const file = workspacePaths(root).provenance;
  if (!fs.existsSync(file)) return opts.json ? '[]\n' : 'no runs yet\n';
  const prov = new Provenance(file);
  try {
    const runs = prov.runs(opts.limit).map((run) => {
      const summary = prov.runSummary(run.id);
      const counts: Record<string, number> = {
        ran: 0,
        cached: 0,
        failed: 0,
        retried: 0,
        'assumed-fresh': 0,
        ...summary.counts,
      };
      return { run, counts, failures: summary.failures };
    });
    if (opts.json) {
      return `${JSON.stringify(
        runs.map(({ run, counts, failures }) => ({
          id: run.id,
          argv: JSON.parse(run.argv),
          profile: run.profile,
          toolVersion: run.tool_version,
          host: run.host,
          meta: JSON.parse(run.meta),
          startedAt: new Date(run.started_at).toISOString(),
          endedAt: run.ended_at === null ? null : new Date(run.ended_at).toISOString(),
          status: run.status,
          counts,
          failures,
        })),
        null,
        2,
      )}\n`;
    }
    if (runs.length === 0) return 'no runs yet\n';
    const lines: string[] = [];
    for (const { run, counts, failures } of runs) {
      const took =
        run.ended_at === null ? 'unfinished' : formatDuration(run.ended_at - run.started_at);
      lines.push(
        `${run.id}  ${new Date(run.started_at).toISOString()}  ${run.status.padEnd(11)} ${took.padStart(6)}  ran ${counts.ran} cached ${counts.cached} failed ${counts.failed}${counts.retried ? ` retried ${counts.retried}` : ''}${counts['assumed-fresh'] ? ` assumed-fresh ${counts['assumed-fresh']}` : ''}  advrob-dag ${(JSON.parse(run.argv) as string[]).join(' ')}`,
      );
      for (const f of failures) lines.push(attemptLine(f));
    }
    return `${lines.join('\n')}\n`;
  } finally {
    prov.close();
  }
}
