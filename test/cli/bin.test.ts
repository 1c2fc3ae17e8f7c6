import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
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
