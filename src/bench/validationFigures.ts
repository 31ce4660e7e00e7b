// Validation figures for `npm run bench`: how long a first validation of each shipped mapping takes (the
// expression cache emptied, as in a fresh process), and how validation time grows with the mapping's size.
import { performance } from 'node:perf_hooks'
import { clearCompiledExpressions } from '../expr/compileExpression'
import { MAX_MAPPING_BYTES } from '../mapping/limits'
import { compileMappingText } from '../mapping/loadMapping'
import { shippedMappings } from '../mapping/shippedMappings.generated'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function firstValidation(text: string, runs: number): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    clearCompiledExpressions()
    const t0 = performance.now()
    compileMappingText(text, 'bench.yaml')
    times.push(performance.now() - t0)
  }
  return median(times)
}

/** demo-desk with `n` templated headers, each with its own expression (nothing for the cache to share). */
function grown(n: number): string {
  if (n === 0) return shippedMappings['demo-desk']!
  const headers = Array.from({ length: n }, (_, i) => `    x-h${i}: "{{ $settings.apiToken & '-${i}' }}"`).join('\n')
  return shippedMappings['demo-desk']!.replace(/^http:\n/m, `http:\n  headers:\n${headers}\n`)
}

export function validationFigures(log: (line: string) => void = console.log): void {
  log('— first validation of a mapping (parse, schema check, compile; expression cache empty), median of 9')
  for (const [name, text] of Object.entries(shippedMappings)) {
    log(`${`validate ${name} (${(text.length / 1024).toFixed(0)} KB)`.padEnd(58)} ${`${firstValidation(text, 9).toFixed(1)} ms`.padStart(11)}`)
  }
  log(`— growth with size (demo-desk + n distinct templated headers; limit ${MAX_MAPPING_BYTES / 1024} KB): µs per KB should stay flat`)
  for (const n of [0, 500, 2000, 4000]) {
    const text = grown(n)
    const ms = firstValidation(text, 3)
    log(
      `${`validate ${(text.length / 1024).toFixed(0)} KB (${n} headers)`.padEnd(58)} ${`${ms.toFixed(1)} ms`.padStart(11)}  (${((ms * 1000) / (text.length / 1024)).toFixed(0)} µs/KB)`,
    )
  }
  log('')
}
