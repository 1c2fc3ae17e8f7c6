/**
 * A command stage's `tools:`: shell commands whose output identifies something the stage
 * uses that the engine cannot see (`python3 --version`, `sha256sum model.py`). Each is run
 * once per run (per Probe), in the workspace, where advrob-dag runs; what it prints enters
 * the keys of the stages that declare it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

/** Longer outputs (`pip freeze`) are keyed by their digest, so records stay small. */
const MAX_KEPT = 200;
const TIMEOUT_MS = 60_000;

/** What a tool printed, as the key holds it: trimmed, or `sha256:<hex>` when long. */
export function toolOutput(printed: string): string {
  const text = printed.replace(/\r\n/g, '\n').trim();
  if (text.length <= MAX_KEPT) return text;
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export type ProbeResult = { ok: true; output: string } | { ok: false; message: string };

export class ToolProbe {
  private readonly results = new Map<string, ProbeResult>();

  constructor(private readonly workspace: string) {}

  /** Runs `command` with /bin/sh the first time it is asked for; stdout then stderr count. */
  probe(command: string): ProbeResult {
    let result = this.results.get(command);
    if (!result) {
      result = this.run(command);
      this.results.set(command, result);
    }
    return result;
  }

  private run(command: string): ProbeResult {
    const r = spawnSync('/bin/sh', ['-c', command], {
      cwd: this.workspace,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
      maxBuffer: 64 << 20,
    });
    if (r.error) return { ok: false, message: r.error.message };
    if (r.status !== 0) {
      const said = r.stderr.trim().split('\n').at(-1) ?? '';
      const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.status}`;
      return { ok: false, message: `${how}${said ? `: ${said}` : ''}` };
    }
    return { ok: true, output: toolOutput(r.stdout + r.stderr) };
  }
}
