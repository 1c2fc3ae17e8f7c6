import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Integration tests run the built CLI (dist/), so build once before any test file runs, with
// the project's own build (it also marks the bin executable, which a test checks).
// Type errors do not stop the emit: `npm run typecheck` is the gate for those.
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) process.stderr.write(result.stdout + result.stderr);
}
