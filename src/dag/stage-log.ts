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

export class StageLog {
  private fd: number | undefined;
  failure: LogFailure | undefined;

  /**
   * Creates the file on the threadpool: on ext4 creating an inode waits for the journal
   * commit that other stages' fsyncs started, which must not hold up the engine's thread.
   */
  static async open(
    file: string,
    onFailure: (failure: LogFailure) => void = () => {},
  ): Promise<StageLog> {
    const log = new StageLog(file, onFailure);
    try {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      log.fd = await new Promise<number>((resolve, reject) =>
        fs.open(file, 'w', (err, fd) => (err ? reject(err) : resolve(fd))),
      );
    } catch (err) {
      log.fail(err);
    }
    return log;
  }

  private constructor(
    readonly file: string,
    private readonly onFailure: (failure: LogFailure) => void,
  ) {}

  write(text: string): void {
    if (this.fd === undefined) return;
    try {
      fs.writeSync(this.fd, text);
    } catch (err) {
      this.fail(err);
    }
  }

  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    try {
      fs.closeSync(fd);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.close();
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
