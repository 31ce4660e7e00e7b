import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The JSON report lets .ci/run print one 'N passed, N failed' line for the whole run.
    reporters: ['default', ['json', { outputFile: '.test-results/unit.json' }]],
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
  },
})
