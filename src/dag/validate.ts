/**
 * ajv validation with errors turned into diagnostics at YAML positions: used for the
 * document (against schema.ts) and for each concrete stage's params (against its kind's
 * schema). Schemas are compiled once per schema object, so 10,000 stages of one kind cost
 * one compile. Never returns ajv's own wording where a plainer sentence exists.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DocPath } from './load.js';
import { didYouMean } from './similar.js';

export interface Issue {
  /** Path from the validated value's root to the offending node. */
  path: (string | number)[];
  /** Point at the key of a mapping entry rather than its value. */
  atKey: boolean;
  message: string;
  hint?: string;
}

// Our schemas are checked against the draft-07 meta-schema by a test, not on every start:
// compiling the meta-schema was a tenth of a cached run.
const ajv = new Ajv({
  allErrors: true,
  verbose: true,
  allowUnionTypes: true,
  strict: false,
  validateSchema: false,
});
const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

const TYPE_WORDS: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

const NAME_PATTERNS: Record<string, string> = {
  '^[A-Za-z_][A-Za-z0-9_-]*$': "letters, digits, '_' and '-', starting with a letter or '_'",
  '^[A-Za-z_][A-Za-z0-9_]*$': "letters, digits and '_', starting with a letter or '_'",
};

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function typeWords(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

function splitPointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `stages.train.deps[0]`; the root is `document`. */
export function dottedPath(path: DocPath, root = 'document'): string {
  if (path.length === 0) return root;
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

type Label = (path: DocPath) => string;

function schemaKeys(schema: unknown): string[] {
  const properties = (schema as { properties?: object } | undefined)?.properties;
  return properties ? Object.keys(properties) : [];
}

function issueOf(error: ErrorObject, label: Label): Issue | undefined {
  const path = splitPointer(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const at = label(path);
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const expected = schemaKeys(error.parentSchema);
      return {
        path: [...path, key],
        atKey: true,
        message: `${at}: unknown key '${key}'; expected one of ${expected.join(', ')}`,
        hint: didYouMean(key, expected),
      };
    }
    case 'required':
      return {
        path,
        atKey: true,
        message: `${at}: missing required key '${params.missingProperty}'`,
      };
    case 'type':
      return {
        path,
        atKey: false,
        message: `${at}: wrong type; expected ${typeWords(params.type)}, got ${describeValue(error.data)}`,
      };
    case 'const':
      return {
        path,
        atKey: false,
        message: `${at}: must be ${JSON.stringify(params.allowedValue)}; got ${describeValue(error.data)}`,
      };
    case 'enum':
      return {
        path,
        atKey: false,
        message: `${at}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}; got ${describeValue(error.data)}`,
      };
    case 'anyOf':
    case 'oneOf': {
      const description = (error.parentSchema as { description?: string } | undefined)?.description;
      return {
        path,
        atKey: false,
        message: `${at}: wrong form; expected ${description ?? 'one of the allowed forms'}, got ${describeValue(error.data)}`,
      };
    }
    case 'propertyNames': {
      const name = String(params.propertyName);
      const pattern = String((error.schema as { pattern?: string } | undefined)?.pattern ?? '');
      return {
        path: [...path, name],
        atKey: true,
        message: `${at}: invalid name '${name}'; expected ${NAME_PATTERNS[pattern] ?? `a name matching ${pattern}`}`,
      };
    }
    case 'minProperties':
      return { path, atKey: false, message: `${at}: must not be empty` };
    default:
      return {
        path,
        atKey: false,
        message: `${at}: ${error.message ?? 'invalid'}; got ${describeValue(error.data)}`,
      };
  }
}

/**
 * The anyOf branch the value evidently meant: an object branch whose required keys it has
 * (`{ range: 2.5 }` meant the range form). Its own errors are more useful than "wrong form".
 */
function intendedBranch(error: ErrorObject): number {
  const data = error.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return -1;
  const branches = ((error.parentSchema as { anyOf?: unknown[] } | undefined)?.anyOf ?? []) as {
    required?: string[];
  }[];
  return branches.findIndex((b) => b.required?.length && b.required.every((k) => k in data));
}

/**
 * Drops what a failing anyOf/propertyNames already says (its branches' own complaints),
 * unless one branch was evidently intended: then its errors replace the anyOf's.
 */
function withoutBranchNoise(errors: ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const umbrella of errors) {
    if (!['anyOf', 'oneOf', 'propertyNames'].includes(umbrella.keyword)) continue;
    const prefix = `${umbrella.schemaPath}/`;
    const branch = umbrella.keyword === 'propertyNames' ? -1 : intendedBranch(umbrella);
    const kept = `${prefix}${branch}/`;
    for (const e of errors) {
      if (e.schemaPath.startsWith(prefix) && !(branch >= 0 && e.schemaPath.startsWith(kept))) {
        drop.add(e);
      }
    }
    if (branch >= 0) drop.add(umbrella);
  }
  return errors.filter((e) => !drop.has(e) && !('propertyName' in e));
}

/** Validates `value` against `schema`; an empty list means valid. */
export function validateAgainst(schema: object, value: unknown, label: Label): Issue[] {
  const validate = compile(schema);
  if (validate(value)) return [];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const error of withoutBranchNoise(validate.errors ?? [])) {
    const issue = issueOf(error, label);
    if (!issue || seen.has(issue.message)) continue;
    seen.add(issue.message);
    issues.push(issue);
  }
  return issues;
}
