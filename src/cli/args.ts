/**
 * The command-line parser: a declarative table of commands, arguments and options, tokenized
 * by node:util's parseArgs. It replaced commander, whose import and program construction took
 * ~13 ms of a no-op run's start-up. `parse` and the help renderers are pure (no output, no
 * exit): main decides what is printed where and with which exit code.
 */
import { parseArgs } from 'node:util';
import { closestName } from '../dag/similar.js';

/** `repeatable` collects every occurrence into a list; `positive-int` is a whole number >= 1. */
export type OptionKind = 'boolean' | 'string' | 'repeatable' | 'positive-int';

export interface OptionSpec {
  /**
   * Without the dashes; the value's key is its camelCase (`dry-run` -> `dryRun`). A boolean
   * named `no-x` is the negation of `x`: `x` is true unless `--no-x` is given.
   */
  readonly long: string;
  readonly short?: string;
  /** The value's name in help (`<n>`), for every kind but boolean. */
  readonly value?: string;
  readonly description: string;
  readonly kind: OptionKind;
  readonly choices?: readonly string[];
  readonly default?: string | number;
  readonly required?: boolean;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  /** `<x>`, `[x]` or `[x...]`; a variadic argument takes the rest, so it comes last. */
  readonly arity: 'required' | 'optional' | 'variadic';
}

export interface CommandSpec {
  readonly name: string;
  readonly description: string;
  readonly arguments?: readonly ArgumentSpec[];
  readonly options?: readonly OptionSpec[];
}

export interface ProgramSpec<C extends CommandSpec = CommandSpec> {
  readonly name: string;
  readonly description: string;
  /** Accepted before or after the command name. */
  readonly globals: readonly OptionSpec[];
  readonly commands: readonly C[];
}

type CamelCase<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;
type KeyOf<O extends OptionSpec> = O['long'] extends `no-${infer K}`
  ? CamelCase<K>
  : CamelCase<O['long']>;
type ValueOf<O extends OptionSpec> = O['kind'] extends 'boolean'
  ? boolean
  : O['kind'] extends 'repeatable'
    ? string[]
    : O['kind'] extends 'positive-int'
      ? number
      : O extends { choices: readonly (infer C)[] }
        ? C
        : string;
/** Options that always have a value: a default, a required one, a list, a negation. */
type Always =
  | { default: unknown }
  | { required: true }
  | { kind: 'repeatable' }
  | { long: `no-${string}` };

/** The values `parse` gives a command whose options are `Os`, keyed as commander keyed them. */
export type OptionValues<Os extends readonly OptionSpec[] | undefined> =
  Os extends readonly OptionSpec[]
    ? { [O in Os[number] as O extends Always ? KeyOf<O> : never]: ValueOf<O> } & {
        [O in Os[number] as O extends Always ? never : KeyOf<O>]?: ValueOf<O>;
      }
    : unknown;

type ArgValue<A extends ArgumentSpec> = A['arity'] extends 'variadic'
  ? string[]
  : A['arity'] extends 'required'
    ? string
    : string | undefined;

export type ArgumentValues<As extends readonly ArgumentSpec[] | undefined> =
  As extends readonly ArgumentSpec[] ? { [A in As[number] as A['name']]: ArgValue<A> } : unknown;

type Value = string | number | boolean | string[];

/** A command's arguments and options as parsed, keyed by name. */
export interface Parsed {
  args: Record<string, string | string[] | undefined>;
  /** The program's options and the command's, with their defaults. */
  options: Record<string, Value>;
  /** The keys of the options given on the command line (not defaulted). */
  given: ReadonlySet<string>;
}

export type ParseResult<C extends CommandSpec> =
  | ({ kind: 'command'; command: C } & Parsed)
  | { kind: 'help'; command?: C }
  | { kind: 'version' }
  | { kind: 'no-command' }
  /** A usage error; `command` when it is one command's, so the hint can name it. */
  | { kind: 'error'; message: string; command?: C };

const HELP: OptionSpec = {
  long: 'help',
  short: 'h',
  kind: 'boolean',
  description: 'display help for command',
};
const VERSION: OptionSpec = {
  long: 'version',
  short: 'V',
  kind: 'boolean',
  description: 'output the version number',
};

const isNegation = (o: OptionSpec): boolean => o.kind === 'boolean' && o.long.startsWith('no-');

const keyOf = (o: OptionSpec): string =>
  (isNegation(o) ? o.long.slice(3) : o.long).replace(/-(.)/g, (_, c: string) => c.toUpperCase());

/** How help and errors name an option: `-j, --jobs <n>`. */
export const flagsOf = (o: OptionSpec): string =>
  `${o.short === undefined ? '' : `-${o.short}, `}--${o.long}${o.value === undefined ? '' : ` <${o.value}>`}`;

/** Thrown inside this module only: `parse` returns it as an error result. */
class UsageError extends Error {}

const usage = (message: string): never => {
  throw new UsageError(message);
};

function tokenize(argv: readonly string[], options: readonly OptionSpec[]) {
  const config: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const o of options) {
    config[o.long] = {
      type: o.kind === 'boolean' ? 'boolean' : 'string',
      ...(o.short === undefined ? {} : { short: o.short }),
    };
  }
  // Not strict: an unknown option or a missing value becomes a token, and this module words
  // the error (with a suggestion) instead of parseArgs' exception.
  return parseArgs({
    args: [...argv],
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  }).tokens;
}

type Token = ReturnType<typeof tokenize>[number];
type OptionToken = Extract<Token, { kind: 'option' }>;

const didYouMean = (suggestion: string | undefined): string =>
  suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`;

function unknownOption(token: OptionToken, known: readonly OptionSpec[]): never {
  const names = known.map((o) => o.long);
  // A short option is one letter: any other letter is as close as the next.
  const match = token.rawName.startsWith('--') ? closestName(token.name, names) : undefined;
  return usage(`unknown option '${token.rawName}'${didYouMean(match && `--${match}`)}`);
}

/** The value one occurrence of `o` sets. */
function optionValue(o: OptionSpec, token: OptionToken): Value {
  if (o.kind === 'boolean') {
    return token.value === undefined
      ? !isNegation(o)
      : usage(`option '--${o.long}' takes no value`);
  }
  const value = token.value ?? usage(`option '${flagsOf(o)}' argument missing`);
  const invalid = (expected: string): never =>
    usage(`option '${flagsOf(o)}' argument '${value}' is invalid: expected ${expected}`);
  if (o.choices !== undefined && !o.choices.includes(value))
    invalid(`one of ${o.choices.join(', ')}`);
  if (o.kind !== 'positive-int') return value;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : invalid('a whole number >= 1');
}

function defaults(options: readonly OptionSpec[]): Record<string, Value> {
  const values: Record<string, Value> = {};
  for (const o of options) {
    if (o.kind === 'repeatable') values[keyOf(o)] = [];
    else if (isNegation(o)) values[keyOf(o)] = true;
    else if (o.default !== undefined) values[keyOf(o)] = o.default;
  }
  return values;
}

/** The options' values, defaults filled in, and the keys of those given. */
function readOptions(
  tokens: readonly Token[],
  options: readonly OptionSpec[],
): { values: Record<string, Value>; given: Set<string> } {
  const byName = new Map(options.map((o) => [o.long, o]));
  const values = defaults(options);
  const given = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const o = byName.get(token.name) ?? unknownOption(token, options);
    const key = keyOf(o);
    const value = optionValue(o, token);
    const list = values[key];
    values[key] = Array.isArray(list) ? [...list, String(value)] : value;
    given.add(key);
  }
  const missing = options.find((o) => o.required === true && !given.has(keyOf(o)));
  if (missing !== undefined) usage(`required option '${flagsOf(missing)}' not specified`);
  return { values, given };
}

function readArguments(
  command: CommandSpec,
  positionals: readonly string[],
): Record<string, string | string[] | undefined> {
  const specs = command.arguments ?? [];
  const args: Record<string, string | string[] | undefined> = {};
  let next = 0;
  for (const spec of specs) {
    if (spec.arity === 'variadic') {
      args[spec.name] = positionals.slice(next);
      next = positionals.length;
    } else if (next < positionals.length) {
      args[spec.name] = positionals[next++];
    } else if (spec.arity === 'required') {
      usage(`missing required argument '${spec.name}'`);
    }
  }
  if (next < positionals.length) {
    usage(
      `too many arguments for '${command.name}': expected ${specs.length}, got ${positionals.length}`,
    );
  }
  return args;
}

const hasFlag = (tokens: readonly Token[], name: string): boolean =>
  tokens.some((t) => t.kind === 'option' && t.name === name);

function findCommand<C extends CommandSpec>(program: ProgramSpec<C>, name: string): C {
  const command = program.commands.find((c) => c.name === name);
  if (command !== undefined) return command;
  const names = [...program.commands.map((c) => c.name), 'help'];
  return usage(`unknown command '${name}'${didYouMean(closestName(name, names))}`);
}

/**
 * What `argv` (without node and the script) asks for. The command is the first positional
 * after the program's own options; the words around it are then read with the program's and
 * the command's options together, so a global option may come before or after it.
 */
export function parse<C extends CommandSpec>(
  argv: readonly string[],
  program: ProgramSpec<C>,
): ParseResult<C> {
  let command: C | undefined;
  try {
    const programOptions = [...program.globals, HELP, VERSION];
    const head = tokenize(argv, programOptions);
    const words = head.filter((t) => t.kind === 'positional');
    const first = words[0];
    const before = head.filter((t) => first === undefined || t.index < first.index);
    if (hasFlag(before, 'version')) return { kind: 'version' };
    if (first === undefined && hasFlag(before, 'help')) return { kind: 'help' };
    // Checked here so an unknown option is not taken for the command; the values are read
    // again below, with the command's options.
    readOptions(before, programOptions);
    if (first === undefined) return { kind: 'no-command' };
    if (first.value === 'help') {
      const name = words[1]?.value;
      return name === undefined
        ? { kind: 'help' }
        : { kind: 'help', command: findCommand(program, name) };
    }

    command = findCommand(program, first.value);
    const options = [...program.globals, ...(command.options ?? []), HELP, VERSION];
    const tokens = tokenize(argv.toSpliced(first.index, 1), options);
    if (hasFlag(tokens, 'version')) return { kind: 'version' };
    if (hasFlag(tokens, 'help')) return { kind: 'help', command };
    const { values, given } = readOptions(tokens, options);
    const positionals = tokens.flatMap((t) => (t.kind === 'positional' ? [t.value] : []));
    const args = readArguments(command, positionals);
    return { kind: 'command', command, args, options: values, given };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return { kind: 'error', message: err.message, ...(command === undefined ? {} : { command }) };
  }
}

// Help, laid out as commander did: terms in a column, descriptions wrapped beside them.

/** Greedy word wrap to `width` columns; too narrow a column is not wrapped at all. */
function wrap(text: string, width: number): string[] {
  if (width < 40) return [text];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

type Item = readonly [term: string, description: string];

function section(title: string, items: readonly Item[], termWidth: number, width: number): string {
  if (items.length === 0) return '';
  const indent = ' '.repeat(termWidth + 4);
  const rows = items.map(([term, description]) =>
    `  ${term.padEnd(termWidth)}  ${wrap(description, width - termWidth - 4).join(`\n${indent}`)}`.trimEnd(),
  );
  return `\n${title}:\n${rows.join('\n')}\n`;
}

function optionItem(o: OptionSpec): Item {
  const facts = [
    ...(o.choices === undefined
      ? []
      : [`choices: ${o.choices.map((c) => JSON.stringify(c)).join(', ')}`]),
    ...(o.default === undefined ? [] : [`default: ${JSON.stringify(o.default)}`]),
  ];
  return [
    flagsOf(o),
    facts.length === 0 ? o.description : `${o.description} (${facts.join(', ')})`,
  ];
}

const argumentTerm = (a: ArgumentSpec): string =>
  a.arity === 'required'
    ? `<${a.name}>`
    : a.arity === 'optional'
      ? `[${a.name}]`
      : `[${a.name}...]`;

/** `run [options] [targets...]`; a command's own usage line always has options (--help). */
const usageOf = (c: CommandSpec, withOptions = (c.options ?? []).length > 0): string =>
  [c.name, ...(withOptions ? ['[options]'] : []), ...(c.arguments ?? []).map(argumentTerm)].join(
    ' ',
  );

/** All sections share one term column, so a page reads as one table. */
function page(
  usage: string,
  description: string,
  sections: readonly (readonly [string, readonly Item[]])[],
  width: number,
): string {
  const termWidth = Math.max(
    ...sections.flatMap(([, items]) => items.map(([term]) => term.length)),
  );
  const body = sections.map(([title, items]) => section(title, items, termWidth, width)).join('');
  return `Usage: ${usage}\n\n${wrap(description, width).join('\n')}\n${body}`;
}

export function programHelp(program: ProgramSpec, width: number): string {
  return page(
    `${program.name} [options] [command]`,
    program.description,
    [
      ['Options', [VERSION, ...program.globals, HELP].map(optionItem)],
      [
        'Commands',
        [
          ...program.commands.map((c): Item => [usageOf(c), c.description]),
          ['help [command]', 'display help for command'],
        ],
      ],
    ],
    width,
  );
}

export function commandHelp(program: ProgramSpec, command: CommandSpec, width: number): string {
  return page(
    `${program.name} ${usageOf(command, true)}`,
    command.description,
    [
      ['Arguments', (command.arguments ?? []).map((a): Item => [a.name, a.description])],
      ['Options', [...(command.options ?? []), HELP].map(optionItem)],
      ['Global options', program.globals.map(optionItem)],
    ],
    width,
  );
}
