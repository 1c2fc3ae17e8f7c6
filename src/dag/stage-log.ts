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

  constructor(
    readonly file: string,
    private readonly onFailure: (failure: LogFailure) => void = () => {},
  ) {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'w');
    } catch (err) {
      this.fail(err);
    }
  }

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
