/**
 * The fingerprint tokenizer against an independent one: the TypeScript scanner (a
 * devDependency, so only here), over the project's own engine and stage sources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { expect, test } from 'vitest';
import { REGEX_AFTER_WORD, tokenize } from '../../src/dag/fingerprint.js';

const K = ts.SyntaxKind;
const DIVISION_AFTER = new Set([
  K.Identifier,
  K.NumericLiteral,
  K.StringLiteral,
  K.CloseParenToken,
  K.CloseBracketToken,
  K.CloseBraceToken,
  K.ThisKeyword,
  K.TemplateTail,
  K.NoSubstitutionTemplateLiteral,
]);

/** The same heuristic decisions (regex after what, which `}` resumes a template), made with ts's rescans. */
function scannerTokens(text: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const tokens: string[] = [];
  const braces: ('brace' | 'template')[] = [];
  let prev: ts.SyntaxKind | undefined;
  for (let kind = scanner.scan(); kind !== K.EndOfFileToken; kind = scanner.scan()) {
    const keyword = prev !== undefined && prev >= K.FirstKeyword && prev <= K.LastKeyword;
    const regexAllowed =
      prev === undefined ||
      (keyword ? REGEX_AFTER_WORD.has(ts.tokenToString(prev) ?? '') : !DIVISION_AFTER.has(prev));
    if ((kind === K.SlashToken || kind === K.SlashEqualsToken) && regexAllowed)
      kind = scanner.reScanSlashToken();
    if (kind === K.GreaterThanToken) kind = scanner.reScanGreaterToken();
    if (kind === K.TemplateHead || kind === K.OpenBraceToken)
      braces.push(kind === K.TemplateHead ? 'template' : 'brace');
    else if (kind === K.CloseBraceToken && braces.at(-1) === 'template') {
      kind = scanner.reScanTemplateToken(false);
      if (kind === K.TemplateTail) braces.pop();
    } else if (kind === K.CloseBraceToken) braces.pop();
    tokens.push(scanner.getTokenText());
    prev = kind;
  }
  return tokens;
}

/** What tokenize also normalises: trailing commas and quote style. */
function normalised(tokens: string[]): string[] {
  return tokens
    .filter(
      (t, i) =>
        !(t === ',' && [')', ']', '}'].includes(tokens[i + 1] ?? '') && tokens[i - 1] !== ','),
    )
    .map((t) =>
      /^['"]/.test(t)
        ? `"${t.slice(1, -1).replace(/\\(.)/gs, (pair, c: string) => (c === '"' || c === "'" ? c : pair))}"`
        : t,
    );
}

const sources = ['src/dag', 'src/stages'].flatMap((dir) =>
  readdirSync(new URL(`../../${dir}`, import.meta.url))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`),
);

test('there are sources to compare', () => {
  expect(sources.length).toBeGreaterThan(10);
});

test.each(sources)('%s tokenizes as the TypeScript scanner does', (file) => {
  const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
  expect(tokenize(text)).toEqual(normalised(scannerTokens(text)));
});
