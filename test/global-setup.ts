import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Integration tests run the built CLI (dist/), so build once before any test file runs.
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
