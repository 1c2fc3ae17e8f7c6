import { describe, expect, it } from 'vitest';
import { bar, formatDuration, painter, truncate, truncateId } from '../../src/ui/text.js';

describe('text helpers', () => {
  it('truncates ids keeping their distinguishing end', () => {
    expect(truncateId('attack[cifar10,normal,2,pgd]', 14)).toBe('attack[…2,pgd]');
    expect(truncateId('attack[cifar10,normal,2,pgd]', 14)).toHaveLength(14);
    expect(truncateId('short', 14)).toBe('short');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });

  it('draws bars of exactly the asked width', () => {
    expect(bar(1, 4, 8)).toBe('██░░░░░░');
    expect(bar(9, 4, 3)).toBe('███');
    expect(bar(1, 0, 3)).toBe('░░░');
  });

  it('formats durations for people', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
  });

  it('writes no escape byte without colour', () => {
    expect(painter(false)('red', 'x')).toBe('x');
    expect(painter(true)('red', 'x')).toBe('\x1b[31mx\x1b[39m');
  });
});
