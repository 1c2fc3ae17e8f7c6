/**
 * Small text helpers shared by every renderer: ANSI styling that can be switched off,
 * truncation to a column budget, progress bars and durations. Pure; never writes anywhere.
 * With `color: false` nothing here ever produces an escape byte.
 */

export type Style =
  | 'bold'
  | 'dim'
  | 'red'
  | 'green'
  | 'yellow'
  | 'blue'
  | 'cyan'
  | 'magenta'
  | 'gray';

const codes: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
};

export type Paint = (style: Style, text: string) => string;

export function painter(color: boolean): Paint {
  if (!color) return (_style, text) => text;
  return (style, text) => {
    const [open, close] = codes[style];
    return `\x1b[${open}m${text}\x1b[${close}m`;
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escapes painter() writes
const sgr = /\x1b\[[0-9;]*m/g;

export const stripAnsi = (text: string): string => text.replace(sgr, '');

/** Columns a painted string takes (escape sequences take none). */
export const visibleLength = (text: string): number => Array.from(stripAnsi(text)).length;

/** Cuts `text` to `max` characters, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (max <= 0) return '';
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  if (max === 1) return '…';
  return `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Shortens a stage id keeping its start and its bracket end, since the foreach values at the
 * end are what tells `attack[cifar10,normal,2,pgd]` from its siblings.
 */
export function truncateId(id: string, max: number): string {
  const chars = Array.from(id);
  if (chars.length <= max) return id;
  if (max < 5) return truncate(id, max);
  const tail = Math.floor((max - 1) / 2);
  const head = max - 1 - tail;
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

const columns = (text: string): number => Array.from(text).length;

/**
 * `a, b, c, … (+12)` within `room` columns: as many ids as fit, then how many more. Reads
 * only the ids it can show (plus one), so a group of 100,000 costs what a group of 10 does.
 */
export function listWithin(ids: readonly string[], room: number): string {
  const more = (rest: number): number => (rest > 0 ? columns(`, … (+${rest})`) : 0);
  let shown = 0;
  let width = 0;
  let best = 0;
  while (shown < ids.length) {
    const next = width + (shown > 0 ? 2 : 0) + columns(ids[shown] ?? '');
    if (next > room) break;
    shown += 1;
    width = next;
    if (width + more(ids.length - shown) <= room) best = shown;
  }
  if (best === 0) {
    const first = ids[0] ?? '';
    return truncate(`${first}${ids.length > 1 ? ` (+${ids.length - 1})` : ''}`, room);
  }
  const rest = ids.length - best;
  return ids.slice(0, best).join(', ') + (rest > 0 ? `, … (+${rest})` : '');
}

export function padEnd(text: string, width: number): string {
  const length = Array.from(text).length;
  return length >= width ? text : text + ' '.repeat(width - length);
}

/** A bar of `width` cells, `done/total` filled; an empty total draws an empty bar. */
export function bar(done: number, total: number, width: number): string {
  if (width <= 0) return '';
  const fraction = total > 0 ? Math.min(Math.max(done / total, 0), 1) : 0;
  const filled = Math.round(fraction * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** `850ms`, `12s`, `3m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, '0')}m`;
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** Metric values as people read them: 0.8134 -> `0.813`, 12345 -> `12345`. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(1) : magnitude >= 1 ? value.toFixed(2) : value.toFixed(3);
}

/** `HH:MM:SS` in UTC, so logs from different machines line up. */
export function clock(time: number): string {
  return new Date(time).toISOString().slice(11, 19);
}
