#!/usr/bin/env node
/**
 * The `advrob-dag` command line: parses flags with commander and hands each command to its
 * module. Owns exit codes: 0 ok, 1 a stage failed (or verify found damage), 2 the user's
 * input is wrong (pipeline.yaml, --set, flags; no stack trace unless --verbose), 3 the
 * workspace is locked, 130 interrupted. Each command's module is imported when that command
 * runs, so `status` does not load SQLite and `run` does not load `verify`.
 */
import * as os from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { formatDiagnostic, UserError } from '../dag/diagnostics.js';
import { diskFullMessage, isDiskFull } from '../dag/disk-full.js';
import type { DagFormat } from './dag-command.js';
import type { DiffFlags } from './diff-command.js';
import { EXIT, ExitError } from './output.js';
import type { ReportFlags } from './report-command.js';
import type { RunFlags } from './run-command.js';
import {
  type GlobalOptions,
  openPipeline,
  type PipelineOptions,
  resolveWorkspace,
  toolVersion,
} from './workspace.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
};

const pipelineOptions = (cmd: Command): Command =>
  cmd
    .option('--profile <name>', 'apply a profile from pipeline.yaml')
    .option(
      '--set <path=value>',
      'override a parameter (repeatable), e.g. --set attacks.pgd.eps=0.1',
      collect,
      [],
    );

/** The command's own options merged with the program's (-C, -f, --verbose). */
const optionsOf = <T>(cmd: Command): T & GlobalOptions =>
  cmd.optsWithGlobals() as T & GlobalOptions;

const done = (code: number): void => {
  process.exitCode = code;
};

function buildProgram(): Command {
  const program = new Command('advrob-dag')
    .description(
      'Reproducible ML pipelines: a content-hashed DAG of stages, cached runs, provenance.',
    )
    .version(toolVersion())
    .option('-C, --workspace <dir>', 'workspace directory (where pipeline.yaml is)', '.')
    .option('-f, --file <file>', 'pipeline file, relative to the workspace', 'pipeline.yaml')
    .option('--verbose', 'show stack traces on errors')
    .showHelpAfterError()
    .exitOverride();

  pipelineOptions(
    program
      .command('run')
      .description(
        'run the stages that are not up to date (all, or the targets and what they read)',
      )
      .argument(
        '[targets...]',
        'stage ids or stage names (a foreach name means all its expansions)',
      ),
  )
    .option('--dry-run', 'print what would run and why, run nothing')
    .option(
      '--force <stage>',
      'rerun this stage or group even if up to date (repeatable)',
      collect,
      [],
    )
    .option(
      '--assume-fresh <stage>',
      'accept a stage whose only changes are its code, packages or tools (repeatable)',
      collect,
      [],
    )
    .option(
      '-j, --jobs <n>',
      'stages in parallel (with --executor slurm: jobs pending or running, default 100)',
      positiveInt,
      os.availableParallelism(),
    )
    .option('--json', 'write the event stream as NDJSON')
    .option('--no-ui', 'plain log lines even on a terminal')
    .addOption(
      new Option(
        '--executor <name>',
        'where stages run (default: pipeline.yaml runtime.executor, else local)',
      ).choices(['local', 'slurm']),
    )
    .option(
      '--backend <name>',
      'ML backend for the stages: auto, webgpu, wasm, cpu, tensorflow, tensorflow-gpu (default: $ADVROB_BACKEND or auto; not part of the cache key)',
    )
    .action(async (targets: string[], _flags, cmd: Command) => {
      const o = optionsOf<RunFlags>(cmd);
      const { runCommand } = await import('./run-command.js');
      o.jobsGiven = cmd.getOptionValueSource('jobs') !== 'default';
      done(await runCommand(targets, o, o));
    });

  pipelineOptions(
    program
      .command('status')
      .description('say for every stage whether it is up to date, and why not')
      .argument('[targets...]', 'stage ids or stage names'),
  )
    .option('--json', 'print a JSON document for scripts')
    .option('--detail', 'one line per stage that will run')
    .action(async (targets: string[], _flags, cmd: Command) => {
      const o = optionsOf<PipelineOptions & { json?: boolean; detail?: boolean }>(cmd);
      const pipeline = await openPipeline(o, o);
      const { printStatus } = await import('./status-command.js');
      done(
        await printStatus(pipeline, resolveWorkspace(o).root, targets, {
          json: o.json === true,
          detail: o.detail === true,
        }),
      );
    });

  pipelineOptions(program.command('dag').description('print the pipeline graph'))
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['text', 'dot', 'mermaid'])
        .default('text'),
    )
    .option('--expand', 'one node per concrete stage instead of per foreach group (text)')
    .action(async (_flags, cmd: Command) => {
      const o = optionsOf<PipelineOptions & { format: DagFormat; expand?: boolean }>(cmd);
      const pipeline = await openPipeline(o, o);
      const { formatDag } = await import('./dag-command.js');
      process.stdout.write(formatDag(pipeline, o.format, o.expand === true));
      done(EXIT.ok);
    });

  program
    .command('why')
    .description('trace an artifact back to its sources, with the params at each step')
    .argument('<target>', 'a path under artifacts/, a workspace file, or a sha256 digest')
    .option('--prov-json', 'print W3C PROV-JSON instead of text')
    .action(async (target: string, _flags, cmd: Command) => {
      const o = optionsOf<{ provJson?: boolean }>(cmd);
      const { why } = await import('./why-command.js');
      process.stdout.write(
        why(target, resolveWorkspace(o).root, { provJson: o.provJson === true }),
      );
      done(EXIT.ok);
    });

  program
    .command('log')
    .description('list past runs from the provenance database')
    .option('-n, --limit <n>', 'how many runs', positiveInt, 20)
    .option('--json', 'print JSON')
    .action(async (_flags, cmd: Command) => {
      const o = optionsOf<{ limit: number; json?: boolean }>(cmd);
      const { runLog } = await import('./log-command.js');
      process.stdout.write(
        runLog(resolveWorkspace(o).root, { limit: o.limit, json: o.json === true }),
      );
      done(EXIT.ok);
    });

  pipelineOptions(
    program
      .command('diff')
      .description(
        'what changed between two runs: params, stages rerun or cached, every number in their JSON/CSV outputs',
      )
      .argument(
        '[runs...]',
        'RUN_A [RUN_B] ids (or prefixes) from `log`; default the last two runs, one id: it vs the latest',
      ),
  )
    .option('--json', 'print JSON')
    .option('--markdown', 'print Markdown (for notes or a pull request)')
    .option(
      '--max-values <n>',
      'a series with more changed values is shown as its mean',
      positiveInt,
      40,
    )
    .action(async (runs: string[], _flags, cmd: Command) => {
      const o = optionsOf<DiffFlags>(cmd);
      const { diffCommand } = await import('./diff-command.js');
      done(await diffCommand(runs, o, resolveWorkspace(o).root));
    });

  program
    .command('report')
    .description(
      "write report.html of a run with another run's curves drawn dashed in the same figures",
    )
    .requiredOption('--against <run>', 'the run drawn dashed (an id or prefix from `log`)')
    .option('--run <run>', 'the run reported (default: the latest)')
    .option('-o, --output <file>', 'where to write it (default: report-RUN-against-OTHER.html)')
    .action(async (_flags, cmd: Command) => {
      const o = optionsOf<ReportFlags>(cmd);
      const { reportCommand } = await import('./report-command.js');
      done(await reportCommand(o, resolveWorkspace(o).root));
    });

  program
    .command('gc')
    .description(
      'keep the latest output of every stage, delete other records and unreferenced objects',
    )
    .option('--dry-run', 'report what would be deleted')
    .option('--scratch', 'also delete the resumable work of unfinished stages (cache/scratch)')
    .option('--json', 'print JSON')
    .action(async (_flags, cmd: Command) => {
      const o = optionsOf<{ dryRun?: boolean; scratch?: boolean; json?: boolean }>(cmd);
      const { gcCommand } = await import('./maintenance-command.js');
      done(await gcCommand(o, o));
    });

  pipelineOptions(
    program
      .command('verify')
      .description(
        're-hash the store and report corruption; --recompute re-executes stages and compares',
      )
      .argument('[targets...]', 'with --recompute: stage ids or names (default all)'),
  )
    .option('--recompute', 're-execute up-to-date stages and compare output digests')
    .option(
      '--repair',
      'delete damaged objects and the records that use them, so `run` re-executes those stages',
    )
    .option(
      '-j, --jobs <n>',
      'stages recomputed in parallel',
      positiveInt,
      os.availableParallelism(),
    )
    .option('--json', 'print JSON')
    .action(async (targets: string[], _flags, cmd: Command) => {
      const o = optionsOf<
        PipelineOptions & { recompute?: boolean; repair?: boolean; json?: boolean; jobs: number }
      >(cmd);
      const { verifyCommand } = await import('./maintenance-command.js');
      done(await verifyCommand(targets, o, o));
    });

  program
    .command('doctor')
    .description('report the ML backend in use and why the others are not')
    .action(async () => {
      const { doctorCommand } = await import('./maintenance-command.js');
      done(await doctorCommand());
    });

  return program;
}

function report(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    return err.exitCode === 0 ||
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version'
      ? EXIT.ok
      : EXIT.usage;
  }
  if (err instanceof UserError) {
    for (const d of err.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    if (verbose) process.stderr.write(`${err.stack}\n`);
    return EXIT.usage;
  }
  if (err instanceof ExitError) {
    process.stderr.write(`advrob-dag: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (isDiskFull(e)) {
    const where = (e as NodeJS.ErrnoException).path ?? process.cwd();
    process.stderr.write(`advrob-dag: ${diskFullMessage(where, 'writing', e.message)}\n`);
    return EXIT.failed;
  }
  process.stderr.write(`advrob-dag: ${e.message}\n`);
  if (verbose) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('(run with --verbose for the stack trace)\n');
  return EXIT.failed;
}

// A reader that stops early (`advrob-dag dag --format dot | head`) closes the pipe: that is
// the reader's choice, not an error, so the command ends quietly, as Unix tools do on SIGPIPE.
// `run` listens too and stops in order instead (its own listener decides the exit code).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  if (process.stdout.listenerCount('error') === 1) process.exit(EXIT.ok);
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.exitCode = report(err, process.argv.includes('--verbose'));
}
