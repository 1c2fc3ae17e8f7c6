#!/usr/bin/env node
/**
 * The `advrob-dag` command line: parses the arguments against the command table
 * (`commands.ts`) and runs the command. Owns exit codes: 0 ok, 1 a stage failed (or verify
 * found damage), 2 the user's input is wrong (pipeline.yaml, --set, flags; no stack trace
 * unless --verbose), 3 the workspace is locked, 130 interrupted.
 */
import { formatDiagnostic, UserError } from '../dag/diagnostics.js';
import { diskFullMessage, isDiskFull } from '../dag/disk-full.js';
import { commandHelp, parse, programHelp } from './args.js';
import { PROGRAM } from './commands.js';
import { EXIT, ExitError } from './output.js';
import { toolVersion } from './workspace.js';

/** Help on stdout when asked for, on stderr after a usage error; wrapped to that terminal. */
const widthOf = (stream: NodeJS.WriteStream): number =>
  stream.isTTY ? (stream.columns ?? 80) : 80;

/** Parses the arguments and runs the command; resolves to the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, PROGRAM);
  switch (parsed.kind) {
    case 'version':
      process.stdout.write(`${toolVersion()}\n`);
      return EXIT.ok;
    case 'help':
      process.stdout.write(
        parsed.command === undefined
          ? programHelp(PROGRAM, widthOf(process.stdout))
          : commandHelp(PROGRAM, parsed.command, widthOf(process.stdout)),
      );
      return EXIT.ok;
    case 'no-command':
      process.stderr.write(programHelp(PROGRAM, widthOf(process.stderr)));
      return EXIT.usage;
    case 'error': {
      const help = parsed.command === undefined ? '' : ` ${parsed.command.name}`;
      process.stderr.write(
        `error: ${parsed.message}\n(run '${PROGRAM.name}${help} --help' for usage)\n`,
      );
      return EXIT.usage;
    }
    case 'command':
      return parsed.command.run(parsed);
  }
}

function report(err: unknown, verbose: boolean): number {
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
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.exitCode = report(err, process.argv.includes('--verbose'));
}
