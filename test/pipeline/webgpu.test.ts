/**
 * The paper's pipeline on the `tiny` profile, once on wasm and once on webgpu (in CI: Mesa's
 * lavapipe, a software Vulkan, so slow): every artifact the stages write must agree. The
 * backend is not in the cache key, so results computed on a GPU stand in for results
 * computed on a CPU; this is what makes that sound.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNpy } from '../../src/ml/data/npy.js';
import { webgpuUnavailable } from '../webgpu-env.js';
import { cli, failedLogs, makeTinyWorkspace } from './tiny-workspace.js';

const BACKENDS = ['wasm', 'webgpu'] as const;
const workspaces: Partial<Record<(typeof BACKENDS)[number], string>> = {};

/** Every file under dir (stage folders may be links into the store). */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/**
 * Numbers within rel * max(1, |want|); everything else equal, except the digests of input
 * files (bytes that differ in the last bits hash differently). Returns the paths that differ.
 */
function differences(got: unknown, want: unknown, rel: number, at = ''): string[] {
  if (at.endsWith('.digest')) return [];
  if (typeof want === 'number' && typeof got === 'number') {
    const ok = Object.is(got, want) || Math.abs(got - want) <= rel * Math.max(1, Math.abs(want));
    return ok ? [] : [`${at}: ${got} vs ${want}`];
  }
  if (typeof want === 'object' && want !== null && typeof got === 'object' && got !== null) {
    const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
    return [...keys].flatMap((k) =>
      differences(
        (got as Record<string, unknown>)[k],
        (want as Record<string, unknown>)[k],
        rel,
        `${at}.${k}`,
      ),
    );
  }
  return got === want ? [] : [`${at}: ${String(got)} vs ${String(want)}`];
}

/** CSV cells as numbers where they are numbers. */
function csvCells(text: string): unknown[][] {
  return text
    .trim()
    .split('\n')
    .map((row) =>
      row.split(',').map((v) => (v !== '' && Number.isFinite(Number(v)) ? Number(v) : v)),
    );
}

/** Share of values within 1e-4: FGSM/PGD step along sign(gradient), which may flip for a coordinate near 0. */
function closeShare(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  let close = 0;
  for (let i = 0; i < a.length; i++)
    if (Math.abs((a[i] as number) - (b[i] as number)) <= 1e-4) close++;
  return a.length === 0 ? 1 : close / a.length;
}

describe.skipIf(webgpuUnavailable !== undefined)('the tiny profile on webgpu and on wasm', () => {
  beforeAll(() => {
    for (const backend of BACKENDS) {
      const ws = makeTinyWorkspace();
      workspaces[backend] = ws;
      const r = cli(ws, ['run', '--profile', 'tiny', '--json'], backend, 600_000);
      if (r.status !== 0) {
        throw new Error(
          `${backend} run failed (${r.status}):\n${r.stderr}\n${failedLogs(ws, r.stdout)}`,
        );
      }
    }
  }, 900_000);

  afterAll(() => {
    for (const ws of Object.values(workspaces)) rmSync(ws, { recursive: true, force: true });
  });

  it('writes the same artifacts within float32 tolerance', () => {
    const root = (b: (typeof BACKENDS)[number]) => join(workspaces[b] as string, 'artifacts');
    const paths = files(root('wasm')).map((p) => relative(root('wasm'), p));
    expect(
      files(root('webgpu'))
        .map((p) => relative(root('webgpu'), p))
        .sort(),
    ).toEqual([...paths].sort());
    const compared = { npy: 0, bin: 0, json: 0, csv: 0 };
    for (const path of paths) {
      const [a, b] = [join(root('webgpu'), path), join(root('wasm'), path)];
      if (path.endsWith('.npy')) {
        const [x, y] = [loadNpy(a), loadNpy(b)];
        expect(x.shape, path).toEqual(y.shape);
        if (x.dtype === 'int32') expect(Array.from(x.data), path).toEqual(Array.from(y.data));
        else expect(closeShare(x.data, y.data), path).toBeGreaterThanOrEqual(0.99);
        compared.npy++;
      } else if (path.endsWith('.bin')) {
        const [x, y] = [readFileSync(a), readFileSync(b)];
        const f32 = (buf: Buffer) =>
          new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        expect(closeShare(f32(x), f32(y)), path).toBe(1);
        compared.bin++;
      } else if (path.endsWith('.json')) {
        const parse = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as unknown;
        expect(differences(parse(a), parse(b), 1e-4), path).toEqual([]);
        compared.json++;
      } else if (path.endsWith('.csv')) {
        const cells = (p: string) => csvCells(readFileSync(p, 'utf8'));
        expect(differences(cells(a), cells(b), 1e-4), path).toEqual([]);
        compared.csv++;
      }
    }
    // Model weights, adversarial sets, histories, tables, figures' data, CSVs: all compared.
    expect(Object.values(compared).every((n) => n > 0)).toBe(true);
  });
});
