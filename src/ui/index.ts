/**
 * The UI package's surface for the CLI: pick a mode, build the sink, render `status` and
 * `dag`. The engine never imports from here; it only emits events into the sink it is given.
 */
import type { EventSink } from '../dag/events.js';
import { createInkSink } from './ink-sink.js';
import { createJsonSink } from './json-sink.js';
import type { UiMode } from './mode.js';
import { createPlainSink } from './plain-sink.js';

export { renderDag } from './dag.js';
export { estimateEta } from './eta.js';
export { chooseUiMode, type UiMode, useColor } from './mode.js';
export { renderStatus } from './status.js';

export function createEventSink(opts: {
  mode: UiMode;
  out: NodeJS.WriteStream;
  color: boolean;
  width?: number;
}): EventSink {
  switch (opts.mode) {
    case 'json':
      return createJsonSink({ out: opts.out });
    case 'plain':
      return createPlainSink({ out: opts.out, color: opts.color });
    case 'ink':
      return createInkSink({
        out: opts.out,
        color: opts.color,
        ...(opts.width === undefined ? {} : { width: opts.width }),
      });
  }
}
