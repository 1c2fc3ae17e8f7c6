import { describe, expect, test } from 'vitest';
import { formatDiagnostic } from '../../src/dag/diagnostics.js';
import { loadPipeline } from '../../src/dag/pipeline.js';
import { dollar, errorCases } from './error-cases.js';
import { testRegistry } from './test-registry.js';

describe('every user mistake is one exact diagnostic with its position', () => {
  test('the table is large enough to mean something', () => {
    expect(errorCases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(errorCases.map((c) => c.name)).size).toBe(errorCases.length);
  });

  test.each(errorCases)('$name', ({ yaml, opts, expected }) => {
    const result = loadPipeline(yaml, 'pipeline.yaml', testRegistry, opts ?? {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map(formatDiagnostic)).toEqual(expected.map(dollar));
    for (const d of result.error) expect(d.severity).toBe('error');
  });
});
