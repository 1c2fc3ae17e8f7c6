import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  type CommandSpec,
  commandHelp,
  flagsOf,
  type ParseResult,
  parse,
  programHelp,
} from '../../src/cli/args.js';
import { PROGRAM } from '../../src/cli/commands.js';

const parsed = (...argv: string[]) => {
  const result = parse(argv, PROGRAM);
  if (result.kind !== 'command')
    throw new Error(`expected a command, got ${JSON.stringify(result)}`);
  return result;
};

const errorOf = (...argv: string[]): string => {
  const result = parse(argv, PROGRAM);
  if (result.kind !== 'error') throw new Error(`expected an error, got ${result.kind}`);
  return result.message;
};

const kindOf = (result: ParseResult<CommandSpec>) =>
  result.kind === 'help' || result.kind === 'error'
    ? { kind: result.kind, command: result.command?.name }
    : { kind: result.kind };

describe('parse: the values handed to the commands', () => {
  it('gives `run` the keys and defaults commander gave it', () => {
    const run = parsed('run');
    expect(run.command.name).toBe('run');
    expect(run.args).toStrictEqual({ targets: [] });
    expect(run.options).toStrictEqual({
      workspace: '.',
      file: 'pipeline.yaml',
      set: [],
      force: [],
      assumeFresh: [],
      jobs: os.availableParallelism(),
      ui: true,
    });
    expect([...run.given]).toStrictEqual([]);
  });

  it('reads every kind of option into its camelCase key', () => {
    const run = parsed(
      'run',
      'a',
      '--dry-run',
      '--profile',
      'smoke',
      '--assume-fresh=train',
      '-j',
      '3',
      '--executor',
      'slurm',
      'b',
    );
    expect(run.args).toStrictEqual({ targets: ['a', 'b'] });
    expect(run.options).toMatchObject({
      dryRun: true,
      profile: 'smoke',
      assumeFresh: ['train'],
      jobs: 3,
      executor: 'slurm',
    });
    expect(run.given).toStrictEqual(
      new Set(['dryRun', 'profile', 'assumeFresh', 'jobs', 'executor']),
    );
  });

  it('collects a repeatable option in order', () => {
    const run = parsed('run', '--set', 'a=1', '--set=b=2', '--force', 'x', '--set', 'c=3');
    expect(run.options.set).toStrictEqual(['a=1', 'b=2', 'c=3']);
    expect(run.options.force).toStrictEqual(['x']);
  });

  it('turns --no-ui into ui: false', () => {
    expect(parsed('run', '--no-ui').options.ui).toBe(false);
    expect(parsed('run').options.ui).toBe(true);
  });

  it('takes a value as --opt=value, --opt value, -j 2 and -j2', () => {
    expect(parsed('run', '--jobs=2').options.jobs).toBe(2);
    expect(parsed('run', '--jobs', '2').options.jobs).toBe(2);
    expect(parsed('run', '-j', '2').options.jobs).toBe(2);
    expect(parsed('run', '-j2').options.jobs).toBe(2);
    expect(parsed('log', '-n5').options.limit).toBe(5);
    expect(parsed('report', '--against', 'r1', '-o', 'out.html').options).toMatchObject({
      against: 'r1',
      output: 'out.html',
    });
  });

  it('tells whether --jobs was given (a cluster default is larger than the CPUs)', () => {
    expect(parsed('run').given.has('jobs')).toBe(false);
    expect(parsed('run', '-j', String(os.availableParallelism())).given.has('jobs')).toBe(true);
  });

  it('accepts the global options before or after the command', () => {
    for (const argv of [
      ['-C', 'ws', '-f', 'p.yaml', '--verbose', 'status'],
      ['status', '-C', 'ws', '--file=p.yaml', '--verbose'],
      ['--workspace=ws', 'status', '-f', 'p.yaml', '--verbose'],
      ['-Cws', 'status', '--verbose', '-fp.yaml'],
    ]) {
      expect(parsed(...argv).options).toMatchObject({
        workspace: 'ws',
        file: 'p.yaml',
        verbose: true,
      });
    }
  });

  it('does not take a global option value for the command name', () => {
    const status = parsed('-C', 'run', 'status');
    expect(status.command.name).toBe('status');
    expect(status.options.workspace).toBe('run');
  });

  it('ends options at --', () => {
    expect(parsed('run', '--dry-run', '--', '--force', '-j').args).toStrictEqual({
      targets: ['--force', '-j'],
    });
  });

  it('keeps defaults of the other commands', () => {
    expect(parsed('dag').options.format).toBe('text');
    expect(parsed('log').options.limit).toBe(20);
    expect(parsed('diff').options.maxValues).toBe(40);
    expect(parsed('verify').options.jobs).toBe(os.availableParallelism());
    expect(parsed('why', 'artifacts/x').args).toStrictEqual({ target: 'artifacts/x' });
    expect(parsed('why', 'x', '--prov-json').options.provJson).toBe(true);
  });
});

describe('parse: usage errors', () => {
  it('rejects a value outside the choices', () => {
    expect(errorOf('dag', '--format', 'png')).toBe(
      "option '--format <format>' argument 'png' is invalid: expected one of text, dot, mermaid",
    );
    expect(errorOf('run', '--executor=k8s')).toContain('expected one of local, slurm');
  });

  it('rejects a count that is not a whole number >= 1', () => {
    for (const bad of ['0', '-1', '1.5', 'x', '']) {
      expect(errorOf('run', '--jobs', bad)).toBe(
        `option '-j, --jobs <n>' argument '${bad}' is invalid: expected a whole number >= 1`,
      );
    }
    expect(errorOf('log', '-n2x')).toContain("'2x' is invalid");
  });

  it('rejects an option without its value, and a value for a flag', () => {
    expect(errorOf('run', '--jobs')).toBe("option '-j, --jobs <n>' argument missing");
    expect(errorOf('status', '-C')).toBe("option '-C, --workspace <dir>' argument missing");
    expect(errorOf('run', '--dry-run=yes')).toBe("option '--dry-run' takes no value");
  });

  it('requires a required option and argument', () => {
    expect(errorOf('report')).toBe("required option '--against <run>' not specified");
    expect(errorOf('why')).toBe("missing required argument 'target'");
  });

  it('rejects more arguments than the command takes', () => {
    expect(errorOf('dag', 'extra')).toBe("too many arguments for 'dag': expected 0, got 1");
    expect(errorOf('why', 'a', 'b')).toBe("too many arguments for 'why': expected 1, got 2");
  });

  it('suggests the closest option to an unknown one', () => {
    expect(errorOf('run', '--jsno')).toBe("unknown option '--jsno' (did you mean '--json'?)");
    expect(errorOf('run', '--dryrun')).toBe(
      "unknown option '--dryrun' (did you mean '--dry-run'?)",
    );
    expect(errorOf('--verbos', 'run')).toBe(
      "unknown option '--verbos' (did you mean '--verbose'?)",
    );
    expect(errorOf('run', '--bogus')).toBe("unknown option '--bogus'");
    expect(errorOf('run', '-x')).toBe("unknown option '-x'");
  });

  it('knows only the options of the command it parses', () => {
    expect(errorOf('status', '--no-ui')).toMatch(/^unknown option '--no-ui'/);
    expect(errorOf('log', '-j', '2')).toBe("unknown option '-j'");
    // Before the command only the program's own options are known.
    expect(errorOf('--json', 'status')).toBe("unknown option '--json'");
  });

  it('suggests the closest command to an unknown one', () => {
    expect(errorOf('stauts')).toBe("unknown command 'stauts' (did you mean 'status'?)");
    expect(errorOf('verfy')).toBe("unknown command 'verfy' (did you mean 'verify'?)");
    expect(errorOf('deploy')).toBe("unknown command 'deploy'");
  });

  it('names the command an error belongs to, for the hint', () => {
    expect(kindOf(parse(['run', '--bogus'], PROGRAM))).toStrictEqual({
      kind: 'error',
      command: 'run',
    });
    expect(kindOf(parse(['bogus'], PROGRAM))).toStrictEqual({ kind: 'error', command: undefined });
  });
});

describe('parse: help and version', () => {
  it('asks for help at the program or the command level', () => {
    const cases: [string[], string | undefined][] = [
      [['--help'], undefined],
      [['-h'], undefined],
      [['help'], undefined],
      [['run', '--help'], 'run'],
      [['--help', 'run'], 'run'],
      [['dag', '-h', '--format', 'png'], 'dag'],
      [['help', 'verify'], 'verify'],
    ];
    for (const [argv, command] of cases) {
      expect(kindOf(parse(argv, PROGRAM)), argv.join(' ')).toStrictEqual({ kind: 'help', command });
    }
  });

  it('answers --version and -V anywhere', () => {
    for (const argv of [['--version'], ['-V'], ['run', '--version'], ['-C', 'x', 'status', '-V']]) {
      expect(parse(argv, PROGRAM).kind).toBe('version');
    }
  });

  it('takes a value that looks like a flag as the value, not as a request', () => {
    expect(parsed('run', '--set', '--help').options.set).toStrictEqual(['--help']);
  });

  it('says when there is no command, and when help names no command', () => {
    expect(parse([], PROGRAM).kind).toBe('no-command');
    expect(parse(['--verbose'], PROGRAM).kind).toBe('no-command');
    expect(errorOf('help', 'stauts')).toBe("unknown command 'stauts' (did you mean 'status'?)");
  });
});

describe('help text', () => {
  const longs = (c: CommandSpec) => (c.options ?? []).map(flagsOf);

  it('lists every command, every global option, help and version', () => {
    const help = programHelp(PROGRAM, 80);
    expect(help.startsWith('Usage: advrob-dag [options] [command]\n')).toBe(true);
    for (const c of PROGRAM.commands) expect(help).toMatch(new RegExp(`^  ${c.name} `, 'm'));
    for (const flags of PROGRAM.globals.map(flagsOf)) expect(help).toContain(`  ${flags}  `);
    expect(help).toContain('-V, --version');
    expect(help).toContain('help [command]');
  });

  it('lists each command with its arguments, options, defaults and choices', () => {
    for (const c of PROGRAM.commands) {
      const help = commandHelp(PROGRAM, c, 80);
      expect(help.split('\n')[0]).toMatch(new RegExp(`^Usage: advrob-dag ${c.name} \\[options\\]`));
      for (const a of c.arguments ?? []) expect(help).toMatch(new RegExp(`^  ${a.name} `, 'm'));
      for (const flags of [...longs(c), '-h, --help', ...PROGRAM.globals.map(flagsOf)]) {
        expect(help, `${c.name}: ${flags}`).toContain(`  ${flags}  `);
      }
    }
    const run = commandHelp(PROGRAM, parsed('run').command, 80);
    expect(run).toContain('Usage: advrob-dag run [options] [targets...]');
    expect(run).toContain(`(default: ${os.availableParallelism()})`);
    expect(run).toMatch(/\(choices: "local",\s+"slurm"\)/);
    const dag = commandHelp(PROGRAM, parsed('dag').command, 80);
    expect(dag).toMatch(/\(choices: "text", "dot", "mermaid",\s+default: "text"\)/);
    expect(commandHelp(PROGRAM, parsed('why', 'x').command, 80)).toContain(
      'Usage: advrob-dag why [options] <target>',
    );
  });

  it('wraps descriptions beside the term column', () => {
    for (const width of [80, 120]) {
      const help = commandHelp(PROGRAM, parsed('run').command, width);
      for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(width);
    }
  });
});
