import { defineConfig } from 'vitest/config'

// The reliability suite (`npm run test:reliability`): faults, signature attacks, hostile bodies, mapping fuzz
// and the secrets scan, against the built bundle. One file at a time (2-core CI machines; the figures are
// timings), in name order so the secrets scan (zz-secrets) reads the output of all the others.
export default defineConfig({
  test: {
    reporters: ['default', ['json', { outputFile: '.test-results/reliability.json' }]],
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts', 'test/reliability/global-setup.ts'],
    fileParallelism: false,
    sequence: { sequencer: (await import('./test/reliability/sequencer')).ByName },
  },
})
