/**
 * What changed between two versions of a JSON or CSV file, number by number, and between
 * two params documents, leaf by leaf. Pure: text in, changes out. Numbers are grouped into
 * series: the values along a file's innermost array (a per-epoch curve, a CSV column), so a
 * reader sees `asr.pgd[*]` changed at epochs 3 and 4 rather than two unrelated paths.
 */
import type { Json } from './pipeline-types.js';

export interface ValueChange {
  /** Position in the series: an array index, or a CSV row's label. */
  at: string;
  old: number | null;
  new: number | null;
  /** new - old, null when either side is missing. */
  delta: number | null;
}

export interface SeriesDiff {
  /** Path of the series, `[*]` standing for the position, e.g. `asr.pgd[*]`. */
  series: string;
  /** How many positions either version has. */
  length: number;
  changes: ValueChange[];
  /** Means over each version's finite values (null when it has none). */
  meanOld: number | null;
  meanNew: number | null;
}

export interface ParamChange {
  path: string;
  /** undefined: the parameter did not exist on that side. */
  old?: Json;
  new?: Json;
}

type Leaves = Map<string, Json>;

/** Every leaf of a JSON value by path (`a.b[2].c`); empty objects and arrays are leaves. */
export function leaves(value: Json, prefix = '', into: Leaves = new Map()): Leaves {
  if (Array.isArray(value) && value.length > 0) {
    value.forEach((v, i) => {
      leaves(v, `${prefix}[${i}]`, into);
    });
  } else if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, into);
  } else {
    into.set(prefix, value);
  }
  return into;
}

export function paramChanges(a: Json, b: Json): ParamChange[] {
  const la = leaves(a);
  const lb = leaves(b);
  const paths = [...new Set([...la.keys(), ...lb.keys()])].sort();
  return paths.flatMap((path) => {
    const old = la.get(path);
    const now = lb.get(path);
    if (JSON.stringify(old) === JSON.stringify(now)) return [];
    return [{ path, ...(la.has(path) ? { old } : {}), ...(lb.has(path) ? { new: now } : {}) }];
  });
}

/** Numbers keyed by series, then position. */
type Numbers = Map<string, Map<string, number>>;

function put(into: Numbers, series: string, at: string, value: number): void {
  let s = into.get(series);
  if (!s) {
    s = new Map();
    into.set(series, s);
  }
  s.set(at, value);
}

/** A leaf path split at its last array index: `a[3].mean` -> series `a[*].mean`, at `3`. */
function splitPath(path: string): { series: string; at: string } {
  const m = /\[(\d+)\](?!.*\[\d+\])/.exec(path);
  if (!m) return { series: path, at: '' };
  return {
    series: `${path.slice(0, m.index)}[*]${path.slice(m.index + m[0].length)}`,
    at: m[1] as string,
  };
}

function jsonNumbers(text: string): Numbers {
  const out: Numbers = new Map();
  for (const [path, value] of leaves(JSON.parse(text) as Json)) {
    if (typeof value !== 'number') continue;
    const { series, at } = splitPath(path);
    put(out, series, at, value);
  }
  return out;
}

function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

const numeric = (text: string): boolean => text.trim() !== '' && Number.isFinite(Number(text));

/** Text fields naming a CSV row; later ones (lists of sources, notes) only make it long. */
const rowLabelFields = 3;

/**
 * A CSV's numeric columns, one series per column. A row is named by its first text fields
 * (e.g. `cifar10 normal pgd`), or by its number when it has none.
 */
function csvNumbers(text: string): Numbers {
  const [header, ...rows] = text.split('\n').filter((l) => l.trim() !== '');
  const names = header ? csvFields(header) : [];
  const out: Numbers = new Map();
  rows.forEach((line, i) => {
    const fields = csvFields(line);
    const label =
      fields
        .filter((f) => f !== '' && !numeric(f))
        .slice(0, rowLabelFields)
        .join(' ') || String(i);
    fields.forEach((f, c) => {
      if (numeric(f)) put(out, names[c] ?? `column ${c + 1}`, label, Number(f));
    });
  });
  return out;
}

/** Whether a file is one whose numbers `diffNumbers` reads. */
export const isTabular = (file: string): boolean => /\.(json|csv)$/i.test(file);

const meanOf = (values: Iterable<number>): number | null => {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    sum += v;
    n += 1;
  }
  return n === 0 ? null : sum / n;
};

/** The series of `file` whose numbers differ between the two versions' text. */
export function diffNumbers(file: string, oldText: string, newText: string): SeriesDiff[] {
  const read = file.toLowerCase().endsWith('.csv') ? csvNumbers : jsonNumbers;
  const a = read(oldText);
  const b = read(newText);
  const names = [...new Set([...a.keys(), ...b.keys()])];
  return names.flatMap((series) => {
    const sa = a.get(series) ?? new Map<string, number>();
    const sb = b.get(series) ?? new Map<string, number>();
    const positions = [...new Set([...sa.keys(), ...sb.keys()])];
    const changes = positions.flatMap((at): ValueChange[] => {
      const old = sa.get(at);
      const now = sb.get(at);
      if (old === now) return [];
      return [
        {
          at,
          old: old ?? null,
          new: now ?? null,
          delta: old === undefined || now === undefined ? null : now - old,
        },
      ];
    });
    if (changes.length === 0) return [];
    return [
      {
        series,
        length: positions.length,
        changes,
        meanOld: meanOf(sa.values()),
        meanNew: meanOf(sb.values()),
      },
    ];
  });
}
