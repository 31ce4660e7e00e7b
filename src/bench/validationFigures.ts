// Validation figures for `npm run bench`: how long a first validation of each shipped mapping takes (the
// expression cache emptied, as in a fresh process), and how validation time grows with the mapping's size.
import { performance } from 'node:perf_hooks'
import { clearCompiledExpressions } from '../expr/compileExpression'
import { MAX_MAPPING_BYTES } from '../mapping/limits'
import { compileMappingText, compileSource } from '../mapping/loadMapping'
import { parseYaml } from '../mapping/parseYaml'
import { shippedMappings } from '../mapping/shippedMappings.generated'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Median time of a first validation; `compile` is compileMappingText, or (past its size limit) the same without the limit. */
function firstValidation(text: string, runs: number, compile = (t: string) => compileMappingText(t, 'bench.yaml')): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    clearCompiledExpressions()
    const t0 = performance.now()
    compile(text)
    times.push(performance.now() - t0)
  }
  return median(times)
}

const withoutSizeLimit = (text: string) => compileSource(parseYaml(text, 'bench.yaml'))

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
  log(
    `— growth with size (demo-desk + n distinct templated headers, the largest past the ${MAX_MAPPING_BYTES / 1024} KB limit, which is left out here): µs per KB and per added header`,
  )
  const rows = [0, 500, 2000, 4000, 8000].map((n) => {
    const text = grown(n)
    return { n, kb: text.length / 1024, ms: firstValidation(text, 3, withoutSizeLimit) }
  })
  const perKb = rows.map((r) => (r.ms * 1000) / r.kb)
  // Added header cost: (ms − ms without headers) / n. Flat when validation is linear, whatever the content mix.
  const perHeader = rows.map((r) => (r.n === 0 ? undefined : ((r.ms - rows[0]!.ms) * 1000) / r.n))
  rows.forEach((r, i) => {
    const header = perHeader[i] === undefined ? '' : `, ${perHeader[i]!.toFixed(0)} µs/header`
    log(`${`validate ${r.kb.toFixed(0)} KB (${r.n} headers)`.padEnd(58)} ${`${r.ms.toFixed(1)} ms`.padStart(11)}  (${perKb[i]!.toFixed(0)} µs/KB${header})`)
  })
  // The largest size against the smallest: 1× is linear when the added content costs what the base does per KB.
  const ratio = (xs: (number | undefined)[]) => xs.at(-1)! / xs.find((x) => x !== undefined)!
  log(
    `${`largest / smallest (${rows.at(-1)!.kb.toFixed(0)} KB / ${rows[0]!.kb.toFixed(0)} KB)`.padEnd(58)} ${`${ratio(perKb).toFixed(2)}×`.padStart(11)}  (µs/KB; per header ${ratio(perHeader).toFixed(2)}× of ${rows[1]!.n} headers)`,
  )
  log('')
}
