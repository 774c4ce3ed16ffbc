import { rmSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Each run's evidence stands alone: results of an earlier run would mix into this run's report.
rmSync('reports/allure-results', { recursive: true, force: true });

// Two projects: `unit` (pure logic and single-database tests, parallel) and `scenarios`
// (the runbook suite on one shared real stack, one file at a time).
export default defineConfig({
  test: {
    reporters: ['default', ['allure-vitest/reporter', { resultsDir: 'reports/allure-results' }]],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'harness/**/*.test.ts'],
          setupFiles: ['allure-vitest/setup'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'scenarios',
          include: ['scenarios/**/*.test.ts'],
          setupFiles: ['allure-vitest/setup'],
          globalSetup: ['harness/env/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
