import { describe, expect, it } from 'vitest';
import { chooseUiMode, useColor } from '../../src/ui/mode.js';

describe('chooseUiMode', () => {
  const base = { json: false, noUi: false, isTTY: true, env: {} };
  it('shows the live view only on an interactive terminal', () => {
    expect(chooseUiMode(base)).toBe('ink');
    expect(chooseUiMode({ ...base, isTTY: false })).toBe('plain');
    expect(chooseUiMode({ ...base, noUi: true })).toBe('plain');
    expect(chooseUiMode({ ...base, env: { CI: 'true' } })).toBe('plain');
    expect(chooseUiMode({ ...base, env: { CI: 'false' } })).toBe('ink');
    expect(chooseUiMode({ ...base, env: { TERM: 'dumb' } })).toBe('plain');
  });
  it('writes NDJSON with --json whatever the terminal', () => {
    expect(chooseUiMode({ ...base, json: true, noUi: true })).toBe('json');
    expect(chooseUiMode({ ...base, json: true, isTTY: false })).toBe('json');
  });
});

describe('useColor', () => {
  it('honours NO_COLOR and FORCE_COLOR, else follows the TTY', () => {
    expect(useColor({}, true)).toBe(true);
    expect(useColor({}, false)).toBe(false);
    expect(useColor({ NO_COLOR: '1' }, true)).toBe(false);
    expect(useColor({ NO_COLOR: '' }, true)).toBe(true);
    expect(useColor({ NO_COLOR: '1', FORCE_COLOR: '1' }, true)).toBe(false);
    expect(useColor({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(useColor({ FORCE_COLOR: '' }, false)).toBe(true);
    expect(useColor({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(useColor({ TERM: 'dumb' }, true)).toBe(false);
  });
});
