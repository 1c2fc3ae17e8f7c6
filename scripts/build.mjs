// The build: tsc, the executable bit on every `bin` target, then the native kernels. tsc writes new files
// 0644, and npm links the project's own bin before `prepare` has built it, so without this
// `npx advrob-dag` after a fresh `npm ci` finds a file it may not execute.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const target of Object.values(pkg.bin ?? {})) {
  const file = path.join(root, target);
  if (fs.existsSync(file)) fs.chmodSync(file, fs.statSync(file).mode | 0o111);
}
if (result.status === 0) {
  // The optional native kernels; never fails the build (it says why it built none).
  spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], {
    stdio: 'inherit',
  });
}
process.exit(result.status ?? 1);
