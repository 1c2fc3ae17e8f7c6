/**
 * Which consumer of the event stream the CLI starts, and whether it may colour its output.
 * Pure functions of flags and environment; they never look at process globals themselves.
 */

export type UiMode = 'ink' | 'plain' | 'json';

/** Values of CI-like variables that mean "not set" rather than "running in CI". */
const falsy = new Set(['', '0', 'false', 'no', 'off']);

const isSet = (value: string | undefined): boolean =>
  value !== undefined && !falsy.has(value.trim().toLowerCase());

/**
 * `--json` wins (scripts read NDJSON whatever the terminal); the live view needs a TTY and
 * is off under CI (its redraws turn CI logs into noise) or with `--no-ui`.
 */
export function chooseUiMode(opts: {
  json: boolean;
  noUi: boolean;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}): UiMode {
  if (opts.json) return 'json';
  if (opts.noUi || !opts.isTTY || isSet(opts.env.CI)) return 'plain';
  if (opts.env.TERM === 'dumb') return 'plain';
  return 'ink';
}

/**
 * NO_COLOR (https://no-color.org: any non-empty value) turns colour off; FORCE_COLOR turns it
 * on even without a TTY (FORCE_COLOR=0 or false turns it off); otherwise colour follows the TTY.
 */
export function useColor(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) {
    const value = env.FORCE_COLOR.trim().toLowerCase();
    return value !== '0' && value !== 'false';
  }
  if (env.TERM === 'dumb') return false;
  return isTTY;
}
