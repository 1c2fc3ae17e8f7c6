/**
 * Concrete stages -> the DAG: resolves input refs (ids, `id:path`, `*` patterns) against
 * the expanded stages, checks them against each kind's declared inputs, detects cycles and
 * orders stages topologically (ties broken by declaration order, so the order is stable).
 * Edges come only from inputs. Pure, and linear in stages + refs apart from the heap.
 */
import type { Diagnostic, SourceLocation } from './diagnostics.js';
import { COMMAND_KIND, type RawInput, type StageDraft } from './expand.js';
import type { YamlSource } from './load.js';
import type { ConcreteStage, StageInput, StageInputRef } from './pipeline-types.js';
import { didYouMean } from './similar.js';
import type { StageRegistry } from './stage-kind.js';

interface Member {
  draft: StageDraft;
  /** The id's bracket values as written in the id. */
  values: string[];
}

interface Group {
  members: Member[];
  /** Position -> value -> members, so a pattern scans one bucket instead of the group. */
  byPosition: Map<string, Member[]>[];
}

interface ParsedRef {
  name: string;
  /** null: a bare name; otherwise the bracket values, `*` for any. */
  values: string[] | null;
  path: string;
}

const REF = /^([A-Za-z_][A-Za-z0-9_-]*)(?:\[([^\]]*)\])?(?::(.*))?$/;

export function parseRef(ref: string): ParsedRef | undefined {
  const m = REF.exec(ref);
  if (!m?.[1]) return undefined;
  // Foreach values never hold spaces, so `train[normal, 0]` can only mean `train[normal,0]`.
  const values = m[2] === undefined ? null : m[2].split(',').map((v) => v.trim());
  return { name: m[1], values, path: m[3] ?? '' };
}

function indexGroups(drafts: StageDraft[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const draft of drafts) {
    let group = groups.get(draft.name);
    if (!group) {
      group = { members: [], byPosition: [] };
      groups.set(draft.name, group);
    }
    const open = draft.id.indexOf('[');
    const values = open < 0 ? [] : draft.id.slice(open + 1, -1).split(',');
    const member = { draft, values };
    group.members.push(member);
    values.forEach((v, i) => {
      const bucket = group.byPosition[i] ?? new Map<string, Member[]>();
      group.byPosition[i] = bucket;
      const list = bucket.get(v);
      if (list) list.push(member);
      else bucket.set(v, [member]);
    });
  }
  return groups;
}

const error = (message: string, location: SourceLocation, hint?: string): Diagnostic => ({
  severity: 'error',
  message,
  location,
  ...(hint ? { hint } : {}),
});

class GraphBuilder {
  readonly errors: Diagnostic[] = [];
  private readonly groups: Map<string, Group>;
  private readonly byId = new Map<string, StageDraft>();

  constructor(
    private readonly drafts: StageDraft[],
    private readonly registry: StageRegistry,
    private readonly source: YamlSource,
  ) {
    this.groups = indexGroups(drafts);
    for (const d of drafts) this.byId.set(d.id, d);
  }

  /** The stages matching `ref`, or undefined after reporting why none can. */
  private match(ref: ParsedRef, raw: RawInput, stage: StageDraft): Member[] | undefined {
    const where = (): SourceLocation => this.source.locateInString(raw.path, 0);
    const subject = `input '${raw.name}' of stage '${stage.id}'`;
    const group = this.groups.get(ref.name);
    if (!group) {
      this.errors.push(
        error(
          `${subject}: unknown stage '${ref.name}'; expected the name of a stage in this pipeline`,
          where(),
          didYouMean(ref.name, this.groups.keys()),
        ),
      );
      return undefined;
    }
    const arity = group.members[0]?.values.length ?? 0;
    if (ref.values === null && arity > 0) {
      const example = `${ref.name}[${Array(arity).fill('*').join(',')}]`;
      this.errors.push(
        error(
          `${subject}: '${ref.name}' is a foreach group; expected one id such as '${group.members[0]?.draft.id}' or a pattern such as '${example}'`,
          where(),
        ),
      );
      return undefined;
    }
    const values = ref.values ?? [];
    if (values.length !== arity) {
      this.errors.push(
        error(
          `${subject}: '${raw.ref}' has ${values.length} bracket value(s); stage '${ref.name}' has ${arity} foreach key(s)`,
          where(),
        ),
      );
      return undefined;
    }
    const found = values.includes('*') ? this.filter(group, values) : this.exact(ref, values);
    if (found.length === 0) {
      const id = values.length ? `${ref.name}[${values.join(',')}]` : ref.name;
      const ids = group.members.map((m) => m.draft.id);
      this.errors.push(
        error(
          `${subject}: no stage matches '${id}'; expected one of ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''}`,
          where(),
          didYouMean(id, ids),
        ),
      );
      return undefined;
    }
    return found;
  }

  private exact(ref: ParsedRef, values: string[]): Member[] {
    const draft = this.byId.get(values.length ? `${ref.name}[${values.join(',')}]` : ref.name);
    return draft ? [{ draft, values }] : [];
  }

  private filter(group: Group, values: string[]): Member[] {
    let candidates: Member[] | undefined;
    let fixed = -1;
    values.forEach((v, i) => {
      if (v === '*') return;
      const bucket = group.byPosition[i]?.get(v) ?? [];
      if (!candidates || bucket.length < candidates.length) {
        candidates = bucket;
        fixed = i;
      }
    });
    const pool = candidates ?? group.members;
    return pool.filter((m) =>
      values.every((v, i) => i === fixed || v === '*' || m.values[i] === v),
    );
  }

  /** First error of each (group, input), with its count: not one line per expansion. */
  private readonly reported = new Map<string, { diagnostic: Diagnostic; more: number }>();

  private resolveReportingOnce(stage: StageDraft, raw: RawInput): StageInput | undefined {
    const before = this.errors.length;
    const input = this.resolveInput(stage, raw);
    if (this.errors.length === before) return input;
    const key = `${stage.name}\0${raw.name}`;
    const first = this.reported.get(key);
    if (!first) {
      this.reported.set(key, { diagnostic: this.errors[before] as Diagnostic, more: 0 });
      this.errors.length = before + 1;
      return input;
    }
    this.errors.length = before;
    first.more++;
    return input;
  }

  private noteRepeats(): void {
    for (const { diagnostic, more } of this.reported.values()) {
      if (more > 0)
        diagnostic.message += ` (and ${more} more stage${more > 1 ? 's' : ''} of this group)`;
    }
  }

  private resolveInput(stage: StageDraft, raw: RawInput): StageInput | undefined {
    const ref = parseRef(raw.ref);
    if (!ref) {
      this.errors.push(
        error(
          `input '${raw.name}' of stage '${stage.id}': cannot read '${raw.ref}'; expected stage-id, stage-id:path or a pattern such as train[normal,*]`,
          this.source.locateInString(raw.path, 0),
        ),
      );
      return undefined;
    }
    const matched = this.match(ref, raw, stage);
    if (!matched) return undefined;
    const isPattern = ref.values?.includes('*') ?? false;
    const refs: StageInputRef[] = matched.map((m) => ({ stageId: m.draft.id, path: ref.path }));
    return { name: raw.name, many: this.isMany(stage, raw, isPattern), refs };
  }

  /** `many` follows the kind's declaration; `command` takes a list exactly when given a pattern. */
  private isMany(stage: StageDraft, raw: RawInput, isPattern: boolean): boolean {
    if (stage.kind === COMMAND_KIND) return isPattern;
    const declared = this.registry.get(stage.kind)?.inputs[raw.name];
    if (isPattern && !declared?.many) {
      this.errors.push(
        error(
          `input '${raw.name}' of stage '${stage.id}': '${raw.ref}' is a pattern but kind '${stage.kind}' takes one stage there; expected a single stage id`,
          this.source.locateInString(raw.path, 0),
        ),
      );
    }
    return declared?.many ?? false;
  }

  /** Unknown input names and missing required ones, against the kind's declaration. */
  private checkDeclared(stage: StageDraft): boolean {
    if (stage.kind === COMMAND_KIND) return true;
    const declared = this.registry.get(stage.kind)?.inputs ?? {};
    const names = Object.keys(declared);
    const before = this.errors.length;
    for (const raw of stage.rawInputs) {
      if (names.includes(raw.name)) continue;
      const expected = names.length
        ? `expected one of ${names.join(', ')}`
        : `kind '${stage.kind}' takes no inputs`;
      this.errors.push(
        error(
          `stages.${stage.name}.inputs: unknown input '${raw.name}' for kind '${stage.kind}'; ${expected}`,
          this.source.locate(raw.path, 'key'),
          didYouMean(raw.name, names),
        ),
      );
    }
    const given = new Set(stage.rawInputs.map((r) => r.name));
    const missing = names.filter((n) => !declared[n]?.optional && !given.has(n));
    if (missing.length) {
      this.errors.push(
        error(
          `stages.${stage.name}: missing input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `'${n}'`).join(', ')} required by kind '${stage.kind}'`,
          stage.location,
        ),
      );
    }
    return this.errors.length === before;
  }

  resolve(): ConcreteStage[] {
    const checkedGroups = new Set<string>();
    const stages: ConcreteStage[] = [];
    for (const draft of this.drafts) {
      if (!checkedGroups.has(draft.name)) {
        checkedGroups.add(draft.name);
        if (!this.checkDeclared(draft)) continue;
      }
      const inputs = draft.rawInputs.map((raw) => this.resolveReportingOnce(draft, raw));
      stages.push({
        id: draft.id,
        name: draft.name,
        kind: draft.kind,
        matrix: draft.matrix,
        params: draft.params,
        inputs: inputs.filter((i): i is StageInput => i !== undefined),
        deps: draft.deps,
        tools: draft.tools,
        location: draft.location,
      });
    }
    this.noteRepeats();
    return stages;
  }
}

/** Binary min-heap of declaration indices: the next ready stage is the earliest declared. */
class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(x: number): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= x) break;
      a[i] = a[p] as number;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.items;
    const top = a[0] as number;
    const last = a.pop() as number;
    if (a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = l < a.length && (a[l] as number) < last ? l : -1;
      if (r < a.length && (a[r] as number) < (m < 0 ? last : (a[m] as number))) m = r;
      if (m < 0) break;
      a[i] = a[m] as number;
      i = m;
    }
    a[i] = last;
    return top;
  }
}

/** Unique upstream stage indices of each stage, in first-mention order. */
function upstreamOf(stages: ConcreteStage[], index: Map<string, number>): number[][] {
  return stages.map((s) => {
    const ups = new Set<number>();
    for (const input of s.inputs)
      for (const ref of input.refs) ups.add(index.get(ref.stageId) as number);
    return [...ups];
  });
}

/** One cycle among the stages Kahn's algorithm could not order, starting at the earliest declared. */
function findCycle(upstream: number[][], left: Set<number>): number[] {
  const start = Math.min(...left);
  const path: number[] = [];
  const onPath = new Map<number, number>();
  let current = start;
  while (!onPath.has(current)) {
    onPath.set(current, path.length);
    path.push(current);
    current = (upstream[current] ?? []).find((u) => left.has(u)) as number;
  }
  const cycle = path.slice(onPath.get(current));
  const first = cycle.indexOf(Math.min(...cycle));
  return [...cycle.slice(first), ...cycle.slice(0, first)];
}

function cycleError(stages: ConcreteStage[], cycle: number[], source: YamlSource): Diagnostic {
  const ids = cycle.map((i) => stages[i]?.id as string);
  const from = stages[cycle[0] as number] as ConcreteStage;
  const next = ids[1 % ids.length];
  const input = from.inputs.find((inp) => inp.refs.some((r) => r.stageId === next));
  const location = input
    ? source.locateInString(['stages', from.name, 'inputs', input.name], 0)
    : from.location;
  return error(
    `dependency cycle: ${[...ids, ids[0]].join(' -> ')}; a stage cannot read its own output, directly or through others`,
    location,
  );
}

/** Kahn's algorithm with the earliest-declared ready stage first. */
export function topologicalOrder(
  stages: ConcreteStage[],
  source: YamlSource,
): { order: ConcreteStage[]; error?: Diagnostic } {
  const index = new Map(stages.map((s, i) => [s.id, i]));
  const upstream = upstreamOf(stages, index);
  const downstream: number[][] = stages.map(() => []);
  const waiting = upstream.map((ups) => ups.length);
  upstream.forEach((ups, i) => {
    for (const u of ups) downstream[u]?.push(i);
  });
  const ready = new MinHeap();
  waiting.forEach((n, i) => {
    if (n === 0) ready.push(i);
  });
  const order: ConcreteStage[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(stages[i] as ConcreteStage);
    for (const d of downstream[i] ?? []) if (--(waiting[d] as number) === 0) ready.push(d);
  }
  if (order.length === stages.length) return { order };
  const left = new Set(waiting.flatMap((n, i) => (n > 0 ? [i] : [])));
  return { order, error: cycleError(stages, findCycle(upstream, left), source) };
}

export interface Graph {
  stages: ConcreteStage[];
  groups: Record<string, string[]>;
  errors: Diagnostic[];
}

export function buildGraph(
  drafts: StageDraft[],
  registry: StageRegistry,
  source: YamlSource,
): Graph {
  const builder = new GraphBuilder(drafts, registry, source);
  const resolved = builder.resolve();
  const groups: Record<string, string[]> = {};
  for (const d of drafts) {
    const ids = groups[d.name] ?? [];
    groups[d.name] = ids;
    ids.push(d.id);
  }
  if (builder.errors.length) return { stages: [], groups, errors: builder.errors };
  const { order, error: cycle } = topologicalOrder(resolved, source);
  return { stages: order, groups, errors: cycle ? [cycle] : [] };
}
