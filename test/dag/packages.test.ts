import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { packageImports, tokenize } from '../../src/dag/fingerprint.js';
import { PackageReader } from '../../src/dag/packages.js';

const root = mkdtempSync(join(tmpdir(), 'advrob-pkgs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

function pkg(dir: string, json: Record<string, unknown>): void {
  write(`${dir}/package.json`, JSON.stringify(json));
}

// An npm-like install: hoisted packages, one nested copy, a scoped package, a pnpm-like
// symlinked one, the ML-backend-like package the kind leaves out, and npm's hidden lockfile.
write(
  'app/kind.js',
  `import alpha from 'alpha';
import '@s/beta/sub.js';
import { readFileSync } from 'node:fs';
export const kind = { run: () => import('./lib/helper.js') };
`,
);
write(
  'app/lib/helper.js',
  `import path from 'path';
export * from 'gamma';
export const load = () => import('backend');
export const linked = () => import('linked');
`,
);
pkg('node_modules/alpha', {
  name: 'alpha',
  version: '1.0.0',
  dependencies: { delta: '^2' },
  optionalDependencies: { 'not-installed': '1' },
  peerDependencies: { gamma: '*' },
});
pkg('node_modules/alpha/node_modules/delta', { name: 'delta', version: '2.0.0' });
pkg('node_modules/delta', { name: 'delta', version: '1.0.0' });
pkg('node_modules/gamma', { name: 'gamma', version: '0.1.0', dependencies: { delta: '^1' } });
pkg('node_modules/@s/beta', { name: '@s/beta', version: '3.0.0' });
pkg('node_modules/backend', { name: 'backend', version: '9.0.0', dependencies: { only: '1' } });
pkg('node_modules/only', { name: 'only', version: '1.0.0' });
pkg('store/linked@1/node_modules/linked', {
  name: 'linked',
  version: '1.0.0',
  dependencies: { inner: '1' },
});
pkg('store/linked@1/node_modules/inner', { name: 'inner', version: '1.1.0' });
symlinkSync(join(root, 'store/linked@1/node_modules/linked'), join(root, 'node_modules/linked'));
write(
  'node_modules/.package-lock.json',
  JSON.stringify({
    lockfileVersion: 3,
    packages: {
      'node_modules/alpha': { version: '1.0.0', integrity: 'sha512-A' },
      'node_modules/alpha/node_modules/delta': { version: '2.0.0', integrity: 'sha512-D2' },
      // installed over by hand since: its integrity no longer describes what is there
      'node_modules/gamma': { version: '0.0.9', integrity: 'sha512-OLD' },
    },
  }),
);

const kindUrl = pathToFileURL(join(root, 'app/kind.js')).href;

describe('packageImports', () => {
  test('package names of bare specifiers; builtins, relative paths, URLs and #imports are not', () => {
    const source = `import a from 'alpha/deep/x.js'; import b from '@s/beta/sub';
      import fs from 'fs'; import p from 'node:path'; import q from 'fs/promises';
      import './local.js'; import d from '#internal'; import e from 'data:text/javascript,1';
      export { c } from 'gamma'; const m = await import('delta'); import type { T } from 'tee';`;
    expect(packageImports(tokenize(source)).sort()).toEqual([
      '@s/beta',
      'alpha',
      'delta',
      'gamma',
      'tee',
    ]);
  });
});

describe('PackageReader', () => {
  test('every package the module graph imports, transitively, as Node would find it', () => {
    expect(new PackageReader().versionsOf(kindUrl, ['backend'])).toEqual({
      '@s/beta': ['3.0.0'],
      alpha: ['1.0.0 sha512-A'],
      delta: ['1.0.0', '2.0.0 sha512-D2'],
      gamma: ['0.1.0'],
      inner: ['1.1.0'],
      linked: ['1.0.0'],
    });
  });

  test('an unkeyed package is left out with what only it brings in', () => {
    const all = new PackageReader().versionsOf(kindUrl);
    expect(all.backend).toEqual(['9.0.0']);
    expect(all.only).toEqual(['1.0.0']);
  });

  test('a version bump in node_modules shows in the next reader, not in one that read it', () => {
    const reader = new PackageReader();
    expect(reader.versionsOf(kindUrl).gamma).toEqual(['0.1.0']);
    pkg('node_modules/gamma', { name: 'gamma', version: '0.2.0', dependencies: { delta: '^1' } });
    try {
      expect(reader.versionsOf(kindUrl).gamma).toEqual(['0.1.0']);
      expect(new PackageReader().versionsOf(kindUrl).gamma).toEqual(['0.2.0']);
    } finally {
      pkg('node_modules/gamma', { name: 'gamma', version: '0.1.0', dependencies: { delta: '^1' } });
    }
  });

  test('what was read persists: the next process parses no unchanged package.json', () => {
    const cacheFile = join(root, 'cache', 'package-cache.json');
    mkdirSync(dirname(cacheFile), { recursive: true });
    const first = new PackageReader(cacheFile);
    const expected = first.versionsOf(kindUrl, ['backend']);
    expect(first.parsed).toBe(7);
    first.save();

    const second = new PackageReader(cacheFile);
    expect(second.versionsOf(kindUrl, ['backend'])).toEqual(expected);
    expect(second.parsed).toBe(0);

    pkg('node_modules/gamma', { name: 'gamma', version: '0.10.0', dependencies: { delta: '^1' } });
    try {
      const third = new PackageReader(cacheFile);
      expect(third.versionsOf(kindUrl, ['backend']).gamma).toEqual(['0.10.0']);
      expect(third.parsed).toBe(1);
    } finally {
      pkg('node_modules/gamma', { name: 'gamma', version: '0.1.0', dependencies: { delta: '^1' } });
    }
  });
});
