/**
 * User-fixable errors as values. Anything the user can correct (pipeline.yaml, --set, CLI
 * flags, a dataset checksum) becomes a Diagnostic with a location; it is printed as
 * `FILE:LINE:COL: what is wrong; what was expected` and the process exits 2. Never thrown
 * as a string, never printed with a stack trace unless --verbose.
 */

export interface SourceLocation {
  /** Path as the user would type it (relative to the workspace when possible). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  /** What is wrong; what was expected. One line, no trailing period required. */
  message: string;
  location?: SourceLocation;
  /** e.g. "did you mean 'learning_rate'?" */
  hint?: string;
}

export type Result<T, E = Diagnostic[]> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** `pipeline.yaml:12:5: unknown key 'lr'; expected one of ... (did you mean 'learning_rate'?)` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : '';
  const hint = d.hint ? ` (${d.hint})` : '';
  return `${where}${d.message}${hint}`;
}

/** Thrown only at effect boundaries to carry diagnostics up to the CLI, which exits 2. */
export class UserError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'UserError';
  }
}
