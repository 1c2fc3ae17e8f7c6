/**
 * YAML text -> plain value plus a way back to source positions. Every later phase reports
 * errors by document path; this module turns a path into `file:line:col`. It never reads a
 * file and never interprets the document (that is schema.ts and later phases).
 */
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  Scalar,
  visit,
  type YAMLError,
} from 'yaml';
import type { Diagnostic, Result, SourceLocation } from './diagnostics.js';
import { fail, ok } from './diagnostics.js';

export type DocPath = readonly (string | number)[];

/** Maps document paths back to positions in the YAML text. */
export interface YamlSource {
  file: string;
  /** The deepest node on `path` that exists: its key (for a mapping entry) or its value. */
  locate(path: DocPath, part?: 'key' | 'value'): SourceLocation;
  /** The position of character `index` of the string scalar at `path` (its start if unsure). */
  locateInString(path: DocPath, index: number): SourceLocation;
}

export interface LoadedYaml {
  value: unknown;
  source: YamlSource;
}

interface Found {
  node: Node | null;
  key: Node | null;
}

function childOf(node: Node, segment: string | number): Found | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      const name = isScalar(key) ? key.value : key;
      if (String(name) === String(segment)) {
        return { node: (pair.value as Node | null) ?? null, key: (key as Node | null) ?? null };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | undefined;
    return item === undefined ? undefined : { node: item, key: null };
  }
  return undefined;
}

/** Walks as far along `path` as the document goes; the last node found wins. */
function walk(
  root: Node | null,
  path: DocPath,
): { node: Node | null; key: Node | null; depth: number } {
  let current: Found = { node: root, key: null };
  let depth = 0;
  for (const segment of path) {
    if (current.node === null) break;
    const next = childOf(current.node, segment);
    if (next === undefined) break;
    current = next;
    depth++;
  }
  return { ...current, depth };
}

function makeSource(text: string, file: string, root: Node | null, lines: LineCounter): YamlSource {
  const at = (offset: number): SourceLocation => {
    const pos = lines.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  const start = (node: Node | null, fallback: number): number => node?.range?.[0] ?? fallback;
  return {
    file,
    locate(path, part = 'value') {
      const found = walk(root, path);
      const complete = found.depth === path.length;
      const node = part === 'key' && complete && found.key ? found.key : (found.node ?? found.key);
      return at(start(node, 0));
    },
    locateInString(path, index) {
      const found = walk(root, path);
      const node = found.node;
      if (!node || found.depth !== path.length || !isScalar(node) || !node.range) {
        return at(start(node ?? found.key, 0));
      }
      const [from, to] = node.range;
      if (text.slice(from, to).includes('\n')) return at(from);
      const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
      const plain = node.type === Scalar.PLAIN;
      if (!quoted && !plain) return at(from);
      return at(from + (quoted ? 1 : 0) + index);
    },
  };
}

/** The first line of a yaml error, without the position the diagnostic already carries. */
function yamlMessage(error: YAMLError): string {
  const first = error.message.split('\n')[0] ?? error.message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

function yamlDiagnostic(error: YAMLError, file: string, lines: LineCounter): Diagnostic {
  const pos = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
  return {
    severity: 'error',
    message: `invalid YAML: ${yamlMessage(error)}`,
    location: { file, line: pos.line, column: pos.col },
  };
}

/** toJS throws on aliases it cannot resolve; point at the first such alias. */
function aliasDiagnostic(
  doc: Document,
  error: Error,
  file: string,
  lines: LineCounter,
): Diagnostic {
  let offset = 0;
  let message = `invalid YAML: ${error.message}`;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return undefined;
      offset = alias.range?.[0] ?? 0;
      message = `invalid YAML: unknown alias *${alias.source}; expected an anchor &${alias.source} before it`;
      return visit.BREAK;
    },
  });
  const pos = lines.linePos(offset);
  return { severity: 'error', message, location: { file, line: pos.line, column: pos.col } };
}

/** `.inf` and `.nan` are YAML numbers but have no JSON form: a cache key could not hold them. */
function nonFiniteDiagnostic(
  doc: Document,
  file: string,
  lines: LineCounter,
): Diagnostic | undefined {
  let found: Diagnostic | undefined;
  visit(doc, {
    Scalar(_, scalar) {
      if (typeof scalar.value !== 'number' || Number.isFinite(scalar.value)) return undefined;
      const pos = lines.linePos(scalar.range?.[0] ?? 0);
      found = {
        severity: 'error',
        message: `${scalar.source ?? String(scalar.value)} is not a finite number; expected a finite number (or quote it to make it a string)`,
        location: { file, line: pos.line, column: pos.col },
      };
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * Parses one YAML document. Only the first YAML error is reported: the ones after it are
 * almost always consequences of it.
 */
export function parseYaml(text: string, file: string): Result<LoadedYaml> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) return fail([yamlDiagnostic(first, file, lines)]);
  const root = (doc.contents as Node | null) ?? null;
  const source = makeSource(text, file, root, lines);
  const infinite = nonFiniteDiagnostic(doc, file, lines);
  if (infinite) return fail([infinite]);
  try {
    return ok({ value: doc.toJS({ maxAliasCount: 10_000 }), source });
  } catch (e) {
    return fail([aliasDiagnostic(doc, e as Error, file, lines)]);
  }
}
