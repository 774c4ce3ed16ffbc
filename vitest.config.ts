import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic and single-database tests, parallel) and `scenarios`
// (the runbook suite on one shared real stack, one file at a time). `npm test` runs them one after
// the other, so the scenarios' lag measurements do not compete with unit tests for the 2 cores.
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
