import { defineConfig } from 'vitest/config'

// End-to-end suites against real helpdesks (Request Tracker 5); `npm run test:e2e`.
export default defineConfig({
  test: {
    // The JSON report lets .ci/run print one 'N passed, N failed' line for the whole run.
    reporters: ['default', ['json', { outputFile: '.test-results/e2e.json' }]],
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
  },
})
