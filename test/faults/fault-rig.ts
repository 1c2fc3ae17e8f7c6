/**
 * Workspaces for fault injection: the engine rig on a small tmpfs (a disk that fills up for
 * real), a filler that leaves an exact number of bytes free, a tiny command pipeline whose
 * stages write, read and log enough to hit every kind of write, and the checks every fault
 * ends with (no stack trace, lock released, `verify` clean, artifacts byte-identical to a
 * clean run's).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { type CliResult, Rig } from '../engine/rig.js';

/** Why tmpfs cannot be mounted here (not root, no mount permission), or undefined. */
export const cannotMount: string | undefined = (() => {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (CI runs as root)';
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-probe-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
  if (mounted.status === 0) spawnSync('umount', [probe]);
  fs.rmSync(probe, { recursive: true, force: true });
  return mounted.status === 0 ? undefined : `mount -t tmpfs failed: ${mounted.stderr}`;
})();

export const PIPELINE = `
version: 1
name: faults
params: { n: 20000, lines: 40000 }
stages:
  gen:
    kind: command
    cmd: seq 1 \${n} > numbers.txt
    outs: [numbers.txt]
  square:
    kind: command
    inputs: { x: gen }
    cmd: awk '{ print $1 * $1 }' "$IN_X/numbers.txt" > squares.txt
    outs: [squares.txt]
  sum:
    kind: command
    inputs: { x: square }
    cmd: awk '{ s += $1 } END { print s }' "$IN_X/squares.txt" > sum.txt
    outs: [sum.txt]
  talk:
    kind: command
    cmd: seq 1 \${lines} && echo said > said.txt
    outs: [said.txt]
`;

export class FaultRig extends Rig {
  private mounted = false;

  /** A workspace with `pipeline`, on a tmpfs of `sizeKiB` when given. */
  constructor(sizeKiB?: number, pipeline = PIPELINE) {
    super();
    if (sizeKiB !== undefined) {
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', this.dir]);
      if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`);
      this.mounted = true;
    }
    this.write('pipeline.yaml', pipeline);
  }

  /** Fills the filesystem until `leave` bytes are free (to a page), with `filler` outside cache/. */
  fill(leave: number): void {
    const file = this.path('filler');
    const fd = fs.openSync(file, 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    }
    // tmpfs can hand out a last partial page: fill it byte by byte
    try {
      for (;;) fs.writeSync(fd, chunk.subarray(0, 1));
    } catch {
      // full
    }
    fs.closeSync(fd);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, Math.max(0, size - leave));
  }

  unfill(): void {
    fs.rmSync(this.path('filler'), { force: true });
  }

  override cleanup(): void {
    if (this.mounted) spawnSync('umount', ['-l', this.dir]);
    super.cleanup();
  }
}

/**
 * The workspaces of one test file, removed after it, and the artifacts a clean run of
 * `pipeline` gives (taken before the file's tests), which every fault must end with.
 */
export function faultRigs(pipeline = PIPELINE): {
  rig: (sizeKiB?: number) => FaultRig;
  ranRig: () => Promise<FaultRig>;
  reference: () => Record<string, string>;
} {
  const rigs: FaultRig[] = [];
  let reference: Record<string, string> = {};
  const rig = (sizeKiB?: number): FaultRig => {
    const r = new FaultRig(sizeKiB, pipeline);
    rigs.push(r);
    return r;
  };
  const ranRig = async (): Promise<FaultRig> => {
    const r = rig();
    const result = await r.run(['run']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return r;
  };
  beforeAll(async () => {
    reference = artifactDigests(await ranRig());
  });
  afterAll(() => {
    for (const r of rigs.splice(0)) r.cleanup();
  });
  return { rig, ranRig, reference: () => reference };
}

/** artifacts/ as relative path -> sha256 of the bytes. */
export function artifactDigests(rig: Rig): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(rig.path(rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else
        out[child] = createHash('sha256')
          .update(fs.readFileSync(rig.path(child)))
          .digest('hex');
    }
  };
  walk('artifacts');
  return out;
}

/** What a user sees for a fault: a message, never a Node stack trace. */
export function expectNoStackTrace(result: CliResult): void {
  const text = result.stdout + result.stderr;
  expect(text, text).not.toMatch(/^\s+at .+[:(]\d+:\d+\)?$/m);
  expect(text, text).not.toMatch(/Uncaught|node:internal/);
}

/** The checks every fault ends with: no lock left, a clean verify, then a run that completes. */
export async function expectRecovers(rig: Rig, reference: Record<string, string>): Promise<void> {
  expect(rig.exists('cache/run.lock'), 'the run left its lock behind').toBe(false);
  const verify = await rig.run(['verify']);
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  const rerun = await rig.run(['run']);
  expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
  expect(artifactDigests(rig)).toEqual(reference);
  const after = await rig.run(['verify']);
  expect(after.code, after.stdout + after.stderr).toBe(0);
}
