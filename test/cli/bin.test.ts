import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

// The README's first command after `npm ci` is `npx advrob-dag run`: npx runs the bin through
// the shell, so a target without the executable bit fails with "Permission denied".
describe('the advrob-dag bin', () => {
  it('is built executable with a node shebang', () => {
    const target = path.join(root, pkg.bin['advrob-dag'] ?? '');
    expect(fs.statSync(target).mode & 0o111).toBe(0o111);
    expect(fs.readFileSync(target, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('runs through npx from the project root', () => {
    const result = spawnSync('npx', ['--no-install', 'advrob-dag', '--version'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stderr).not.toContain('Permission denied');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });
});

// The parser is pure (test/cli/args.test.ts); main decides the streams and the exit codes.
describe('the command line', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(root, pkg.bin['advrob-dag'] ?? ''), ...args], {
      cwd: os.tmpdir(),
      encoding: 'utf8',
    });

  it('prints help on stdout and exits 0 when asked', () => {
    for (const args of [['--help'], ['help', 'run'], ['run', '-h']]) {
      const result = cli(...args);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: advrob-dag /);
      expect(result.stderr).toBe('');
    }
  });

  it('exits 2 on a usage error, with the error and a hint on stderr', () => {
    const result = cli('run', '--jobs', '0');
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "error: option '-j, --jobs <n>' argument '0' is invalid: expected a whole number >= 1\n" +
        "(run 'advrob-dag run --help' for usage)\n",
    );
    expect(cli('stauts').stderr).toContain("(did you mean 'status'?)\n(run 'advrob-dag --help'");
  });

  it('prints the program help on stderr and exits 2 without a command', () => {
    const result = cli();
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: advrob-dag \[options\] \[command\]/);
  });
});
