/**
 * `gc`, `verify` and `doctor`. gc and verify --recompute take the workspace lock (they must
 * not race a run); plain verify only reads. doctor is the ML package's, loaded only if present,
 * so the engine never depends on ML.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalExecutor } from '../dag/executor.js';
import { collectGarbage } from '../dag/gc.js';
import { acquireLock, formatLockHolder } from '../dag/lock.js';
import { recomputeStages } from '../dag/recompute.js';
import { Store } from '../dag/store.js';
import { type RepairReport, repairStore, verifyStore } from '../dag/verify.js';
import { EXIT, ExitError } from './output.js';
import {
  type GlobalOptions,
  kindsOf,
  openPipeline,
  type PipelineOptions,
  resolveWorkspace,
} from './workspace.js';

const formatBytes = (n: number): string =>
  n < 1024
    ? `${n} B`
    : n < 2 ** 20
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 2 ** 20).toFixed(1)} MiB`;

function withLock<T>(cacheDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = acquireLock(cacheDir, ['advrob-dag', ...process.argv.slice(2)]);
  if (!lock.ok) throw new ExitError(formatLockHolder(lock.holder), EXIT.locked);
  return fn().finally(() => lock.release());
}

export async function gcCommand(
  flags: { dryRun?: boolean; scratch?: boolean; json?: boolean },
  global: GlobalOptions,
): Promise<number> {
  const { paths } = resolveWorkspace(global);
  if (!fs.existsSync(paths.cache)) {
    process.stdout.write(
      flags.json
        ? '{"recordsRemoved":0,"objectsRemoved":0,"objectsKept":0,"scratchRemoved":0,"scratchKept":0,"scratchBytesKept":0,"bytesFreed":0}\n'
        : 'nothing to collect: no cache yet\n',
    );
    return EXIT.ok;
  }
  const report = await withLock(paths.cache, async () =>
    collectGarbage(new Store(paths.cache), {
      dryRun: flags.dryRun === true,
      scratch: flags.scratch === true,
    }),
  );
  if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const scratch =
      report.scratchRemoved > 0 ? ` and the scratch of ${report.scratchRemoved} stages` : '';
    const keptScratch =
      report.scratchKept > 0
        ? `; kept the resumable work of ${report.scratchKept} unfinished stages (${formatBytes(report.scratchBytesKept)}; --scratch deletes it)`
        : '';
    process.stdout.write(
      `${flags.dryRun ? 'would remove' : 'removed'} ${report.objectsRemoved} objects and ${report.recordsRemoved} stage records${scratch}, ${formatBytes(report.bytesFreed)} freed (${report.bytesFreed} bytes); kept ${report.objectsKept} objects${keptScratch}\n`,
    );
  }
  return EXIT.ok;
}

function repairLine(repaired: RepairReport): string {
  const rerun = repaired.stagesToRerun;
  const files =
    repaired.recordsRemoved + repaired.headsRemoved > 0
      ? `, ${repaired.recordsRemoved} damaged records and ${repaired.headsRemoved} damaged heads`
      : '';
  const users =
    rerun.length === 0
      ? '; no other stage record used them'
      : ` and the records of ${rerun.join(', ')}`;
  return `repaired: removed ${repaired.objectsRemoved} corrupt objects${files}${users}; \`advrob-dag run\` executes what they held again`;
}

export async function verifyCommand(
  targets: string[],
  flags: PipelineOptions & { recompute?: boolean; repair?: boolean; json?: boolean; jobs: number },
  global: GlobalOptions,
): Promise<number> {
  const { root, paths } = resolveWorkspace(global);
  const store = new Store(paths.cache);
  const report = verifyStore(store);
  const lines: string[] = [];
  for (const c of report.corrupt)
    lines.push(
      `corrupt object ${c.digest} (content hashes to ${c.actual}); used by ${c.usedBy.join(', ') || 'no record'}`,
    );
  for (const m of report.missing)
    lines.push(`missing object ${m.digest}; needed by ${m.usedBy.join(', ')}`);
  for (const d of report.damagedRecords)
    lines.push(`damaged stage record ${path.relative(root, d.file)}: ${d.problem}`);
  for (const id of report.damagedHeads) lines.push(`damaged head of stage ${id}`);
  let bad =
    report.corrupt.length +
    report.missing.length +
    report.damagedRecords.length +
    report.damagedHeads.length;
  let repaired: RepairReport | undefined;
  if (flags.repair && bad > 0) {
    repaired = await withLock(paths.cache, async () => repairStore(store, verifyStore(store)));
    lines.push(repairLine(repaired));
  }
  let recomputed: Awaited<ReturnType<typeof recomputeStages>> = [];
  if (flags.recompute) {
    const pipeline = await openPipeline(global, flags);
    const registry = await kindsOf(pipeline);
    recomputed = await withLock(paths.cache, () =>
      recomputeStages({
        workspace: root,
        pipeline,
        registry,
        targets,
        executor: new LocalExecutor(),
        jobs: flags.jobs,
        signal: new AbortController().signal,
      }),
    );
    for (const r of recomputed) {
      if (r.outcome === 'same') continue;
      if (r.outcome === 'not-up-to-date')
        lines.push(`${r.stageId}: not up to date, not recomputed`);
      else {
        bad += 1;
        lines.push(
          r.outcome === 'failed'
            ? `${r.stageId}: recompute failed: ${r.message}`
            : `${r.stageId}: recomputed output ${r.recomputed} differs from stored ${r.stored}`,
        );
      }
    }
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ ...report, recomputed, repaired, ok: bad === 0 }, null, 2)}\n`,
    );
  } else {
    const same = recomputed.filter((r) => r.outcome === 'same').length;
    lines.push(
      `${bad === 0 ? 'ok' : 'FAILED'}: ${report.objectsChecked} objects and ${report.recordsChecked} stage records checked${flags.recompute ? `, ${same} stages recomputed identically` : ''}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return bad === 0 ? EXIT.ok : EXIT.failed;
}

export async function doctorCommand(): Promise<number> {
  const url = new URL('../ml/doctor.js', import.meta.url);
  if (!fs.existsSync(url)) {
    process.stdout.write(`engine ok; no ML package installed (${url.pathname} absent)\n`);
    return EXIT.ok;
  }
  const mod = (await import(url.href)) as { doctor: () => Promise<string> };
  const text = await mod.doctor();
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT.ok;
}
