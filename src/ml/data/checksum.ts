/**
 * Verifies downloaded files against published digests (sha256 or md5). A mismatch is a
 * user-fixable error (re-download, or fix the expected digest), so it is a UserError that
 * says which file, which algorithm, what was expected and what was found.
 * Must never load a whole file into memory to hash it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type Diagnostic, UserError } from '../../dag/diagnostics.js';

export type DigestAlgorithm = 'sha256' | 'md5';

export interface ExpectedDigest {
  algorithm: DigestAlgorithm;
  /** Lower- or upper-case hex. */
  hex: string;
}

/** Hex digest of a file, streamed. */
export async function fileDigest(path: string, algorithm: DigestAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class ChecksumError extends UserError {
  constructor(
    readonly file: string,
    readonly algorithm: DigestAlgorithm,
    readonly expected: string,
    readonly found: string,
  ) {
    super([checksumDiagnostic(file, algorithm, expected, found)]);
    this.name = 'ChecksumError';
  }
}

function checksumDiagnostic(
  file: string,
  algorithm: DigestAlgorithm,
  expected: string,
  found: string,
): Diagnostic {
  return {
    severity: 'error',
    message: `${file}: ${algorithm} is ${found}; expected ${expected}`,
    hint: 'the file is corrupt or a different version: delete it and fetch again',
  };
}

function normalise(expected: ExpectedDigest): string {
  const want = expected.hex.toLowerCase();
  if (!/^[0-9a-f]+$/.test(want) || want.length !== (expected.algorithm === 'md5' ? 32 : 64)) {
    throw new Error(`'${expected.hex}' is not a ${expected.algorithm} hex digest`);
  }
  return want;
}

/** The diagnostic for a mismatch, or undefined when the file matches. */
export async function checkDigest(
  path: string,
  expected: ExpectedDigest,
): Promise<Diagnostic | undefined> {
  const want = normalise(expected);
  const found = await fileDigest(path, expected.algorithm);
  return found === want ? undefined : checksumDiagnostic(path, expected.algorithm, want, found);
}

/** Throws ChecksumError when the file does not match. */
export async function verifyDigest(path: string, expected: ExpectedDigest): Promise<void> {
  const want = normalise(expected);
  const found = await fileDigest(path, expected.algorithm);
  if (found !== want) throw new ChecksumError(path, expected.algorithm, want, found);
}
