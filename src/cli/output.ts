/**
 * How the CLI writes to the terminal: the event sink for the chosen UI mode (imported
 * lazily, so a plain or --json run never loads Ink/React), colour and width, and the error
 * classes that map to exit codes.
 */
import type { EventSink } from '../dag/events.js';
import { chooseUiMode, type UiMode, useColor } from '../ui/mode.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, locked: 3, interrupted: 130 } as const;

/** A non-zero exit with a message and no stack trace (e.g. the workspace lock is held). */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

export const stdoutColor = (): boolean => useColor(process.env, process.stdout.isTTY === true);
export const stdoutWidth = (): number => process.stdout.columns ?? 100;

export function uiMode(opts: { json?: boolean; ui?: boolean }): UiMode {
  return chooseUiMode({
    json: opts.json === true,
    noUi: opts.ui === false,
    isTTY: process.stdout.isTTY === true,
    env: process.env,
  });
}

export async function createSink(mode: UiMode): Promise<EventSink> {
  const color = stdoutColor();
  if (mode === 'json') {
    const { createJsonSink } = await import('../ui/json-sink.js');
    return createJsonSink({ out: process.stdout });
  }
  if (mode === 'plain') {
    const { createPlainSink } = await import('../ui/plain-sink.js');
    return createPlainSink({ out: process.stdout, color });
  }
  const { createInkSink } = await import('../ui/ink-sink.js');
  return createInkSink({ out: process.stdout, color });
}
