/**
 * A stage's log file, written by the executor as lines arrive. A log is a record for the
 * user, not an output, so no write to it may throw into the runner: the first failure (a full
 * disk, most often) is kept, the file is closed, and the executor decides what it means for
 * the stage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diskFullMessage, isDiskFull } from './disk-full.js';

export interface LogFailure {
  diskFull: boolean;
  message: string;
}

/**
 * Made on the first line, not before: most small stages print nothing, and a file per stage
 * is an inode made for nothing (on ext4 without a journal each create scans the inodes freed
 * lately, so a run's creates cost more as it goes). The file is created on the threadpool
 * (on ext4 with a journal a create waits for the commit other stages' fsyncs started, which
 * must not hold up the engine's thread); lines written meanwhile wait in memory.
 */
export class StageLog {
  private fd: number | undefined;
  private state: 'unopened' | 'opening' | 'open' | 'closed' = 'unopened';
  private waiting: string[] = [];
  private opened: Promise<void> | undefined;
  failure: LogFailure | undefined;

  constructor(
    readonly file: string,
    private readonly onFailure: (failure: LogFailure) => void = () => {},
  ) {}

  write(text: string): void {
    if (this.state === 'unopened') this.open();
    if (this.state === 'opening') this.waiting.push(text);
    else if (this.state === 'open') this.writeNow(text);
  }

  /**
   * Closes the file once the lines written so far are in it. `evenIfEmpty`: make the file
   * though nothing was written (a failed stage's log path is shown, so it should be there),
   * at best effort: not making an empty file is no failure of the log.
   */
  async close(opts: { evenIfEmpty?: boolean } = {}): Promise<void> {
    if (this.state === 'unopened' && opts.evenIfEmpty) {
      this.state = 'closed';
      await fs.promises
        .mkdir(path.dirname(this.file), { recursive: true })
        .then(() => fs.promises.writeFile(this.file, ''))
        .catch(() => {});
      return;
    }
    await this.opened;
    this.closeNow();
  }

  private open(): void {
    this.state = 'opening';
    this.opened = (async () => {
      try {
        await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
        this.fd = await new Promise<number>((resolve, reject) =>
          fs.open(this.file, 'w', (err, fd) => (err ? reject(err) : resolve(fd))),
        );
        this.state = 'open';
        for (const text of this.waiting.splice(0)) this.writeNow(text);
      } catch (err) {
        this.fail(err);
      }
    })();
  }

  private writeNow(text: string): void {
    if (this.fd === undefined) return;
    try {
      fs.writeSync(this.fd, text);
    } catch (err) {
      this.fail(err);
    }
  }

  private closeNow(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.state = 'closed';
    this.waiting = [];
    if (fd === undefined) return;
    try {
      fs.closeSync(fd);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.closeNow();
    if (this.failure) return;
    const diskFull = isDiskFull(err);
    this.failure = {
      diskFull,
      message: diskFull
        ? diskFullMessage(this.file, 'writing the log')
        : `could not write the log ${this.file}: ${(err as Error).message}`,
    };
    this.onFailure(this.failure);
  }
}
