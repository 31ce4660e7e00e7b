import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

// The conformance tests drive the built bundle, as Botpress Cloud would run it: build once before all suites.
export default function setup() {
  execFileSync(process.execPath, [join(__dirname, '..', 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' })
}
