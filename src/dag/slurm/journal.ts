/**
 * The Slurm executor's durable state under `cache/slurm/`, on the shared filesystem so that
 * a later runner (after SSH dropped or `kill -9`) finds what an earlier one submitted:
 *
 *   jobs/<token>/         one submission: job.json (what the job runs), job.sh, out/ (the
 *                         stage's output dir), progress.json, slurm.out
 *   submitted/<key>.json  the submission that is computing a cache key (job id, token)
 *   finished/<token>.json the job's result, written by the job as its last act
 *
 * Every file is written to a temp name in its directory and renamed, so a reader on any
 * node sees none or all of it. A token per submission keeps a resubmitted job from ever
 * sharing an output dir with a cancelled one that is still winding down.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FailureCause, StageJob } from '../executor.js';
import type { StageProgress } from '../stage-kind.js';
import { dirNames, finishedFileNames, idFileName, writeFileAtomic } from '../store.js';

export interface Submission {
  key: string;
  token: string;
  jobId: string;
  jobName: string;
  runId: string;
  stageId: string;
  /** ms since the epoch; the lower bound of a `sacct --starttime`. */
  submittedAt: number;
  logPath: string;
}

/** What the job reads: the stage job as the local executor would run it, and where to report. */
export interface JobSpec {
  job: StageJob;
  resultPath: string;
  progressPath: string;
}

/** What the job writes as its last act. */
export interface JobResult {
  ok: boolean;
  cause?: FailureCause;
  message?: string;
  exitCode: number | null;
  signal: string | null;
  logTail: string[];
  facts: Record<string, string>;
  node: string;
  startedAt: number;
  endedAt: number;
}

const readJson = <T>(file: string): T | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
};

export class Journal {
  readonly root: string;
  private readonly jobsDir: string;
  private readonly submittedDir: string;
  readonly finishedDir: string;

  constructor(cacheDir: string) {
    this.root = path.join(cacheDir, 'slurm');
    this.jobsDir = path.join(this.root, 'jobs');
    this.submittedDir = path.join(this.root, 'submitted');
    this.finishedDir = path.join(this.root, 'finished');
  }

  jobDir(token: string): string {
    return path.join(this.jobsDir, token);
  }

  outDir(token: string): string {
    return path.join(this.jobDir(token), 'out');
  }

  progressPath(token: string): string {
    return path.join(this.jobDir(token), 'progress.json');
  }

  slurmOutPath(token: string): string {
    return path.join(this.jobDir(token), 'slurm.out');
  }

  resultPath(token: string): string {
    return path.join(this.finishedDir, `${token}.json`);
  }

  /** A fresh submission directory with its empty output dir; returns its token. */
  newToken(stageId: string): string {
    const token = `${idFileName(stageId)
      .replace(/[^A-Za-z0-9_.,-]/g, '_')
      .slice(0, 60)}-${randomBytes(6).toString('hex')}`;
    fs.mkdirSync(this.outDir(token), { recursive: true });
    fs.mkdirSync(this.finishedDir, { recursive: true });
    return token;
  }

  writeSpec(token: string, spec: JobSpec): string {
    const file = path.join(this.jobDir(token), 'job.json');
    writeFileAtomic(file, `${JSON.stringify(spec, null, 2)}\n`);
    return file;
  }

  writeScript(token: string, text: string): string {
    const file = path.join(this.jobDir(token), 'job.sh');
    writeFileAtomic(file, text, { mode: 0o755 });
    return file;
  }

  record(submission: Submission): void {
    writeFileAtomic(
      path.join(this.submittedDir, `${submission.key}.json`),
      `${JSON.stringify(submission, null, 2)}\n`,
    );
  }

  submissionOf(key: string): Submission | undefined {
    return readJson<Submission>(path.join(this.submittedDir, `${key}.json`));
  }

  submissions(): Submission[] {
    return finishedFileNames(this.submittedDir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => readJson<Submission>(path.join(this.submittedDir, n)))
      .filter((s): s is Submission => s !== undefined);
  }

  /** Tokens whose job has written its result: one directory read for all jobs in flight. */
  finishedTokens(): Set<string> {
    return new Set(
      finishedFileNames(this.finishedDir)
        .filter((n) => n.endsWith('.json'))
        .map((n) => n.slice(0, -5)),
    );
  }

  result(token: string): JobResult | undefined {
    return readJson<JobResult>(this.resultPath(token));
  }

  progress(token: string): StageProgress | undefined {
    return readJson<StageProgress>(this.progressPath(token));
  }

  /** Drops a submission's files, and its record if that still names this submission. */
  forget(submission: Pick<Submission, 'key' | 'token'>): void {
    const recordPath = path.join(this.submittedDir, `${submission.key}.json`);
    if (readJson<Submission>(recordPath)?.token === submission.token)
      fs.rmSync(recordPath, { force: true });
    fs.rmSync(this.resultPath(submission.token), { force: true });
    fs.rmSync(this.jobDir(submission.token), { recursive: true, force: true });
  }

  /**
   * Removes submission dirs and results no record names (cancelled or taken attempts).
   * Only under the workspace lock, before anything is submitted.
   */
  sweep(): void {
    const live = new Set(this.submissions().map((s) => s.token));
    const remove = (dir: string, strip: (name: string) => string): void => {
      for (const name of dirNames(dir))
        if (!live.has(strip(name)))
          fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    };
    remove(this.jobsDir, (n) => n);
    remove(this.finishedDir, (n) => n.replace(/\.json$/, ''));
  }
}
