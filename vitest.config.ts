import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/plain-summary-reporter.ts'],
    // Ink switches its live rendering off when CI is set (is-in-ci); the UI tests exercise
    // that rendering, so every worker runs as on a developer's terminal. The CLI's own CI
    // handling is tested with explicit environments (test/ui/mode.test.ts, terminal.test.ts).
    env: { CI: 'false', CONTINUOUS_INTEGRATION: 'false' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
