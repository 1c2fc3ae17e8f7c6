/**
 * The parameter tree (defaults, then --profile, then --set) and `${...}` interpolation.
 * Pure: takes values, returns values or diagnostics. Never adds a key through --set (a
 * typo must not silently create a new parameter).
 */
import { parseDocument } from 'yaml';
import type { Diagnostic, Result, SourceLocation } from './diagnostics.js';
import { fail, ok } from './diagnostics.js';
import type { Json, JsonObject } from './pipeline-types.js';
import { didYouMean } from './similar.js';

const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; anything else in `over` replaces what `base` had. */
export function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const previous = merged[key];
    merged[key] = isObject(previous) && isObject(value) ? deepMerge(previous, value) : value;
  }
  return merged;
}

const cliError = (
  flag: string,
  line: number,
  column: number,
  message: string,
  hint?: string,
): Diagnostic => ({
  severity: 'error',
  message,
  location: { file: flag, line, column },
  ...(hint ? { hint } : {}),
});

export function applyProfile(
  params: JsonObject,
  profiles: Record<string, { params?: JsonObject }>,
  profile: string | undefined,
): Result<JsonObject> {
  if (profile === undefined) return ok(params);
  const chosen = profiles[profile];
  if (chosen) return ok(deepMerge(params, chosen.params ?? {}));
  const names = Object.keys(profiles);
  const expected = names.length
    ? `expected one of ${names.join(', ')}`
    : 'this pipeline defines no profiles';
  return fail([
    cliError(
      '--profile',
      1,
      1,
      `unknown profile '${profile}'; ${expected}`,
      didYouMean(profile, names),
    ),
  ]);
}

function childKeys(value: Json | undefined): string[] {
  if (isObject(value)) return Object.keys(value);
  if (Array.isArray(value)) return value.map((_, i) => String(i));
  return [];
}

/** `.inf` / `.nan`: YAML numbers without a JSON form, so no cache key could hold them. */
const hasNonFinite = (v: Json): boolean =>
  typeof v === 'number'
    ? !Number.isFinite(v)
    : typeof v === 'object' && v !== null && Object.values(v).some(hasNonFinite);

function parseSetValue(text: string, line: number, column: number): Result<Json> {
  if (text.trim() === '')
    return fail([cliError('--set', line, column, 'missing value after =; expected PATH=VALUE')]);
  const doc = parseDocument(text, { prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const first = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    return fail([
      cliError(
        '--set',
        line,
        column + error.pos[0],
        `invalid value: ${first}; expected a YAML scalar or flow collection`,
      ),
    ]);
  }
  const value = doc.toJS() as Json;
  if (hasNonFinite(value)) {
    return fail([
      cliError(
        '--set',
        line,
        column,
        `value '${text.trim()}' holds .inf or .nan; expected finite numbers (quote them to make strings)`,
      ),
    ]);
  }
  return ok(value);
}

function missingParam(
  parent: Json,
  segment: string,
  where: string,
  line: number,
  column: number,
): Diagnostic {
  const expected = Array.isArray(parent)
    ? `expected an index from 0 to ${parent.length - 1}`
    : isObject(parent)
      ? `expected one of ${Object.keys(parent).join(', ')} (--set only changes existing params)`
      : `${where} is ${JSON.stringify(parent)}, not a mapping`;
  const hint = isObject(parent) ? didYouMean(segment, Object.keys(parent)) : undefined;
  return cliError('--set', line, column, `no param '${segment}' in ${where}; ${expected}`, hint);
}

/** Applies one `a.b=value` to a copy of `tree`; `line` is the 1-based index of the --set. */
function applySet(tree: JsonObject, set: string, line: number): Result<JsonObject> {
  const eq = set.indexOf('=');
  if (eq <= 0)
    return fail([
      cliError('--set', line, 1, `expected PATH=VALUE, e.g. attacks.pgd.eps=0.1; got '${set}'`),
    ]);
  const value = parseSetValue(set.slice(eq + 1), line, eq + 2);
  if (!value.ok) return value;
  const segments = set.slice(0, eq).split('.');
  const copy = structuredClone(tree);
  let parent: Json = copy;
  let column = 1;
  for (const [i, segment] of segments.entries()) {
    const keys = childKeys(parent);
    const where = i === 0 ? 'params' : `params.${segments.slice(0, i).join('.')}`;
    if (segment === '')
      return fail([
        cliError('--set', line, column, `empty name in '${set.slice(0, eq)}'; expected PATH=VALUE`),
      ]);
    if (!keys.includes(segment)) return fail([missingParam(parent, segment, where, line, column)]);
    const container = parent as JsonObject | Json[];
    if (i === segments.length - 1) {
      (container as Record<string, Json>)[segment] = value.value;
    } else {
      parent = (container as Record<string, Json>)[segment] as Json;
    }
    column += segment.length + 1;
  }
  return ok(copy);
}

export function applySets(tree: JsonObject, sets: readonly string[]): Result<JsonObject> {
  let current = tree;
  for (const [i, set] of sets.entries()) {
    const next = applySet(current, set, i + 1);
    if (!next.ok) return next;
    current = next.value;
  }
  return ok(current);
}

/** What `${...}` names resolve against: the foreach binding first, then params. */
export interface Scope {
  binding: Record<string, Json>;
  params: JsonObject;
}

export interface InterpolationError {
  /** Index in the string of the `${` that failed. */
  index: number;
  message: string;
  hint?: string;
}

type Lookup = { ok: true; value: Json } | { ok: false; message: string; hint?: string };

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*/;

function lookupName(name: string, scope: Scope, expr: string): Lookup {
  if (Object.hasOwn(scope.binding, name)) return { ok: true, value: scope.binding[name] as Json };
  if (Object.hasOwn(scope.params, name)) return { ok: true, value: scope.params[name] as Json };
  const names = [...Object.keys(scope.binding), ...Object.keys(scope.params)];
  return {
    ok: false,
    message: `unknown name '${name}' in \${${expr}}; expected a foreach key or a top-level param`,
    hint: didYouMean(name, names),
  };
}

function member(value: Json, key: string | number, walked: string, expr: string): Lookup {
  if (isObject(value) && Object.hasOwn(value, String(key)))
    return { ok: true, value: value[String(key)] as Json };
  const index = typeof key === 'number' ? key : /^\d+$/.test(key) ? Number(key) : -1;
  if (Array.isArray(value) && index >= 0 && index < value.length)
    return { ok: true, value: value[index] as Json };
  const keys = childKeys(value);
  const what = Array.isArray(value)
    ? `expected an index from 0 to ${value.length - 1}`
    : isObject(value)
      ? `expected one of ${keys.join(', ')}`
      : `${walked} is ${JSON.stringify(value)}, not a mapping`;
  return {
    ok: false,
    message: `no key '${key}' in ${walked} (in \${${expr}}); ${what}`,
    hint: isObject(value) ? didYouMean(String(key), keys) : undefined,
  };
}

/** Resolves `a.b[c].d`: `[c]` is itself a name, looked up first. */
export function resolvePath(expr: string, scope: Scope): Lookup {
  const syntax = (): Lookup => ({
    ok: false,
    message: `invalid reference \${${expr}}; expected NAME, NAME.KEY or NAME[OTHER_NAME]`,
  });
  let rest = expr.trim();
  const head = IDENT.exec(rest);
  if (!head) return syntax();
  let walked = head[0];
  let current = lookupName(walked, scope, expr);
  rest = rest.slice(walked.length);
  while (current.ok && rest.length > 0) {
    const dot = /^\.([A-Za-z_0-9][A-Za-z0-9_-]*)/.exec(rest);
    const bracket = /^\[\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\]/.exec(rest);
    const step = dot ?? bracket;
    if (!step?.[1]) return syntax();
    let key: string | number = step[1];
    if (bracket) {
      const named = lookupName(step[1], scope, expr);
      if (!named.ok) return named;
      if (typeof named.value !== 'string' && typeof named.value !== 'number') {
        return {
          ok: false,
          message: `${step[1]} in \${${expr}} is ${describe(named.value)}; expected a string or number to use as a key`,
        };
      }
      key = named.value;
    }
    current = member(current.value, key, walked, expr);
    walked += dot ? `.${key}` : `[${key}]`;
    rest = rest.slice(step[0].length);
  }
  return current;
}

const describe = (v: Json): string =>
  isObject(v) ? 'a mapping' : Array.isArray(v) ? 'a list' : JSON.stringify(v);

const format = (v: Json): string => (typeof v === 'string' ? v : JSON.stringify(v));

type Interpolated = { ok: true; value: Json } | { ok: false; error: InterpolationError };

/** Interpolates one string. Exactly one `${...}` and nothing else keeps the value's type. */
export function interpolateString(text: string, scope: Scope): Interpolated {
  if (!text.includes('${')) return { ok: true, value: text };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) break;
    if (start > 0 && text[start - 1] === '$') {
      out += `${text.slice(i, start)}{`;
      i = start + 2;
      continue;
    }
    const end = text.indexOf('}', start);
    if (end < 0)
      return {
        ok: false,
        error: { index: start, message: `unterminated \${ in '${text}'; expected }` },
      };
    const found = resolvePath(text.slice(start + 2, end), scope);
    if (!found.ok)
      return {
        ok: false,
        error: {
          index: start,
          message: found.message,
          ...(found.hint ? { hint: found.hint } : {}),
        },
      };
    if (start === 0 && end === text.length - 1)
      return { ok: true, value: structuredClone(found.value) };
    out += text.slice(i, start) + format(found.value);
    i = end + 1;
  }
  return { ok: true, value: out + text.slice(i) };
}

export type Locator = (path: readonly (string | number)[], index: number) => SourceLocation;

/**
 * Interpolates every string inside `value` (keys are left alone). Errors are pushed to
 * `errors` with their position; the failed string is kept as is.
 */
export function interpolateValue(
  value: Json,
  scope: Scope,
  path: (string | number)[],
  locate: Locator,
  errors: Diagnostic[],
): Json {
  if (typeof value === 'string') {
    const result = interpolateString(value, scope);
    if (result.ok) return result.value;
    const { index, message, hint } = result.error;
    errors.push({
      severity: 'error',
      message,
      location: locate(path, index),
      ...(hint ? { hint } : {}),
    });
    return value;
  }
  if (Array.isArray(value))
    return value.map((item, i) => interpolateValue(item, scope, [...path, i], locate, errors));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value))
      out[key] = interpolateValue(item, scope, [...path, key], locate, errors);
    return out;
  }
  return value;
}
