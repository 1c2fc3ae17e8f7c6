/**
 * The code fingerprint of a stage kind: sha256 over its module and every module it imports
 * by a relative path, each reduced to its token stream (comments and whitespace dropped),
 * so reformatting or commenting code reruns nothing while any real edit does. Reads files
 * (the only part of the key computation that does) and caches per process. Never follows
 * bare imports (packages): their versions are the lockfile's business.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUNCTUATORS = [
  '>>>=',
  '...',
  '===',
  '!==',
  '**=',
  '<<=',
  '>>=',
  '>>>',
  '&&=',
  '||=',
  '??=',
  '=>',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '??',
  '?.',
  '++',
  '--',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '**',
  '<<',
  '>>',
];

/** After these words a `/` starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

const NUMBER =
  /(?:0[xXoObB][0-9a-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?)/y;
const WORD = /[A-Za-z_$#\\\u0080-\uffff][\w$\\\u0080-\uffff]*/y;
const SPACE = /[\s\uFEFF]+/y;

type Kind = 'word' | 'number' | 'string' | 'template' | 'regex' | 'punct';
interface Token {
  kind: Kind;
  text: string;
}

/** A small JS/TS tokenizer: enough to drop comments and layout without changing meaning. */
class Tokenizer {
  private i = 0;
  readonly tokens: Token[] = [];
  /** Open `{` and template `${`: a `}` closes whichever is innermost. */
  private readonly braces: ('brace' | 'template')[] = [];

  constructor(private readonly src: string) {}

  run(): Token[] {
    if (this.src.startsWith('#!')) this.i = this.lineEnd(0);
    while (this.i < this.src.length) this.next();
    return this.tokens;
  }

  private lineEnd(from: number): number {
    const n = this.src.indexOf('\n', from);
    return n < 0 ? this.src.length : n;
  }

  private sticky(re: RegExp): string | undefined {
    re.lastIndex = this.i;
    const m = re.exec(this.src);
    return m?.[0] || undefined;
  }

  private push(kind: Kind, end: number): void {
    this.tokens.push({ kind, text: this.src.slice(this.i, end) });
    this.i = end;
  }

  private next(): void {
    const src = this.src;
    const c = src[this.i] as string;
    const space = this.sticky(SPACE);
    if (space) {
      this.i += space.length;
    } else if (src.startsWith('//', this.i)) {
      this.i = this.lineEnd(this.i);
    } else if (src.startsWith('/*', this.i)) {
      const end = src.indexOf('*/', this.i + 2);
      this.i = end < 0 ? src.length : end + 2;
    } else if (c === '"' || c === "'") {
      this.push('string', this.quoted(c));
    } else if (c === '`') {
      this.template(this.i + 1);
    } else if (c === '}' && this.braces.at(-1) === 'template') {
      this.braces.pop();
      this.template(this.i + 1);
    } else if (c === '/' && this.regexAllowed()) {
      this.push('regex', this.regexEnd() ?? this.i + 1);
    } else {
      this.other(c);
    }
  }

  private other(c: string): void {
    const number = this.sticky(NUMBER);
    if (number && /[\d.]/.test(c)) {
      this.push('number', this.i + number.length);
      return;
    }
    const word = this.sticky(WORD);
    if (word) {
      this.push('word', this.i + word.length);
      return;
    }
    if (c === '{') this.braces.push('brace');
    if (c === '}') this.braces.pop();
    const op = PUNCTUATORS.find((p) => this.src.startsWith(p, this.i)) ?? c;
    this.push('punct', this.i + op.length);
  }

  private quoted(quote: string): number {
    let j = this.i + 1;
    while (j < this.src.length && this.src[j] !== quote && this.src[j] !== '\n') {
      j += this.src[j] === '\\' ? 2 : 1;
    }
    return Math.min(j + 1, this.src.length);
  }

  /** Scans a template chunk from `from` up to its closing backtick or the next `${`. */
  private template(from: number): void {
    let j = from;
    while (j < this.src.length) {
      const c = this.src[j];
      if (c === '\\') j += 2;
      else if (c === '`') {
        this.push('template', j + 1);
        return;
      } else if (c === '$' && this.src[j + 1] === '{') {
        this.braces.push('template');
        this.push('template', j + 2);
        return;
      } else j++;
    }
    this.push('template', this.src.length);
  }

  private regexAllowed(): boolean {
    const prev = this.tokens.at(-1);
    if (!prev) return true;
    if (prev.kind === 'word') return REGEX_AFTER_WORD.has(prev.text);
    if (prev.kind === 'punct') return ![')', ']', '}'].includes(prev.text);
    return prev.kind === 'template' && prev.text.endsWith('${');
  }

  /** End of a regex literal starting here, or undefined if the line ends first. */
  private regexEnd(): number | undefined {
    let j = this.i + 1;
    let inClass = false;
    while (j < this.src.length) {
      const c = this.src[j];
      if (c === '\n') return undefined;
      if (c === '\\') j++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) {
        j++;
        while (j < this.src.length && /[a-z]/i.test(this.src[j] as string)) j++;
        return j;
      }
      j++;
    }
    return undefined;
  }
}

/** 'x' and "x" are the same string: quote style is layout. */
function normalString(text: string): string {
  const inner = text
    .slice(1, -1)
    .replace(/\\(.)/gs, (pair, c: string) => (c === '"' || c === "'" ? c : pair));
  return `"${inner}"`;
}

/** A comma right before a closing bracket is a formatter's choice, unless it ends an elision. */
const isTrailingComma = (tokens: Token[], i: number): boolean =>
  tokens[i]?.text === ',' &&
  [')', ']', '}'].includes(tokens[i + 1]?.text ?? '') &&
  tokens[i - 1]?.text !== ',';

/**
 * The token texts of a JS/TS source: what is left when comments, layout, quote style and
 * trailing commas are dropped.
 */
export function tokenize(source: string): string[] {
  const tokens = new Tokenizer(source).run();
  return tokens
    .filter((_, i) => !isTrailingComma(tokens, i))
    .map((t) => (t.kind === 'string' ? normalString(t.text) : t.text));
}

const unquote = (text: string): string => text.slice(1, -1);

/** Relative specifiers of static imports, re-exports, side-effect and literal dynamic imports. */
export function relativeImports(tokens: readonly string[]): string[] {
  const specs: string[] = [];
  const isString = (t: string | undefined): t is string => t?.startsWith('"') ?? false;
  tokens.forEach((t, i) => {
    const next = tokens[i + 1];
    const afterParen = tokens[i + 2];
    if ((t === 'from' || t === 'import') && isString(next)) specs.push(unquote(next));
    else if (t === 'import' && next === '(' && isString(afterParen) && tokens[i + 3] === ')') {
      specs.push(unquote(afterParen));
    }
  });
  return specs.filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/** `./x.js` may be `./x.ts` when running from source (tests); built code has the `.js`. */
function resolveLocal(fromFile: string, spec: string): string {
  const target = resolve(dirname(fromFile), spec);
  if (existsSync(target)) return target;
  for (const ext of ['.ts', '.tsx']) {
    const alt = target.replace(/\.(js|jsx|mjs)$/, ext);
    if (alt !== target && existsSync(alt)) return alt;
  }
  throw new Error(`code fingerprint: ${fromFile} imports '${spec}', which does not exist`);
}

const tokenCache = new Map<string, string[]>();

function tokensOf(file: string): string[] {
  let tokens = tokenCache.get(file);
  if (!tokens) {
    tokens = tokenize(readFileSync(file, 'utf8'));
    tokenCache.set(file, tokens);
  }
  return tokens;
}

/** The module and everything it reaches through relative imports. */
function localClosure(entry: string): string[] {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const spec of relativeImports(tokensOf(file))) {
      const target = resolveLocal(file, spec);
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return [...seen];
}

const fingerprints = new Map<string, string>();

/**
 * sha256 hex over (path relative to the kind's module directory, tokens) of each module in
 * the closure, sorted by that path: absolute paths never enter, so moving the checkout
 * keeps the cache. `moduleUrl` must be a file: URL (a kind's `import.meta.url`).
 */
export function codeFingerprint(moduleUrl: string): string {
  const cached = fingerprints.get(moduleUrl);
  if (cached) return cached;
  if (!moduleUrl.startsWith('file:')) {
    throw new Error(
      `code fingerprint: '${moduleUrl}' is not a file: URL; expected import.meta.url of the kind's module`,
    );
  }
  const entry = fileURLToPath(moduleUrl);
  const root = dirname(entry);
  const files = localClosure(entry)
    .map((file) => ({ file, name: relative(root, file).split(sep).join('/') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const { file, name } of files) {
    hash.update(`${name.length}:${name}`);
    for (const token of tokensOf(file)) hash.update(`${token.length}:${token}`);
  }
  const fingerprint = hash.digest('hex');
  fingerprints.set(moduleUrl, fingerprint);
  return fingerprint;
}
