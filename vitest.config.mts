import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The JSON report lets .ci/run print one 'N passed, N failed' line for the whole run.
    reporters: ['default', ['json', { outputFile: '.test-results/unit.json' }]],
    include: ['test/**/*.test.ts'],
    // The end-to-end and reliability suites have their own configs and commands.
    exclude: ['test/e2e/**', 'test/reliability/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
  },
})
