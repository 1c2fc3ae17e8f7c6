import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { Executor } from '../../src/dag/executor.js';
import { StageLog } from '../../src/dag/stage-log.js';

// Linux's /dev/full answers every write with ENOSPC: a full disk without a filesystem.
const fullDevice = fs.existsSync('/dev/full');
const dist = new URL('../../dist/src/', import.meta.url);

describe('a stage log on a full disk', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  test.runIf(fullDevice)('keeps the failure instead of throwing, once', async () => {
    const seen: string[] = [];
    const log = new StageLog('/dev/full', (f) => seen.push(f.message));
    log.write('one\n');
    log.write('two\n');
    await log.close();
    expect(log.failure?.diskFull).toBe(true);
    expect(log.failure?.message).toMatch(/^disk full writing the log \/dev\/full/);
    expect(seen).toHaveLength(1);
  });

  test('a log that cannot be opened is a failure, not an exception', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-log-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'file'), '');
    const log = new StageLog(path.join(dir, 'file', 'x.log'));
    log.write('lost\n');
    await log.close();
    expect(log.failure).toMatchObject({ diskFull: false });
    expect(log.failure?.message).toContain('could not write the log');
  });

  test('is made on the first line, in order, and only for a failure when nothing came', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-log-'));
    dirs.push(dir);
    const quiet = new StageLog(path.join(dir, 'run', 'quiet.log'));
    await quiet.close();
    expect(fs.existsSync(quiet.file)).toBe(false);

    const talker = new StageLog(path.join(dir, 'run', 'talker.log'));
    talker.write('one\n');
    talker.write('two\n');
    expect(fs.existsSync(talker.file)).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    talker.write('three\n');
    await talker.close();
    expect(fs.readFileSync(talker.file, 'utf8')).toBe('one\ntwo\nthree\n');
    talker.write('after close\n');
    expect(fs.readFileSync(talker.file, 'utf8')).toBe('one\ntwo\nthree\n');

    const failed = new StageLog(path.join(dir, 'run', 'failed.log'));
    await failed.close({ evenIfEmpty: true });
    expect(fs.readFileSync(failed.file, 'utf8')).toBe('');
    expect(failed.failure).toBeUndefined();
  });

  test.runIf(fullDevice)('fails the stage as disk-full and stops its process', async () => {
    const { LocalExecutor } = (await import(new URL('dag/executor.js', dist).href)) as {
      LocalExecutor: new () => Executor;
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-log-'));
    dirs.push(dir);
    const outcome = await new LocalExecutor().execute(
      {
        module: new URL('stages/command.js', dist).href,
        kind: 'command',
        stageId: 'talker',
        params: { cmd: 'echo hello; sleep 30; touch out', outs: ['out'], env: {} },
        inputs: {},
        deps: [],
        outDir: dir,
        scratchDir: path.join(dir, 'scratch'),
        workspace: dir,
        seed: 1,
        logPath: '/dev/full',
        key: 'f'.repeat(64),
      },
      { progress: () => {}, log: () => {}, annotate: () => {} },
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({ ok: false, cause: 'disk-full' });
    expect(outcome.ok || outcome.message).toMatch(/disk full writing the log \/dev\/full/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });
});
