import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { codeFingerprint, relativeImports, tokenize } from '../../src/dag/fingerprint.js';

const root = mkdtempSync(join(tmpdir(), 'advrob-fp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** Writes a kind module and its helper into a fresh directory; returns the kind's URL. */
function kindWith(kindSource: string, helperSource: string): string {
  const dir = join(root, `v${counter++}`);
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, 'kind.js'), kindSource);
  writeFileSync(join(dir, 'lib', 'helper.js'), helperSource);
  return pathToFileURL(join(dir, 'kind.js')).href;
}

const kind = `import { scale } from './lib/helper.js';
import { readFileSync } from 'node:fs';
export const kind = { run: (x) => scale(x, 2) };
`;
const helper = `export function scale(x, k) {
  const re = /a\\/b+/g;
  return \`\${x * k}/\${'}'}\` + String(re);
}
`;

describe('codeFingerprint', () => {
  test('ignores comments, whitespace and line breaks, in the module and its imports', () => {
    const reformatted = kindWith(
      `// the kind\nimport {scale} from "./lib/helper.js"\n;import { readFileSync } from 'node:fs';\n\n/* docs */ export const kind = {\n  run: (x) =>\n    scale( x , 2 ), // twice\n};`,
      `/** scales */\nexport function scale(x, k) {\n  // a regex, not a division\n  const re = /a\\/b+/g;\n  return \`\${x * k}/\${'}'}\`\n    + String(re);\n}\n`,
    );
    expect(codeFingerprint(reformatted)).toBe(codeFingerprint(kindWith(kind, helper)));
  });

  test('changes when the kind or an imported module changes', () => {
    const original = codeFingerprint(kindWith(kind, helper));
    expect(codeFingerprint(kindWith(kind.replace('2)', '3)'), helper))).not.toBe(original);
    expect(codeFingerprint(kindWith(kind, helper.replace('x * k', 'x + k')))).not.toBe(original);
    expect(codeFingerprint(kindWith(kind, helper.replace("'}'", "'} '")))).not.toBe(original);
  });

  test('does not depend on where the checkout lives', () => {
    expect(codeFingerprint(kindWith(kind, helper))).toBe(codeFingerprint(kindWith(kind, helper)));
  });

  test('reports an import that does not exist', () => {
    const url = kindWith(`import { x } from './missing.js';`, '');
    expect(() => codeFingerprint(url)).toThrow(/imports '.\/missing.js', which does not exist/);
  });
});

/** The fingerprint module as a new process sees it: no per-process memo. */
async function freshProcess(): Promise<typeof import('../../src/dag/fingerprint.js')> {
  vi.resetModules();
  return import('../../src/dag/fingerprint.js');
}

describe('the persistent code cache', () => {
  test('a later process trusts what an earlier one read while the file is unchanged', async () => {
    const url = kindWith(kind, helper);
    const cacheFile = join(root, `code-cache-${counter++}.json`);
    const first = await freshProcess();
    first.openCodeCache(cacheFile);
    const fingerprint = first.codeFingerprint(url);
    first.saveCodeCache();

    const again = await freshProcess();
    again.openCodeCache(cacheFile);
    expect(again.codeFingerprint(url)).toBe(fingerprint);

    // A stored entry whose stamp matches is used without reading the file: doctor one and
    // the fingerprint follows it, which proves the file was not tokenized again.
    const entries = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<
      string,
      { digest: string }
    >;
    const helperFile = Object.keys(entries).find((f) => f.endsWith('helper.js')) as string;
    (entries[helperFile] as { digest: string }).digest = 'doctored';
    writeFileSync(cacheFile, JSON.stringify(entries));
    const trusting = await freshProcess();
    trusting.openCodeCache(cacheFile);
    expect(trusting.codeFingerprint(url)).not.toBe(fingerprint);
  });

  test('an edited file is read again, whatever the cache says', async () => {
    const url = kindWith(kind, helper);
    const cacheFile = join(root, `code-cache-${counter++}.json`);
    const first = await freshProcess();
    first.openCodeCache(cacheFile);
    const before = first.codeFingerprint(url);
    first.saveCodeCache();
    const helperFile = join(dirname(fileURLToPath(url)), 'lib', 'helper.js');
    writeFileSync(helperFile, helper.replace('x * k', 'x + k'));

    const later = await freshProcess();
    later.openCodeCache(cacheFile);
    const after = later.codeFingerprint(url);
    const uncached = await freshProcess();
    expect(after).not.toBe(before);
    expect(after).toBe(uncached.codeFingerprint(url));
  });
});

describe('tokenize', () => {
  test('keeps strings, templates and regexes whole and drops comments', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: JS source under test
    expect(tokenize("a = b / c / d; r = /[/]x/gi; s = `t${ {k: '}'}.k }u` // end")).toEqual([
      'a',
      '=',
      'b',
      '/',
      'c',
      '/',
      'd',
      ';',
      'r',
      '=',
      '/[/]x/gi',
      ';',
      's',
      '=',
      '`t${',
      '{',
      'k',
      ':',
      '"}"',
      '}',
      '.',
      'k',
      '}u`',
    ]);
  });

  test('treats quote style and trailing commas as layout, but not elisions', () => {
    expect(tokenize(`f('a\\'b', [1, 2,], {x,})`)).toEqual(tokenize(`f("a'b", [1, 2], {x})`));
    expect(tokenize('[1,,]')).not.toEqual(tokenize('[1,]'));
  });

  test('skips a hashbang line and reads numbers, private names and spread', () => {
    expect(tokenize('#!/usr/bin/env node\nx = .5e-3 + 0x1F + 1_000n; this.#p = [...a];')).toEqual([
      'x',
      '=',
      '.5e-3',
      '+',
      '0x1F',
      '+',
      '1_000n',
      ';',
      'this',
      '.',
      '#p',
      '=',
      '[',
      '...',
      'a',
      ']',
      ';',
    ]);
  });

  test('finds relative static, re-export, side-effect and literal dynamic imports only', () => {
    const tokens = tokenize(
      `import a from './a.js'; export * from "../b.js"; import './c.js'; await import('./d.js'); import x from 'pkg'; Array.from('./no.js'); loader.import('./no.js');`,
    );
    expect(relativeImports(tokens)).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });
});
