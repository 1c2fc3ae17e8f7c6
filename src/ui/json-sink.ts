/**
 * `--json`: the event stream as NDJSON, one event object per line, exactly as emitted, for
 * scripts. Nothing else is written to `out` (no colour, no prose).
 */
import type { EventSink } from '../dag/events.js';
import { drain, watchForBrokenPipe } from './plain-sink.js';

export function createJsonSink(opts: { out: NodeJS.WritableStream }): EventSink {
  const broken = watchForBrokenPipe(opts.out);
  return {
    emit(event) {
      if (broken.value) return;
      try {
        opts.out.write(`${JSON.stringify(event)}\n`);
      } catch {
        // A closed pipe (`| head`) must not break the run.
      }
    },
    close: () => drain(opts.out, broken),
  };
}
