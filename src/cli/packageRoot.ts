import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/** The package root: where package.json names this package (dist/cli.cjs → ..), installed or in the repository. */
export function packageRoot(): string {
  let dir = __dirname
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'universal-hitl') return dir
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir)
  }
  return resolve(__dirname, '..')
}
