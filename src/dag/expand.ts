/**
 * Stage templates -> concrete stages: foreach/matrix expansion with stable ids
 * (`train[normal,3]`), interpolation of every stage field, the kind's params check. Inputs
 * stay raw ref strings here; graph.ts resolves them. Pure; never touches the registry's
 * `run` and never reads files.
 */
import type { Diagnostic, SourceLocation } from './diagnostics.js';
import type { DocPath, YamlSource } from './load.js';
import { interpolateValue, type Locator, type Scope } from './params.js';
import type { ConcreteStage, Json, JsonObject } from './pipeline-types.js';
import type { ForeachSpec, PipelineDocument, StageDocument } from './schema.js';
import { didYouMean } from './similar.js';
import type { StageKind, StageRegistry } from './stage-kind.js';
import { describeValue, dottedPath, validateAgainst } from './validate.js';

/** The generic shell kind: its cmd/outs/env are its params, and it takes any input names. */
export const COMMAND_KIND = 'command';

export interface RawInput {
  name: string;
  /** After interpolation: `stage-id`, `stage-id:path` or a pattern. */
  ref: string;
  /** Where the ref string is in pipeline.yaml. */
  path: DocPath;
}

export interface StageDraft extends Omit<ConcreteStage, 'inputs'> {
  rawInputs: RawInput[];
  /** Declaration order (stage order in the YAML, then expansion order): the topo tie-break. */
  order: number;
}

type Binding = Record<string, Json>;

interface Fields {
  params: Json;
  inputs: Json;
  deps: Json;
  tools: Json;
}

const error = (message: string, location: SourceLocation, hint?: string): Diagnostic => ({
  severity: 'error',
  message,
  location,
  ...(hint ? { hint } : {}),
});

const isObject = (v: Json): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const ID_BREAKERS = /[,[\]*\s]/;

/** How a foreach value is written inside an id: strings as is, the rest as JSON. */
const idPart = (v: Json): string => (typeof v === 'string' ? v : JSON.stringify(v));

export const stageId = (name: string, values: readonly Json[]): string =>
  values.length === 0 ? name : `${name}[${values.map(idPart).join(',')}]`;

class Expander {
  readonly errors: Diagnostic[] = [];
  readonly drafts: StageDraft[] = [];
  private readonly locateIn: Locator;

  constructor(
    private readonly doc: PipelineDocument,
    private readonly params: JsonObject,
    private readonly registry: StageRegistry,
    private readonly source: YamlSource,
  ) {
    this.locateIn = (path, index) => source.locateInString(path, index);
  }

  private at(path: DocPath, part: 'key' | 'value' = 'value'): SourceLocation {
    return this.source.locate(path, part);
  }

  run(): void {
    for (const [name, stage] of Object.entries(this.doc.stages)) this.expandStage(name, stage);
  }

  private expandStage(name: string, stage: StageDocument): void {
    const kind = this.kindOf(name, stage);
    if (!kind || !this.fieldsFitKind(name, stage)) return;
    const bindings = this.matrix(name, stage);
    if (!bindings) return;
    const ids = bindings.map((binding) => stageId(name, Object.values(binding)));
    if (!this.distinct(name, ids)) return;
    const location = this.at(['stages', name], 'key');
    const seenIssues = new Set<string>();
    bindings.forEach((binding, i) => {
      const draft = this.concrete(name, ids[i] as string, stage, binding, location);
      if (draft) this.checkParams(draft, kind, seenIssues);
    });
  }

  private distinct(name: string, ids: string[]): boolean {
    const seen = new Set<string>();
    const duplicate = ids.find((id) => {
      if (seen.has(id)) return true;
      seen.add(id);
      return false;
    });
    if (duplicate === undefined) return true;
    this.errors.push(
      error(
        `stages.${name}.foreach: duplicate stage id '${duplicate}'; expected distinct foreach values`,
        this.at(['stages', name, 'foreach']),
      ),
    );
    return false;
  }

  private kindOf(name: string, stage: StageDocument): StageKind | undefined {
    const kind = this.registry.get(stage.kind);
    if (kind) return kind;
    const names = [...this.registry.keys()].sort();
    this.errors.push(
      error(
        `stages.${name}.kind: unknown kind '${stage.kind}'; expected one of ${names.join(', ')}`,
        this.at(['stages', name, 'kind']),
        didYouMean(stage.kind, names),
      ),
    );
    return undefined;
  }

  /** cmd/outs/env/tools belong to `command`, which has no free-form params. */
  private fieldsFitKind(name: string, stage: StageDocument): boolean {
    const before = this.errors.length;
    if (stage.kind === COMMAND_KIND) {
      if (stage.cmd === undefined)
        this.errors.push(
          error(
            `stages.${name}: missing required key 'cmd'; kind 'command' runs a shell command`,
            this.at(['stages', name], 'key'),
          ),
        );
      if (stage.params !== undefined)
        this.errors.push(
          error(
            `stages.${name}.params: kind 'command' takes no params; expected cmd, outs, env and tools (use \${...} inside them)`,
            this.at(['stages', name, 'params'], 'key'),
          ),
        );
    } else {
      for (const field of ['cmd', 'outs', 'env', 'tools'] as const) {
        if (stage[field] !== undefined)
          this.errors.push(
            error(
              `stages.${name}.${field}: only kind 'command' has '${field}'; this stage is kind '${stage.kind}'`,
              this.at(['stages', name, field], 'key'),
            ),
          );
      }
    }
    return this.errors.length === before;
  }

  /** Every binding of the stage's foreach, in declared key order; [{}] without foreach. */
  private matrix(name: string, stage: StageDocument): Binding[] | undefined {
    let bindings: Binding[] = [{}];
    for (const [key, spec] of Object.entries(stage.foreach ?? {})) {
      const values = this.foreachValues(name, key, spec);
      if (!values) return undefined;
      bindings = bindings.flatMap((b) => values.map((v) => ({ ...b, [key]: v })));
    }
    return bindings;
  }

  private foreachValues(name: string, key: string, spec: ForeachSpec): Json[] | undefined {
    const path = ['stages', name, 'foreach', key];
    const before = this.errors.length;
    const scope: Scope = { binding: {}, params: this.params };
    const value = interpolateValue(spec as Json, scope, path, this.locateIn, this.errors);
    if (this.errors.length > before) return undefined;
    const values = this.valuesOf(value, path);
    if (!values) return undefined;
    if (values.length === 0) {
      this.errors.push(
        error(`${dottedPath(path)}: no values; expected at least one`, this.at(path)),
      );
      return undefined;
    }
    for (const [i, v] of values.entries()) {
      if (typeof v === 'object' || (typeof v === 'string' && (v === '' || ID_BREAKERS.test(v)))) {
        const where = Array.isArray(value) ? [...path, i] : path;
        this.errors.push(
          error(
            `${dottedPath(path)}: value ${JSON.stringify(v)} cannot be part of a stage id; expected a number, true/false, or a non-empty string without ',', '[', ']', '*' or spaces`,
            this.at(where),
          ),
        );
        return undefined;
      }
    }
    return values;
  }

  private valuesOf(value: Json, path: DocPath): Json[] | undefined {
    if (Array.isArray(value)) return value;
    const form = `${dottedPath(path)}: `;
    if (isObject(value) && 'range' in value) {
      const n = value.range;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0)
        return Array.from({ length: n }, (_, i) => i);
      this.errors.push(
        error(
          `${form}range must be a non-negative integer; got ${JSON.stringify(n)}`,
          this.at([...path, 'range']),
        ),
      );
      return undefined;
    }
    if (isObject(value) && 'keys' in value) {
      const obj = value.keys;
      if (obj !== undefined && isObject(obj)) return Object.keys(obj);
      this.errors.push(
        error(
          `${form}keys must name a mapping; got ${JSON.stringify(obj)}`,
          this.at([...path, 'keys']),
        ),
      );
      return undefined;
    }
    this.errors.push(
      error(
        `${form}wrong form; expected a list, { range: N } or { keys: OBJECT }, got ${JSON.stringify(value)}`,
        this.at(path),
      ),
    );
    return undefined;
  }

  /** The stage's fields with `${...}` filled in for one binding; undefined after errors. */
  private interpolated(name: string, stage: StageDocument, binding: Binding): Fields | undefined {
    const before = this.errors.length;
    const scope: Scope = { binding, params: this.params };
    const field = (key: keyof StageDocument, fallback: Json): Json =>
      stage[key] === undefined
        ? fallback
        : interpolateValue(
            stage[key] as Json,
            scope,
            ['stages', name, key],
            this.locateIn,
            this.errors,
          );
    const params =
      stage.kind === COMMAND_KIND
        ? { cmd: field('cmd', ''), outs: field('outs', []), env: field('env', {}) }
        : field('params', {});
    const fields = {
      params,
      inputs: field('inputs', {}),
      deps: field('deps', []),
      tools: field('tools', []),
    };
    return this.errors.length > before ? undefined : fields;
  }

  /** What interpolation may have broken: params a mapping, refs and paths strings inside. */
  private fieldsAreValid(id: string, name: string, kind: string, fields: Fields): boolean {
    const { params, inputs, deps, tools } = fields;
    if (!isObject(params)) {
      this.errors.push(
        error(
          `stage '${id}': params resolve to ${JSON.stringify(params)}; expected a mapping`,
          this.at(['stages', name, 'params']),
        ),
      );
      return false;
    }
    const outs = kind === COMMAND_KIND ? (params.outs ?? []) : [];
    const strings = [
      this.allStrings(id, name, 'inputs', inputs),
      this.allStrings(id, name, 'deps', deps),
      this.allStrings(id, name, 'outs', outs),
      this.allStrings(id, name, 'tools', tools),
    ];
    return (
      !strings.includes(false) &&
      this.pathsInsideWorkspace(name, 'deps', deps) &&
      this.pathsInsideWorkspace(name, 'outs', outs)
    );
  }

  private concrete(
    name: string,
    id: string,
    stage: StageDocument,
    binding: Binding,
    location: SourceLocation,
  ): StageDraft | undefined {
    const fields = this.interpolated(name, stage, binding);
    if (!fields || !this.fieldsAreValid(id, name, stage.kind, fields)) return undefined;
    const { inputs, deps, tools } = fields;
    const draft: StageDraft = {
      id,
      name,
      kind: stage.kind,
      matrix: binding,
      params: fields.params as JsonObject,
      rawInputs: Object.entries(inputs as JsonObject).map(([input, ref]) => ({
        name: input,
        ref: ref as string,
        path: ['stages', name, 'inputs', input],
      })),
      deps: deps as string[],
      tools: tools as string[],
      location,
      order: this.drafts.length,
    };
    this.drafts.push(draft);
    return draft;
  }

  /** inputs, deps and outs are strings even when a whole-value `${...}` filled them in. */
  private allStrings(id: string, name: string, field: string, values: Json): boolean {
    const entries = Array.isArray(values) ? values.entries() : Object.entries(values as JsonObject);
    for (const [key, value] of entries) {
      if (typeof value === 'string') continue;
      const path = ['stages', name, field, key];
      this.errors.push(
        error(
          `${dottedPath(path)} of stage '${id}': resolves to ${describeValue(value)}; expected a string`,
          this.at(path),
        ),
      );
      return false;
    }
    return true;
  }

  /** deps and outs are relative paths that stay inside their root: no `/x`, no `..`. */
  private pathsInsideWorkspace(name: string, field: 'deps' | 'outs', paths: Json): boolean {
    for (const [i, p] of (paths as Json[]).entries()) {
      const text = String(p);
      if (
        text === '' ||
        text.startsWith('/') ||
        /^[A-Za-z]:[\\/]/.test(text) ||
        text.split(/[\\/]/).includes('..')
      ) {
        this.errors.push(
          error(
            `stages.${name}.${field}[${i}]: '${text}' leaves the ${field === 'deps' ? 'workspace' : 'output directory'}; expected a relative path without '..'`,
            this.at(['stages', name, field, i]),
          ),
        );
        return false;
      }
    }
    return true;
  }

  /** Reports each distinct problem once per stage, not once per expansion. */
  private checkParams(draft: StageDraft, kind: StageKind, seen: Set<string>): void {
    const command = draft.kind === COMMAND_KIND;
    const label = (p: DocPath): string =>
      `${dottedPath(command ? p : ['params', ...p])} of stage '${draft.id}'`;
    for (const issue of validateAgainst(kind.paramsSchema, draft.params, label)) {
      const yamlPath = command
        ? ['stages', draft.name, ...issue.path]
        : ['stages', draft.name, 'params', ...issue.path];
      const location = this.at(yamlPath, issue.atKey ? 'key' : 'value');
      const dedupe = `${location.line}:${location.column}:${issue.message.replace(draft.id, draft.name)}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      this.errors.push(error(issue.message, location, issue.hint));
    }
  }
}

export interface Expansion {
  drafts: StageDraft[];
  errors: Diagnostic[];
}

export function expandStages(
  doc: PipelineDocument,
  params: JsonObject,
  registry: StageRegistry,
  source: YamlSource,
): Expansion {
  const expander = new Expander(doc, params, registry, source);
  expander.run();
  return { drafts: expander.drafts, errors: expander.errors };
}
