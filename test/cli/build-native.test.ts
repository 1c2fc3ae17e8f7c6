/**
 * scripts/build-native.mjs, as `npm ci` runs it (through scripts/build.mjs), on a copy of
 * the project's native sources: it must never fail the install, must say why it built
 * nothing, must not leave a stale addon behind, and must not rebuild what is up to date.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-native-'));
fs.mkdirSync(path.join(copy, 'scripts'));
fs.copyFileSync(
  path.join(root, 'scripts', 'build-native.mjs'),
  path.join(copy, 'scripts', 'build-native.mjs'),
);
fs.mkdirSync(path.join(copy, 'native'));
for (const f of ['kernels.cc', 'addon.cc', 'gemm.h']) {
  fs.copyFileSync(path.join(root, 'native', f), path.join(copy, 'native', f));
}
const addon = path.join(copy, 'native', 'build', 'advrob_kernels.node');

afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

function build(env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(copy, 'scripts', 'build-native.mjs')], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

const canBuild =
  process.arch === 'x64' && spawnSync(process.env.CXX ?? 'g++', ['--version']).status === 0;

describe.runIf(canBuild)('the native build', () => {
  it('builds a loadable addon, and leaves an up-to-date one alone', () => {
    const first = build();
    expect(first.status, first.stderr).toBe(0);
    const built = fs.statSync(addon).mtimeMs;
    const loaded = spawnSync(
      process.execPath,
      ['-e', `console.log(require(${JSON.stringify(addon)}).supported)`],
      {
        encoding: 'utf8',
      },
    );
    expect(loaded.stdout.trim()).toMatch(/^(true|false)$/);
    expect(build().status).toBe(0);
    expect(fs.statSync(addon).mtimeMs).toBe(built);
  });

  it('without a compiler: exits 0, says why, and removes the stale addon', () => {
    fs.utimesSync(path.join(copy, 'native', 'kernels.cc'), new Date(), new Date(Date.now() + 5000));
    const result = build({ CXX: path.join(copy, 'no-such-compiler') });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('native kernels not built');
    expect(result.stderr).toContain('no-such-compiler');
    expect(fs.existsSync(addon)).toBe(false);
  });
});
