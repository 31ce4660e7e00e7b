import { rmSync } from 'node:fs'
import { join } from 'node:path'

// A fresh output log (the secrets scan reads it) and failure folder on every run.
export default function setup() {
  rmSync(join(__dirname, '..', '..', '.test-results', 'reliability-output.log'), { force: true })
  rmSync(join(__dirname, '..', '..', '.reliability-failures'), { recursive: true, force: true })
}
