import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { defineConfig } from 'vitest/config'

/** Files in name order: zz-secrets.test.ts last, so it scans what every other file printed. */
class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId))
  }
}

// The reliability suite (`npm run test:reliability`): faults, signature attacks, hostile bodies, mapping fuzz
// and the secrets scan, against the built bundle. One file at a time (2-core CI machines; the figures are
// timings), in name order.
export default defineConfig({
  test: {
    reporters: ['default', ['json', { outputFile: '.test-results/reliability.json' }]],
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts', 'test/reliability/global-setup.ts'],
    fileParallelism: false,
    sequence: { sequencer: ByName },
  },
})
