/**
 * Provenance in SQLite (better-sqlite3, WAL) at `cache/provenance.db`: runs, executions,
 * artifacts and lineage edges (execution -> input digests, execution -> output digests).
 * It records what happened; it is never consulted to decide whether a stage runs (the
 * store's records do that), so losing it loses history, never correctness.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import Database from 'better-sqlite3';

/** `retried`: an attempt that failed and was run again (see `attempt` and `cause`). */
export type ExecutionStatus = 'ran' | 'cached' | 'failed' | 'retried' | 'assumed-fresh';

export interface RunRow {
  id: string;
  argv: string;
  profile: string | null;
  tool_version: string;
  host: string;
  meta: string;
  started_at: number;
  ended_at: number | null;
  status: string;
  /** JSON of the pipeline's resolved params (profile and --set applied); null before they were kept. */
  params: string | null;
}

export interface ExecutionRow {
  id: number;
  run_id: string;
  stage_id: string;
  kind: string;
  key: string | null;
  status: ExecutionStatus;
  started_at: number;
  ended_at: number;
  duration_ms: number;
  log_path: string | null;
  params: string;
  output_tree: string | null;
  /** JSON of what the stage reported with ctx.annotate (e.g. its ML backend). */
  facts: string;
  /** 1 for the first attempt at the stage in this run, 2 for its first retry, ... */
  attempt: number;
  /** Why a failed or retried attempt failed (executor.ts FailureCause). */
  cause: string | null;
  /**
   * The execution whose lineage rows this one shares (a cached execution whose inputs and
   * outputs are exactly those of an earlier one of its key); null: its own rows.
   */
  lineage_of: number | null;
}

/** A failed attempt at a stage in a run: retried, or (`retried: false`) the stage's last. */
export interface FailedAttempt {
  stageId: string;
  attempt: number;
  retried: boolean;
  cause: string | null;
  logPath: string | null;
}

export interface LineageRow {
  execution_id: number;
  direction: 'in' | 'out';
  digest: string;
  /** Input name, dep path, or output path inside the stage's tree. */
  label: string;
  /** For an input from another stage: that stage's id and the key of its execution. */
  source_stage: string | null;
  source_key: string | null;
}

export interface ExecutionInput {
  runId: string;
  stageId: string;
  kind: string;
  key: string | null;
  status: ExecutionStatus;
  startedAt: number;
  endedAt: number;
  logPath: string | null;
  params: unknown;
  outputTree: string | null;
  facts: Record<string, string>;
  /** Defaults to 1. */
  attempt?: number;
  cause?: string;
  inputs: { label: string; digest: string; sourceStage: string | null; sourceKey: string | null }[];
  outputs: { path: string; digest: string; size: number }[];
}

/**
 * PRAGMA user_version of a file this version has brought up to date (0: any before; 2:
 * lineage_of and its partial index): an up-to-date file is opened without the schema.
 */
const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, argv TEXT NOT NULL, profile TEXT, tool_version TEXT NOT NULL,
  host TEXT NOT NULL, meta TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER,
  status TEXT NOT NULL, params TEXT);
CREATE TABLE IF NOT EXISTS executions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs(id),
  stage_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT, status TEXT NOT NULL,
  started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
  log_path TEXT, params TEXT NOT NULL, output_tree TEXT, facts TEXT NOT NULL DEFAULT '{}',
  attempt INTEGER NOT NULL DEFAULT 1, cause TEXT);
CREATE INDEX IF NOT EXISTS executions_run ON executions(run_id);
CREATE TABLE IF NOT EXISTS artifacts (
  digest TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, media_type TEXT NOT NULL,
  PRIMARY KEY (digest, path));
CREATE TABLE IF NOT EXISTS lineage (
  execution_id INTEGER NOT NULL REFERENCES executions(id), direction TEXT NOT NULL,
  digest TEXT NOT NULL, label TEXT NOT NULL, source_stage TEXT, source_key TEXT);
CREATE INDEX IF NOT EXISTS lineage_digest ON lineage(digest, direction);
CREATE INDEX IF NOT EXISTS lineage_execution ON lineage(execution_id);
`;

/** The execution holding the lineage rows of execution `?` (itself, or the one it shares). */
const OWN_LINEAGE = '(SELECT coalesce(lineage_of, ?) FROM executions WHERE id = ?)';

/** A lineage row as written: direction, digest, label, source stage, source key. */
type Edge = ['in' | 'out', string, string, string | null, string | null];

/** The lineage rows of an execution, in the order they are written. */
function lineageOf(e: ExecutionInput): Edge[] {
  const edges: Edge[] = e.inputs.map((input) => [
    'in',
    input.digest,
    input.label,
    input.sourceStage,
    input.sourceKey,
  ]);
  if (e.outputTree) edges.push(['out', e.outputTree, '', null, null]);
  for (const out of e.outputs) edges.push(['out', out.digest, out.path, null, null]);
  return edges;
}

const MEDIA_TYPES: Record<string, string> = {
  json: 'application/json',
  csv: 'text/csv',
  md: 'text/markdown',
  html: 'text/html',
  txt: 'text/plain',
  svg: 'image/svg+xml',
  png: 'image/png',
  npy: 'application/x-npy',
  bin: 'application/octet-stream',
};

export function mediaType(file: string): string {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  return MEDIA_TYPES[ext] ?? 'application/octet-stream';
}

/**
 * better-sqlite3's compiled addon where its build leaves it. Without this its default lookup
 * (the `bindings` package) tries path after path, a millisecond of every command's start.
 */
function addonPath(): string | undefined {
  const require = createRequire(import.meta.url);
  const file = path.join(
    path.dirname(require.resolve('better-sqlite3/package.json')),
    'build',
    'Release',
    'better_sqlite3.node',
  );
  return fs.existsSync(file) ? file : undefined;
}

export class Provenance {
  private readonly db: Database.Database;
  /** Prepared once per connection: `why` on a 10,000-stage lineage runs tens of thousands. */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /**
   * Opens (creating or upgrading) the database. Readers open it the same way: WAL lets them
   * read while a run writes, and an older file gains the columns they query.
   */
  constructor(file: string) {
    this.db = new Database(file, { nativeBinding: addonPath() });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    if (this.db.pragma('user_version', { simple: true }) !== SCHEMA_VERSION)
      this.db.transaction(() => this.upgrade()).immediate();
  }

  /** Creates the tables, or brings a file an older version wrote up to this one's. */
  private upgrade(): void {
    this.db.exec(SCHEMA);
    const columns = this.db.pragma('table_info(executions)') as { name: string }[];
    const added: [string, string][] = [
      ['facts', `TEXT NOT NULL DEFAULT '{}'`],
      ['attempt', 'INTEGER NOT NULL DEFAULT 1'],
      ['cause', 'TEXT'],
      ['lineage_of', 'INTEGER'],
    ];
    for (const [name, type] of added)
      if (!columns.some((c) => c.name === name))
        this.db.exec(`ALTER TABLE executions ADD COLUMN ${name} ${type}`);
    // Executions by key, those with lineage of their own only: what `why` follows and what
    // a cached execution looks for to share. A row that shares lineage (most of a no-op
    // run) then touches no index page at random; no query reads executions by stage alone.
    this.db.exec(
      'CREATE INDEX IF NOT EXISTS executions_own_lineage ON executions(key, stage_id) WHERE lineage_of IS NULL',
    );
    this.db.exec('DROP INDEX IF EXISTS executions_stage');
    this.db.exec('DROP INDEX IF EXISTS executions_key');
    const runColumns = this.db.pragma('table_info(runs)') as { name: string }[];
    if (!runColumns.some((c) => c.name === 'params'))
      this.db.exec('ALTER TABLE runs ADD COLUMN params TEXT');
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  startRun(run: Omit<RunRow, 'ended_at' | 'status'>): void {
    this.sql(
      `INSERT INTO runs (id, argv, profile, tool_version, host, meta, started_at, ended_at, status, params)
         VALUES (@id, @argv, @profile, @tool_version, @host, @meta, @started_at, NULL, 'running', @params)`,
    ).run(run);
  }

  finishRun(id: string, status: string, endedAt: number): void {
    this.sql('UPDATE runs SET status = ?, ended_at = ? WHERE id = ?').run(status, endedAt, id);
  }

  /**
   * Records many executions in one transaction (a cached run of thousands of stages). A
   * cached execution whose lineage is row for row that of the last execution of its stage
   * and key shares those rows (`lineage_of`) instead of writing them again: a no-op run
   * writes one row per stage.
   */
  recordExecutions(list: ExecutionInput[]): void {
    if (list.length === 0) return;
    const insertExecution = this.sql(
      `INSERT INTO executions (run_id, stage_id, kind, key, status, started_at, ended_at,
         duration_ms, log_path, params, output_tree, facts, attempt, cause, lineage_of)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertEdge = this.sql(
      `INSERT INTO lineage (execution_id, direction, digest, label, source_stage, source_key)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const insertArtifact = this.sql(
      'INSERT OR IGNORE INTO artifacts (digest, path, size, media_type) VALUES (?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const e of list) {
        const edges = lineageOf(e);
        const shared = e.status === 'cached' ? this.sameLineage(e, edges) : undefined;
        const info = insertExecution.run(
          e.runId,
          e.stageId,
          e.kind,
          e.key,
          e.status,
          e.startedAt,
          e.endedAt,
          e.endedAt - e.startedAt,
          e.logPath,
          JSON.stringify(e.params ?? {}),
          e.outputTree,
          JSON.stringify(e.facts),
          e.attempt ?? 1,
          e.cause ?? null,
          shared ?? null,
        );
        if (shared !== undefined) continue;
        const id = Number(info.lastInsertRowid);
        for (const edge of edges) insertEdge.run(id, ...edge);
        for (const out of e.outputs)
          insertArtifact.run(out.digest, `${e.stageId}/${out.path}`, out.size, mediaType(out.path));
      }
    })();
  }

  /** The last execution of `e`'s stage and key with its own lineage, if that is `edges`. */
  private sameLineage(e: ExecutionInput, edges: Edge[]): number | undefined {
    const last = this.sql(
      `SELECT id FROM executions WHERE key = ? AND stage_id = ? AND lineage_of IS NULL
         AND status IN ('ran', 'assumed-fresh', 'cached') ORDER BY id DESC LIMIT 1`,
    ).get(e.key, e.stageId) as { id: number } | undefined;
    if (!last) return undefined;
    const rows = this.sql(
      `SELECT direction, digest, label, source_stage, source_key FROM lineage
         WHERE execution_id = ? ORDER BY rowid`,
    )
      .raw()
      .all(last.id) as Edge[];
    const same =
      rows.length === edges.length &&
      rows.every((row, i) => row.every((value, j) => value === edges[i]?.[j]));
    return same ? last.id : undefined;
  }

  runs(limit: number): RunRow[] {
    return this.sql('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?').all(
      limit,
    ) as RunRow[];
  }

  /** How many executions of a run ended in each status, and which failed (for `log`). */
  runSummary(runId: string): {
    counts: Record<string, number>;
    failures: FailedAttempt[];
  } {
    const counts: Record<string, number> = {};
    const rows = this.sql(
      'SELECT status, count(*) AS n FROM executions WHERE run_id = ? GROUP BY status',
    ).all(runId) as { status: string; n: number }[];
    for (const row of rows) counts[row.status] = row.n;
    const failures = (
      this.sql(
        `SELECT stage_id, status, attempt, cause, log_path FROM executions
           WHERE run_id = ? AND status IN ('failed', 'retried') ORDER BY id`,
      ).all(runId) as Pick<ExecutionRow, 'stage_id' | 'status' | 'attempt' | 'cause' | 'log_path'>[]
    ).map((r) => ({
      stageId: r.stage_id,
      attempt: r.attempt,
      retried: r.status === 'retried',
      cause: r.cause,
      logPath: r.log_path,
    }));
    return { counts, failures };
  }

  /** Runs whose id starts with `prefix`, newest first, at most `limit`. */
  runsWithPrefix(prefix: string, limit: number): RunRow[] {
    return this.sql(
      'SELECT * FROM runs WHERE substr(id, 1, length(?)) = ? ORDER BY started_at DESC, rowid DESC LIMIT ?',
    ).all(prefix, prefix, limit) as RunRow[];
  }

  executionsOfRun(runId: string): ExecutionRow[] {
    return this.sql('SELECT * FROM executions WHERE run_id = ? ORDER BY id').all(
      runId,
    ) as ExecutionRow[];
  }

  /** The latest execution that produced `digest` (ran or accepted, not merely cached). */
  producerOf(digest: string): ExecutionRow | undefined {
    return this.sql(
      `SELECT e.* FROM lineage l JOIN executions e ON e.id = l.execution_id
         WHERE l.digest = ? AND l.direction = 'out' AND e.status IN ('ran', 'assumed-fresh', 'cached')
         ORDER BY CASE e.status WHEN 'cached' THEN 1 ELSE 0 END, e.id DESC LIMIT 1`,
    ).get(digest) as ExecutionRow | undefined;
  }

  /**
   * The latest execution that made the output under `key` (ran or accepted), else the latest
   * cached one with lineage of its own (those sharing rows are reuses of it).
   */
  executionOfKey(key: string): ExecutionRow | undefined {
    return this.sql(
      `SELECT * FROM executions WHERE key = ? AND lineage_of IS NULL
         AND status IN ('ran', 'assumed-fresh', 'cached')
         ORDER BY CASE status WHEN 'cached' THEN 1 ELSE 0 END, id DESC LIMIT 1`,
    ).get(key) as ExecutionRow | undefined;
  }

  /** Recorded digests starting with `prefix` (hex), at most `limit` of them. */
  digestsWithPrefix(prefix: string, limit: number): string[] {
    return (
      this.sql('SELECT DISTINCT digest FROM lineage WHERE digest GLOB ? LIMIT ?').all(
        `${prefix}*`,
        limit,
      ) as { digest: string }[]
    ).map((r) => r.digest);
  }

  inputsOf(executionId: number): LineageRow[] {
    return this.sql(
      `SELECT * FROM lineage WHERE execution_id = ${OWN_LINEAGE} AND direction = 'in' ORDER BY rowid`,
    ).all(executionId, executionId) as LineageRow[];
  }

  outputsOf(executionId: number): LineageRow[] {
    return this.sql(
      `SELECT * FROM lineage WHERE execution_id = ${OWN_LINEAGE} AND direction = 'out' ORDER BY rowid`,
    ).all(executionId, executionId) as LineageRow[];
  }

  close(): void {
    this.db.close();
  }
}
