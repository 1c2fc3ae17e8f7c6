/**
 * A temp workspace and the real CLI (`node dist/src/cli/main.js`), as wireit's test rig:
 * write files, run commands, read what they left. The vitest global setup builds dist/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Rig {
  readonly dir: string;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-dag-'));
  }

  path(rel: string): string {
    return path.join(this.dir, rel);
  }

  write(rel: string, text: string): void {
    fs.mkdirSync(path.dirname(this.path(rel)), { recursive: true });
    fs.writeFileSync(this.path(rel), text);
  }

  read(rel: string): string {
    return fs.readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.path(rel));
  }

  /** Starts the CLI without waiting (for kills and lock contention). */
  start(args: string[]): ChildProcess {
    return spawn(process.execPath, [cliPath, ...args], {
      cwd: this.dir,
      env: { ...process.env, NO_COLOR: '1', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  run(args: string[]): Promise<CliResult> {
    const child = this.start(args);
    return finished(child);
  }

  /** The NDJSON events of a `run --json`. */
  async events(args: string[]): Promise<{ result: CliResult; events: Record<string, unknown>[] }> {
    const result = await this.run(['run', '--json', ...args]);
    const events = result.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { result, events };
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Ids of the stages an event list says ran (or, with `type`, had that event). */
export function stageIds(events: Record<string, unknown>[], type = 'stage-finished'): string[] {
  return events
    .filter((e) => e.type === type)
    .map((e) => String(e.stageId))
    .sort();
}

/** A -> B, and A and B -> C, A reading a workspace file: the lineage `why` tests trace. */
export const LINEAGE_WORKSPACE: Record<string, string> = {
  'pipeline.yaml': `
version: 1
params: { n: 2 }
stages:
  A:
    kind: command
    cmd: head -n \${n} "$DEP_0" > a.txt
    deps: [notes.txt]
    outs: [a.txt]
  B:
    kind: command
    inputs: { a: "A:a.txt" }
    cmd: wc -l < "$IN_A" > b.txt
    outs: [b.txt]
  C:
    kind: command
    inputs: { a: "A:a.txt", b: "B:b.txt" }
    cmd: cat "$IN_A" "$IN_B" > c.txt
    outs: [c.txt]
`,
  'notes.txt': 'one\ntwo\nthree\n',
};

/** Whether a process exists (a zombie not yet reaped counts). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
