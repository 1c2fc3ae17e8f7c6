/**
 * The code fingerprint of a stage kind: sha256 over its module and every module it imports
 * by a relative path, each reduced to its token stream (comments and whitespace dropped),
 * so reformatting or commenting code reruns nothing while any real edit does. Reads files
 * (the only part of the key computation that does) and caches per process; what it read of
 * a file persists (`openCodeCache`) while the file's size, mtime and inode are unchanged, so
 * a no-op run tokenizes nothing. Bare imports (packages) are not fingerprinted but listed:
 * packages.ts keys them by installed version.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from './store.js';

/** After these words a `/` starts a regular expression, not a division. */
export const REGEX_AFTER_WORD: ReadonlySet<string> = new Set([
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

/**
 * The next token where no context is needed, longest alternative first where they overlap.
 * One native regex per token keeps a cold process fast (kinds are fingerprinted at startup).
 * Templates, regex literals and `}` are decided by the tokenizer before this runs.
 */
const TOKEN = new RegExp(
  [
    /[\s\uFEFF]+/, // layout
    /\/\/[^\n]*/, // line comment
    /\/\*[\s\S]*?(?:\*\/|$)/, // block comment
    /"(?:[^"\\\n]|\\[\s\S])*"?/, // strings
    /'(?:[^'\\\n]|\\[\s\S])*'?/,
    /0[xXoObB][0-9a-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?/, // numbers
    /[A-Za-z_$#\\\u0080-\uffff][\w$\\\u0080-\uffff]*/, // words (and private #names)
    />>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|&&=|\|\|=|\?\?=/, // punctuators
    /=>|==|!=|<=|>=|&&|\|\||\?\?|\?\.|\+\+|--|[-+*/%&|^]=|\*\*|<<|>>/,
    /[\s\S]/,
  ]
    .map((r) => r.source)
    .join('|'),
  'y',
);

type Kind = 'word' | 'number' | 'string' | 'template' | 'regex' | 'punct';
interface Token {
  kind: Kind;
  text: string;
}

function kindOf(text: string): Kind | undefined {
  const c = text[0] as string;
  if (/[\s\uFEFF]/.test(c) || text.startsWith('//') || text.startsWith('/*')) return undefined;
  if (c === '"' || c === "'") return 'string';
  if (/\d/.test(c) || (c === '.' && text.length > 1 && text !== '...')) return 'number';
  if (/[A-Za-z_$#\\\u0080-\uffff]/.test(c)) return 'word';
  return 'punct';
}

/** A small JS/TS tokenizer: enough to drop comments and layout without changing meaning. */
class Tokenizer {
  private i = 0;
  readonly tokens: Token[] = [];
  /** Open `{` and template `${`: a `}` closes whichever is innermost. */
  private readonly braces: ('brace' | 'template')[] = [];

  constructor(private readonly src: string) {}

  run(): Token[] {
    if (this.src.startsWith('#!')) {
      const lineEnd = this.src.indexOf('\n');
      this.i = lineEnd < 0 ? this.src.length : lineEnd;
    }
    while (this.i < this.src.length) this.next();
    return this.tokens;
  }

  private push(kind: Kind, end: number): void {
    this.tokens.push({ kind, text: this.src.slice(this.i, end) });
    this.i = end;
  }

  private next(): void {
    const c = this.src[this.i];
    const after = this.src[this.i + 1];
    if (c === '`') {
      this.template(this.i + 1);
    } else if (c === '}' && this.braces.at(-1) === 'template') {
      this.braces.pop();
      this.template(this.i + 1);
    } else if (c === '/' && after !== '/' && after !== '*' && this.regexAllowed()) {
      this.push('regex', this.regexEnd() ?? this.i + 1);
    } else {
      TOKEN.lastIndex = this.i;
      const text = (TOKEN.exec(this.src) as RegExpExecArray)[0];
      const kind = kindOf(text);
      if (text === '{') this.braces.push('brace');
      if (text === '}') this.braces.pop();
      if (kind) this.push(kind, this.i + text.length);
      else this.i += text.length;
    }
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

/** Specifiers of static imports, re-exports, side-effect and literal dynamic imports. */
function importSpecifiers(tokens: readonly string[]): string[] {
  const specs: string[] = [];
  const isString = (t: string | undefined): t is string => t?.startsWith('"') ?? false;
  tokens.forEach((t, i) => {
    if (tokens[i - 1] === '.' || tokens[i - 1] === '?.') return;
    const next = tokens[i + 1];
    const afterParen = tokens[i + 2];
    if ((t === 'from' || t === 'import') && isString(next)) specs.push(unquote(next));
    else if (t === 'import' && next === '(' && isString(afterParen) && tokens[i + 3] === ')') {
      specs.push(unquote(afterParen));
    }
  });
  return specs;
}

const isRelative = (spec: string): boolean => spec.startsWith('./') || spec.startsWith('../');

/** Relative specifiers: the local modules the fingerprint follows. */
export const relativeImports = (tokens: readonly string[]): string[] =>
  importSpecifiers(tokens).filter(isRelative);

const BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/**
 * Names of the packages a module imports by a bare specifier (`vega`, `@scope/x/sub` ->
 * `@scope/x`). Node builtins, `#` subpath imports, URLs and absolute paths are not packages.
 */
export const packageImports = (tokens: readonly string[]): string[] =>
  packageNames(importSpecifiers(tokens));

function packageNames(specs: readonly string[]): string[] {
  const names = new Set<string>();
  for (const spec of specs) {
    if (isRelative(spec) || /^[#/]|^[a-z][a-z0-9+.-]*:/i.test(spec)) continue;
    const parts = spec.split('/');
    const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
    if (!BUILTINS.has(name) && !BUILTINS.has(spec)) names.add(name);
  }
  return [...names];
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

interface ModuleCode {
  /** sha256 of the module's token stream. */
  digest: string;
  /** Relative specifiers. */
  imports: string[];
  /** Package names imported by bare specifiers. */
  packages: string[];
}

const moduleCache = new Map<string, ModuleCode>();

/** A module's code as read under a stat stamp (size:mtimeMs:ino). */
interface StoredCode extends ModuleCode {
  stamp: string;
}

/** What earlier processes read, by absolute path; kept where `openCodeCache` says. */
const persisted: { file?: string; entries: Record<string, StoredCode>; dirty: boolean } = {
  entries: {},
  dirty: false,
};

/** Reads (once per process and file) what earlier processes learned of the code, from `file`. */
export function openCodeCache(file: string): void {
  if (persisted.file === file) return;
  persisted.file = file;
  try {
    persisted.entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, StoredCode>;
  } catch {
    persisted.entries = {};
  }
}

/** Keeps what this process read for the next; only where the cache directory exists. */
export function saveCodeCache(): void {
  const { file } = persisted;
  if (!persisted.dirty || !file || !existsSync(dirname(file))) return;
  writeFileAtomic(file, JSON.stringify(persisted.entries), { durable: false });
  persisted.dirty = false;
}

/** Each file is read, tokenized and hashed once per process, however many kinds share it. */
function codeOf(file: string): ModuleCode {
  let code = moduleCache.get(file);
  if (code) return code;
  const st = statSync(file);
  const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
  const stored = persisted.entries[file];
  if (stored?.stamp === stamp) {
    code = { digest: stored.digest, imports: stored.imports, packages: stored.packages };
  } else {
    code = readCode(file);
    persisted.entries[file] = { ...code, stamp };
    persisted.dirty = true;
  }
  moduleCache.set(file, code);
  return code;
}

function readCode(file: string): ModuleCode {
  const tokens = tokenize(readFileSync(file, 'utf8'));
  const digest = createHash('sha256')
    .update(tokens.map((t) => `${t.length}:${t}`).join(''))
    .digest('hex');
  const specs = importSpecifiers(tokens);
  return { digest, imports: specs.filter(isRelative), packages: packageNames(specs) };
}

const closures = new Map<string, string[]>();

/** The module and everything it reaches through relative imports. */
function localClosure(entry: string): string[] {
  const cached = closures.get(entry);
  if (cached) return cached;
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const spec of codeOf(file).imports) {
      const target = resolveLocal(file, spec);
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  const files = [...seen];
  closures.set(entry, files);
  return files;
}

const fingerprints = new Map<string, string>();

function entryFile(moduleUrl: string): string {
  if (!moduleUrl.startsWith('file:')) {
    throw new Error(
      `code fingerprint: '${moduleUrl}' is not a file: URL; expected import.meta.url of the kind's module`,
    );
  }
  return fileURLToPath(moduleUrl);
}

/** Every package the kind's local module closure imports, with the file importing it. */
export function importedPackages(moduleUrl: string): { file: string; name: string }[] {
  return localClosure(entryFile(moduleUrl)).flatMap((file) =>
    codeOf(file).packages.map((name) => ({ file, name })),
  );
}

/**
 * sha256 hex over (path relative to the kind's module directory, token digest) of each module in
 * the closure, sorted by that path: absolute paths never enter, so moving the checkout
 * keeps the cache. `moduleUrl` must be a file: URL (a kind's `import.meta.url`).
 */
export function codeFingerprint(moduleUrl: string): string {
  const cached = fingerprints.get(moduleUrl);
  if (cached) return cached;
  const entry = entryFile(moduleUrl);
  const root = dirname(entry);
  const files = localClosure(entry)
    .map((file) => ({ file, name: relative(root, file).split(sep).join('/') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const { file, name } of files) hash.update(`${name.length}:${name}:${codeOf(file).digest}`);
  const fingerprint = hash.digest('hex');
  fingerprints.set(moduleUrl, fingerprint);
  return fingerprint;
}
