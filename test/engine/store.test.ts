import { spawnSync } from 'node:child_process';
import fsModule, * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyRecord } from '../../src/dag/key.js';
import { acquireLock } from '../../src/dag/lock.js';
import { Scheduler } from '../../src/dag/scheduler.js';
import { SlotQueue } from '../../src/dag/slot-queue.js';
import { StatCache } from '../../src/dag/stat-cache.js';
import { hashTree, Store, sha256, subtreeDigest } from '../../src/dag/store.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-store-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const recordOf = (key: string) => (outputTree: string) => ({
  stageId: 's',
  kind: 'k',
  key,
  keyRecord: { kind: 'k' } as unknown as KeyRecord,
  outputTree,
  origin: 'ran' as const,
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  durationMs: 1000,
});

describe('Store', () => {
  it('commits a tree into objects whose names are the sha256 of their bytes, then its record', async () => {
    const root = tmp();
    const store = new Store(path.join(root, 'cache'));
    const out = await store.makeTempDir('s');
    fs.mkdirSync(path.join(out, 'sub'));
    fs.writeFileSync(path.join(out, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(out, 'sub', 'b.txt'), 'beta\n');
    const before = hashTree(out);
    const key = sha256('key');
    const { treeDigest, manifest } = await store.commit(out, recordOf(key));
    expect(treeDigest).toBe(before);
    expect(manifest.entries.map((e) => [e.path, e.digest, e.size])).toEqual([
      ['a.txt', sha256('alpha\n'), 6],
      ['sub/b.txt', sha256('beta\n'), 5],
    ]);
    expect(store.readObject(sha256('beta\n')).toString()).toBe('beta\n');
    expect(sha256(store.readObject(treeDigest))).toBe(treeDigest);
    expect(store.readRecord(key)).toMatchObject({ key, outputTree: treeDigest });
    expect(subtreeDigest(manifest, 'a.txt')).toBe(sha256('alpha\n'));
    expect(subtreeDigest(manifest, 'nope')).toBeUndefined();
    const sub = await store.makeTempDir('t');
    fs.writeFileSync(path.join(sub, 'b.txt'), 'beta\n');
    expect(subtreeDigest(manifest, 'sub')).toBe(hashTree(sub));
  });

  it('publishes objects, then the manifest, then the record, each only once durable', async () => {
    const root = tmp();
    const store = new Store(path.join(root, 'cache'));
    const out = await store.makeTempDir('s');
    fs.writeFileSync(path.join(out, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(out, 'b.txt'), 'beta\n');
    const key = sha256('key');
    const events: string[] = [];
    const name = (p: string): string =>
      p.includes('/stages/') ? 'record' : p.endsWith('.txt') ? 'output' : 'manifest';
    const opened = new Map<number, string>();
    const restore = patchFs({
      openSync:
        (real) =>
        (file, ...rest) => {
          const fd = real(file, ...rest);
          opened.set(fd, String(file));
          return fd;
        },
      open: (real) => (file, flags, mode, done) =>
        real(file, flags, mode, (err, fd) => {
          if (!err) opened.set(fd, String(file));
          done(err, fd);
        }),
      fsync: (real) => (fd, done) => {
        events.push(`fsync ${name(opened.get(fd) ?? '')}`);
        real(fd, done);
      },
      renameSync: (real) => (from, to) => {
        events.push(`rename ${name(String(from))}`);
        real(from, to);
      },
    });
    try {
      const { treeDigest } = await store.commit(out, recordOf(key));
      expect(store.readRecord(key)?.outputTree).toBe(treeDigest);
    } finally {
      restore();
    }
    const renames = events.filter((e) => e.startsWith('rename'));
    expect(renames).toEqual(['rename output', 'rename output', 'rename manifest', 'rename record']);
    expect(events.slice(0, events.indexOf('rename output')).sort()).toEqual([
      'fsync manifest',
      'fsync output',
      'fsync output',
      'fsync record',
    ]);
  });

  it('leaves no temp file and no record when a content cannot be made durable', async () => {
    const root = tmp();
    const store = new Store(path.join(root, 'cache'));
    const out = await store.makeTempDir('s');
    fs.writeFileSync(path.join(out, 'a.txt'), 'alpha\n');
    const key = sha256('key');
    let calls = 0;
    const restore = patchFs({
      fsync: (real) => (fd, done) => {
        calls += 1;
        if (calls === 1)
          done(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' }));
        else real(fd, done);
      },
    });
    try {
      await expect(store.commit(out, recordOf(key))).rejects.toThrow('ENOSPC');
    } finally {
      restore();
    }
    expect(store.readRecordFile(key)).toBeUndefined();
    const left = (dir: string): string[] =>
      fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String) : [];
    expect(left(store.stagesDir)).toEqual([]);
    expect(
      left(store.objectsDir).filter(
        (n) => !fs.statSync(path.join(store.objectsDir, n)).isDirectory(),
      ),
    ).toEqual([]);
  });
});

type Fsync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
type Open = (
  file: fs.PathLike,
  flags: fs.OpenMode,
  mode: fs.Mode,
  done: (err: NodeJS.ErrnoException | null, fd: number) => void,
) => void;
interface FsPatch {
  open?: (real: Open) => Open;
  openSync?: (real: typeof fsModule.openSync) => typeof fsModule.openSync;
  fsync?: (real: Fsync) => Fsync;
  renameSync?: (real: typeof fsModule.renameSync) => typeof fsModule.renameSync;
}

/** Wraps functions of node:fs as the store sees them (ESM bindings synced); returns the undo. */
function patchFs(patch: FsPatch): () => void {
  const saved = new Map<string, unknown>();
  for (const [name, wrap] of Object.entries(patch)) {
    const key = name as keyof FsPatch;
    saved.set(key, fsModule[key]);
    Object.assign(fsModule, { [key]: (wrap as (f: unknown) => unknown)(fsModule[key]) });
  }
  syncBuiltinESMExports();
  return () => {
    for (const [key, real] of saved) Object.assign(fsModule, { [key]: real });
    syncBuiltinESMExports();
  };
}

describe('Store: reused empty directories', () => {
  const inode = (dir: string): number => fs.statSync(dir).ino;

  it('hands a committed, emptied output dir out again and removes one that is not empty', async () => {
    const store = new Store(path.join(tmp(), 'cache'));
    const out = await store.makeTempDir('s');
    fs.writeFileSync(path.join(out, 'a.txt'), 'alpha\n');
    await store.commit(out, recordOf(sha256('k')));
    expect(fs.readdirSync(out)).toEqual([]);
    const ino = inode(out);
    store.releaseTempDir(out);
    await store.settled();
    const again = await store.makeTempDir('t');
    expect(again).toBe(out);
    expect(inode(again)).toBe(ino);

    fs.writeFileSync(path.join(again, 'left.txt'), 'a failed stage left this\n');
    store.releaseTempDir(again);
    await store.settled();
    expect(fs.existsSync(again)).toBe(false);
    const made = await store.makeTempDir('u');
    expect(fs.readdirSync(made)).toEqual([]);
    expect(made).not.toBe(again);
  });

  it('renames a pooled dir into place for a new scratch and a view staging dir', async () => {
    const root = tmp();
    const store = new Store(path.join(root, 'cache'));
    const a = await store.makeTempDir('a');
    const b = await store.makeTempDir('b');
    const [inoA, inoB] = [inode(a), inode(b)];
    store.releaseTempDir(a);
    store.releaseTempDir(b);
    await store.settled();
    const scratch = await store.scratchDir(sha256('k1'));
    expect([inoA, inoB]).toContain(inode(scratch));
    const staging = path.join(root, 'artifacts-staging');
    await store.makeEmptyDir(staging);
    expect([inoA, inoB]).toContain(inode(staging));
    expect(inode(staging)).not.toBe(inode(scratch));
    expect(fs.readdirSync(staging)).toEqual([]);
    await store.makeEmptyDir(path.join(root, 'made'));
    expect(fs.statSync(path.join(root, 'made')).isDirectory()).toBe(true);
  });

  it("never replaces a scratch that holds a stage's resumable work", async () => {
    const store = new Store(path.join(tmp(), 'cache'));
    const key = sha256('resume');
    const scratch = await store.scratchDir(key);
    fs.writeFileSync(path.join(scratch, 'epoch-3.ckpt'), 'weights');
    store.releaseTempDir(await store.makeTempDir('spare'));
    await store.settled();
    expect(await store.scratchDir(key)).toBe(scratch);
    expect(fs.readFileSync(path.join(scratch, 'epoch-3.ckpt'), 'utf8')).toBe('weights');
    expect(fs.readdirSync(store.tmpDir)).toHaveLength(1);
  });

  it('pools an emptied scratch and removes a full one; nothing is left in tmp once done', async () => {
    const store = new Store(path.join(tmp(), 'cache'));
    const empty = await store.scratchDir(sha256('e'));
    const full = await store.scratchDir(sha256('f'));
    fs.writeFileSync(path.join(full, 'x'), 'x');
    const ino = inode(empty);
    store.removeScratch(sha256('e'));
    store.removeScratch(sha256('f'));
    await store.settled();
    expect(fs.existsSync(empty)).toBe(false);
    expect(fs.existsSync(full)).toBe(false);
    const next = await store.makeTempDir('next');
    expect(inode(next)).toBe(ino);
    expect(path.basename(next)).toMatch(/^pooled-/);
    store.releaseTempDir(next);
    store.releaseTempDir(await store.makeTempDir('last'));
    await store.removalsDone();
    expect(fs.readdirSync(store.tmpDir)).toEqual([]);
  });
});

describe('StatCache', () => {
  it('hashes a file again only when its stat changes', () => {
    const root = tmp();
    const file = path.join(root, 'dep.txt');
    fs.writeFileSync(file, 'one\n');
    const first = new StatCache(path.join(root, 'stat.json'));
    expect(first.pathDigest(file)).toBe(sha256('one\n'));
    first.save();
    const second = new StatCache(path.join(root, 'stat.json'));
    expect(second.pathDigest(file)).toBe(sha256('one\n'));
    expect(second.hashed).toBe(0);
    fs.writeFileSync(file, 'two, longer\n');
    expect(second.pathDigest(file)).toBe(sha256('two, longer\n'));
    expect(second.hashed).toBe(1);
    expect(second.pathDigest(path.join(root, 'missing'))).toBeUndefined();
  });
});

describe('workspace lock', () => {
  it('refuses a live holder and takes over a dead one', () => {
    const cache = tmp();
    const mine = acquireLock(cache, ['run']);
    expect(mine.ok).toBe(true);
    const again = acquireLock(cache, ['run']);
    expect(again).toMatchObject({ ok: false, holder: { pid: process.pid, argv: ['run'] } });
    if (mine.ok) mine.release();
    const dead = spawnSync('true').pid;
    fs.writeFileSync(
      path.join(cache, 'run.lock'),
      JSON.stringify({ pid: dead, host: os.hostname(), startedAt: 'then', argv: [] }),
    );
    const taken = acquireLock(cache, ['run']);
    expect(taken.ok).toBe(true);
    if (taken.ok) taken.release();
    expect(fs.existsSync(path.join(cache, 'run.lock'))).toBe(false);
  });
});

describe('Scheduler', () => {
  it('never runs more than the tokens allow and clamps needs above capacity', async () => {
    const scheduler = new Scheduler(4, { cpu: 4, gpu: 1, memoryMb: 1000 });
    const signal = new AbortController().signal;
    let gpuNow = 0;
    let gpuMax = 0;
    let cpuNow = 0;
    let cpuMax = 0;
    const task = (cpu: number, gpu: number) => async () => {
      cpuNow += cpu;
      gpuNow += gpu;
      cpuMax = Math.max(cpuMax, cpuNow);
      gpuMax = Math.max(gpuMax, gpuNow);
      await new Promise((r) => setTimeout(r, 5));
      cpuNow -= cpu;
      gpuNow -= gpu;
      return cpu;
    };
    const results = await Promise.all([
      scheduler.run({ cpu: 1, gpu: 1 }, signal, task(1, 1)),
      scheduler.run({ cpu: 1, gpu: 1 }, signal, task(1, 1)),
      scheduler.run({ cpu: 3 }, signal, task(3, 0)),
      scheduler.run({ cpu: 9 }, signal, task(4, 0)),
      scheduler.run({ cpu: 1 }, signal, task(1, 0)),
    ]);
    expect(results).toEqual([1, 1, 3, 4, 1]);
    expect(gpuMax).toBe(1);
    expect(cpuMax).toBeLessThanOrEqual(4);
    const aborted = new AbortController();
    aborted.abort();
    expect(await scheduler.run({ cpu: 1 }, aborted.signal, task(1, 0))).toBeUndefined();
  });

  it('starts the waiting task of higher priority first, equal priorities in order of arrival', async () => {
    const scheduler = new Scheduler(1, { cpu: 1, gpu: 0, memoryMb: 1000 });
    const signal = new AbortController().signal;
    const started: string[] = [];
    const task = (name: string) => async () => {
      started.push(name);
      await new Promise((r) => setTimeout(r, 2));
    };
    await Promise.all([
      scheduler.run(undefined, signal, task('running')),
      scheduler.run(undefined, signal, task('a0'), 0),
      scheduler.run(undefined, signal, task('b0')),
      scheduler.run(undefined, signal, task('c5'), 5),
      scheduler.run(undefined, signal, task('d-1'), -1),
      scheduler.run(undefined, signal, task('e5'), 5),
    ]);
    expect(started).toEqual(['running', 'c5', 'e5', 'a0', 'b0', 'd-1']);
  });
});

describe('SlotQueue', () => {
  it('hands freed slots out by priority, then arrival, against a naive sort', async () => {
    const queue = new SlotQueue(2);
    const order: number[] = [];
    await queue.acquire();
    await queue.acquire();
    // A pseudo-random mix of priorities with many ties, all waiting at once.
    const priorities = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 13) - 6);
    const waits = priorities.map((p, i) => queue.acquire(p).then(() => order.push(i)));
    for (const _ of priorities) {
      queue.release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(waits);
    const expected = priorities
      .map((p, i) => ({ p, i }))
      .sort((a, b) => b.p - a.p || a.i - b.i)
      .map((x) => x.i);
    expect(order).toEqual(expected);
  });

  it('never has more holders than slots', async () => {
    const queue = new SlotQueue(3);
    let now = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await queue.acquire(i % 3);
        now += 1;
        max = Math.max(max, now);
        await new Promise((r) => setTimeout(r, 1));
        now -= 1;
        queue.release();
      }),
    );
    expect(max).toBe(3);
  });
});
