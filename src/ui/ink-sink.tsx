/**
 * The live terminal view as an EventSink. Events are queued (emit is O(1) and never throws
 * into the engine), folded into the state in batches and drawn at most `1000 / frameMs`
 * times a second; a slow terminal therefore never slows the run. close() draws the final
 * frame, unmounts Ink and gives the cursor back.
 */
import { render } from 'ink';
import type { EngineEvent, EventSink } from '../dag/events.js';
import { RunView } from './run-view.js';
import { initialRunState, type RunState, reduceEvents } from './state.js';

export interface InkSinkOptions {
  out: NodeJS.WriteStream;
  color: boolean;
  /** Fixed width; by default the terminal's, following resizes. */
  width?: number;
  /** Minimum time between two frames. */
  frameMs?: number;
  now?: () => number;
  /**
   * Print console.* output above the live view instead of through it (Ink's default). Tests
   * whose runner replaces `console` turn it off.
   */
  patchConsole?: boolean;
}

const fallbackWidth = 80;

export function createInkSink(opts: InkSinkOptions): EventSink {
  const frameMs = opts.frameMs ?? 100;
  const now = opts.now ?? Date.now;
  let state: RunState = initialRunState;
  let queue: EngineEvent[] = [];
  let frameTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const width = () => opts.width ?? (opts.out.columns || fallbackWidth);
  const view = () => (
    <RunView
      state={state}
      width={width()}
      color={opts.color}
      now={now()}
      {...(opts.out.rows ? { height: opts.out.rows } : {})}
    />
  );
  const instance = render(view(), {
    stdout: opts.out,
    exitOnCtrlC: false,
    patchConsole: opts.patchConsole ?? true,
    maxFps: Math.max(1, Math.round(1000 / frameMs)),
  });

  let broken = false;
  const draw = () => {
    if (frameTimer !== undefined) clearTimeout(frameTimer);
    frameTimer = undefined;
    if (broken) return;
    try {
      if (queue.length > 0) {
        state = reduceEvents(state, queue);
        queue = [];
      }
      instance.rerender(view());
    } catch (error) {
      // A drawing bug must not take the run down with it: drop the view, say so once.
      broken = true;
      try {
        instance.unmount();
      } catch {
        // Already unusable; the message below is what matters.
      }
      opts.out.write(
        `live view stopped (${error instanceof Error ? error.message : String(error)}); the run goes on, rerun with --no-ui for plain lines\n`,
      );
    }
  };
  const schedule = () => {
    if (frameTimer === undefined && !closed) frameTimer = setTimeout(draw, frameMs);
  };
  // Elapsed times and the ETA move without events: redraw once a second while running.
  const ticker = setInterval(() => {
    if (state.phase === 'running' || state.phase === 'stopping') schedule();
  }, 1000);
  ticker.unref();
  opts.out.on('resize', schedule);

  return {
    emit(event) {
      if (closed || broken) return;
      queue.push(event);
      // The last frame of a run is drawn at once, whatever the throttle.
      if (event.type === 'run-finished') draw();
      else schedule();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      opts.out.off('resize', schedule);
      draw();
      if (broken) return;
      try {
        instance.unmount();
        await instance.waitUntilExit();
      } finally {
        instance.cleanup();
      }
    },
  };
}
