/**
 * The `advrob-dag` commands: each one's arguments and options (the table `parse` and the help
 * read) and what it does. A command's module is imported when that command runs, so `status`
 * does not load SQLite and `run` does not load `verify`.
 */
import * as os from 'node:os';
import type {
  ArgumentValues,
  CommandSpec,
  OptionSpec,
  OptionValues,
  Parsed,
  ProgramSpec,
} from './args.js';
import { EXIT } from './output.js';
import { openPipeline, resolveWorkspace } from './workspace.js';

const GLOBALS = [
  {
    long: 'workspace',
    short: 'C',
    value: 'dir',
    kind: 'string',
    description: 'workspace directory (where pipeline.yaml is)',
    default: '.',
  },
  {
    long: 'file',
    short: 'f',
    value: 'file',
    kind: 'string',
    description: 'pipeline file, relative to the workspace',
    default: 'pipeline.yaml',
  },
  { long: 'verbose', kind: 'boolean', description: 'show stack traces on errors' },
] as const satisfies readonly OptionSpec[];

/** The options of every command that loads the pipeline. */
const PIPELINE = [
  {
    long: 'profile',
    value: 'name',
    kind: 'string',
    description: 'apply a profile from pipeline.yaml',
  },
  {
    long: 'set',
    value: 'path=value',
    kind: 'repeatable',
    description: 'override a parameter (repeatable), e.g. --set attacks.pgd.eps=0.1',
  },
] as const satisfies readonly OptionSpec[];

const JSON_OUTPUT = { long: 'json', kind: 'boolean', description: 'print JSON' } as const;

const jobs = (description: string) =>
  ({
    long: 'jobs',
    short: 'j',
    value: 'n',
    kind: 'positive-int',
    description,
    default: os.availableParallelism(),
  }) as const;

type Field<S, K extends string> = S extends { readonly [P in K]: infer V } ? V : undefined;

/** What a command's action receives: its arguments and options, typed by its spec. */
interface Invocation<S extends CommandSpec> {
  args: ArgumentValues<Field<S, 'arguments'>>;
  options: OptionValues<Field<S, 'options'>> & OptionValues<typeof GLOBALS>;
  given: ReadonlySet<string>;
}

export interface Command extends CommandSpec {
  /** Runs the command; resolves to its exit code. */
  run(invocation: Parsed): Promise<number>;
}

/** The values `parse` builds from a spec are those its Invocation type describes. */
const command = <const S extends CommandSpec>(
  spec: S,
  run: (invocation: Invocation<S>) => Promise<number>,
): Command => ({ ...spec, run: run as Command['run'] });

const targets = (description: string) =>
  ({ name: 'targets', arity: 'variadic', description }) as const;

const run = command(
  {
    name: 'run',
    description: 'run the stages that are not up to date (all, or the targets and what they read)',
    arguments: [targets('stage ids or stage names (a foreach name means all its expansions)')],
    options: [
      ...PIPELINE,
      {
        long: 'dry-run',
        kind: 'boolean',
        description: 'print what would run and why, run nothing',
      },
      {
        long: 'force',
        value: 'stage',
        kind: 'repeatable',
        description: 'rerun this stage or group even if up to date (repeatable)',
      },
      {
        long: 'assume-fresh',
        value: 'stage',
        kind: 'repeatable',
        description:
          'accept a stage whose only changes are its code, packages or tools (repeatable)',
      },
      jobs('stages in parallel (with --executor slurm: jobs pending or running, default 100)'),
      { long: 'json', kind: 'boolean', description: 'write the event stream as NDJSON' },
      { long: 'no-ui', kind: 'boolean', description: 'plain log lines even on a terminal' },
      {
        long: 'executor',
        value: 'name',
        kind: 'string',
        choices: ['local', 'slurm'],
        description: 'where stages run (default: pipeline.yaml runtime.executor, else local)',
      },
      {
        long: 'backend',
        value: 'name',
        kind: 'string',
        description:
          'ML backend for the stages: auto, webgpu, wasm, cpu, tensorflow, tensorflow-gpu (default: $ADVROB_BACKEND or auto; not part of the cache key)',
      },
    ],
  },
  async ({ args, options, given }) => {
    const { runCommand } = await import('./run-command.js');
    // A cluster's default is larger than this machine's CPUs, so `run` must know.
    const o = { ...options, jobsGiven: given.has('jobs') };
    return runCommand(args.targets, o, o);
  },
);

const status = command(
  {
    name: 'status',
    description: 'say for every stage whether it is up to date, and why not',
    arguments: [targets('stage ids or stage names')],
    options: [
      ...PIPELINE,
      { long: 'json', kind: 'boolean', description: 'print a JSON document for scripts' },
      { long: 'detail', kind: 'boolean', description: 'one line per stage that will run' },
    ],
  },
  async ({ args, options }) => {
    const pipeline = await openPipeline(options, options);
    const { printStatus } = await import('./status-command.js');
    return printStatus(pipeline, resolveWorkspace(options).root, args.targets, {
      json: options.json === true,
      detail: options.detail === true,
    });
  },
);

const dag = command(
  {
    name: 'dag',
    description: 'print the pipeline graph',
    options: [
      ...PIPELINE,
      {
        long: 'format',
        value: 'format',
        kind: 'string',
        choices: ['text', 'dot', 'mermaid'],
        default: 'text',
        description: 'output format',
      },
      {
        long: 'expand',
        kind: 'boolean',
        description: 'one node per concrete stage instead of per foreach group (text)',
      },
    ],
  },
  async ({ options }) => {
    const pipeline = await openPipeline(options, options);
    const { formatDag } = await import('./dag-command.js');
    process.stdout.write(formatDag(pipeline, options.format, options.expand === true));
    return EXIT.ok;
  },
);

const why = command(
  {
    name: 'why',
    description: 'trace an artifact back to its sources, with the params at each step',
    arguments: [
      {
        name: 'target',
        arity: 'required',
        description: 'a path under artifacts/, a workspace file, or a sha256 digest',
      },
    ],
    options: [
      { long: 'prov-json', kind: 'boolean', description: 'print W3C PROV-JSON instead of text' },
    ],
  },
  async ({ args, options }) => {
    const { why } = await import('./why-command.js');
    process.stdout.write(
      why(args.target, resolveWorkspace(options).root, { provJson: options.provJson === true }),
    );
    return EXIT.ok;
  },
);

const log = command(
  {
    name: 'log',
    description: 'list past runs from the provenance database',
    options: [
      {
        long: 'limit',
        short: 'n',
        value: 'n',
        kind: 'positive-int',
        default: 20,
        description: 'how many runs',
      },
      JSON_OUTPUT,
    ],
  },
  async ({ options }) => {
    const { runLog } = await import('./log-command.js');
    process.stdout.write(
      runLog(resolveWorkspace(options).root, {
        limit: options.limit,
        json: options.json === true,
      }),
    );
    return EXIT.ok;
  },
);

const diff = command(
  {
    name: 'diff',
    description:
      'what changed between two runs: params, stages rerun or cached, every number in their JSON/CSV outputs',
    arguments: [
      {
        name: 'runs',
        arity: 'variadic',
        description:
          'RUN_A [RUN_B] ids (or prefixes) from `log`; default the last two runs, one id: it vs the latest',
      },
    ],
    options: [
      ...PIPELINE,
      JSON_OUTPUT,
      {
        long: 'markdown',
        kind: 'boolean',
        description: 'print Markdown (for notes or a pull request)',
      },
      {
        long: 'max-values',
        value: 'n',
        kind: 'positive-int',
        default: 40,
        description: 'a series with more changed values is shown as its mean',
      },
    ],
  },
  async ({ args, options }) => {
    const { diffCommand } = await import('./diff-command.js');
    return diffCommand(args.runs, options, resolveWorkspace(options).root);
  },
);

const report = command(
  {
    name: 'report',
    description:
      "write report.html of a run with another run's curves drawn dashed in the same figures",
    options: [
      {
        long: 'against',
        value: 'run',
        kind: 'string',
        required: true,
        description: 'the run drawn dashed (an id or prefix from `log`)',
      },
      {
        long: 'run',
        value: 'run',
        kind: 'string',
        description: 'the run reported (default: the latest)',
      },
      {
        long: 'output',
        short: 'o',
        value: 'file',
        kind: 'string',
        description: 'where to write it (default: report-RUN-against-OTHER.html)',
      },
    ],
  },
  async ({ options }) => {
    const { reportCommand } = await import('./report-command.js');
    return reportCommand(options, resolveWorkspace(options).root);
  },
);

const gc = command(
  {
    name: 'gc',
    description:
      'keep the latest output of every stage, delete other records and unreferenced objects',
    options: [
      { long: 'dry-run', kind: 'boolean', description: 'report what would be deleted' },
      {
        long: 'scratch',
        kind: 'boolean',
        description: 'also delete the resumable work of unfinished stages (cache/scratch)',
      },
      JSON_OUTPUT,
    ],
  },
  async ({ options }) => {
    const { gcCommand } = await import('./maintenance-command.js');
    return gcCommand(options, options);
  },
);

const verify = command(
  {
    name: 'verify',
    description:
      're-hash the store and report corruption; --recompute re-executes stages and compares',
    arguments: [targets('with --recompute: stage ids or names (default all)')],
    options: [
      ...PIPELINE,
      {
        long: 'recompute',
        kind: 'boolean',
        description: 're-execute up-to-date stages and compare output digests',
      },
      {
        long: 'repair',
        kind: 'boolean',
        description:
          'delete damaged objects and the records that use them, so `run` re-executes those stages',
      },
      jobs('stages recomputed in parallel'),
      JSON_OUTPUT,
    ],
  },
  async ({ args, options }) => {
    const { verifyCommand } = await import('./maintenance-command.js');
    return verifyCommand(args.targets, options, options);
  },
);

const doctor = command(
  { name: 'doctor', description: 'report the ML backend in use and why the others are not' },
  async () => {
    const { doctorCommand } = await import('./maintenance-command.js');
    return doctorCommand();
  },
);

export const PROGRAM: ProgramSpec<Command> = {
  name: 'advrob-dag',
  description:
    'Reproducible ML pipelines: a content-hashed DAG of stages, cached runs, provenance.',
  globals: GLOBALS,
  commands: [run, status, dag, why, log, diff, report, gc, verify, doctor],
};
