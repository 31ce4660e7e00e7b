import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** Files in name order: zz-secrets.test.ts last, so it scans what every other file printed. */
export class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId))
  }
}
