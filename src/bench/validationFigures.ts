// Validation figures for `npm run bench`: how long a first validation of each shipped mapping takes (the
// expression cache emptied, as in a fresh process), and how validation time grows with the mapping's size.
import { performance } from 'node:perf_hooks'
import { clearCompiledExpressions } from '../expr/compileExpression'
import { MAX_MAPPING_BYTES } from '../mapping/limits'
import { compileMappingText, compileSource } from '../mapping/loadMapping'
import { parseYaml } from '../mapping/parseYaml'
import { MappingError } from '../mapping/problems'
import { shippedMappings } from '../mapping/shippedMappings.generated'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Median time of a first validation; `compile` is compileMappingText, or (past its size limit) the same without the limit. */
function firstValidation(text: string, runs: number, compile: (t: string) => unknown = (t) => compileMappingText(t, 'bench.yaml')): number {
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

/** demo-desk with `n` fixture files lacking their content: per file a schema error under a `oneOf` (text or base64). */
function withSchemaErrors(n: number): string {
  const files = Array.from({ length: n }, (_, i) => `    https://files.bpcontent.cloud/bench/f${i}.png: { contentType: image/png }`).join('\n')
  return shippedMappings['demo-desk']!.replace(/^ {2}files:\n/m, `  files:\n${files}\n`)
}

/** Median time of refusing a mapping with schema errors (placing the first 25 of them). */
function refusal(text: string, runs: number): number {
  return firstValidation(text, runs, (t) => {
    try {
      withoutSizeLimit(t)
    } catch (e) {
      if (!(e instanceof MappingError)) throw e
      return
    }
    throw new Error('the benchmark mapping was expected to have schema errors')
  })
}

/** Prints one row per size; returns the largest size's µs/KB against the smallest's (1×: added content costs what the base does). */
function growthRows(rows: { label: string; kb: number; ms: number; extra?: string }[], log: (line: string) => void): number {
  const perKb = rows.map((r) => (r.ms * 1000) / r.kb)
  rows.forEach((r, i) => {
    log(`${r.label.padEnd(58)} ${`${r.ms.toFixed(1)} ms`.padStart(11)}  (${perKb[i]!.toFixed(0)} µs/KB${r.extra ?? ''})`)
  })
  return perKb.at(-1)! / perKb[0]!
}

const ratioLine = (rows: { kb: number }[], ratio: number, note: string) =>
  `${`largest / smallest (${rows.at(-1)!.kb.toFixed(0)} KB / ${rows[0]!.kb.toFixed(0)} KB)`.padEnd(58)} ${`${ratio.toFixed(2)}×`.padStart(11)}  (${note})`

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
  // Added header cost: (ms − ms without headers) / n. Flat when validation is linear, whatever the content mix.
  const perHeader = rows.map((r) => ((r.ms - rows[0]!.ms) * 1000) / r.n)
  const ratio = growthRows(
    rows.map((r, i) => ({ ...r, label: `validate ${r.kb.toFixed(0)} KB (${r.n} headers)`, extra: r.n ? `, ${perHeader[i]!.toFixed(0)} µs/header` : '' })),
    log,
  )
  log(ratioLine(rows, ratio, `µs/KB; per header ${(perHeader.at(-1)! / perHeader[1]!).toFixed(2)}× of ${rows[1]!.n} headers`))
  log('— growth with schema errors (demo-desk + n fixture files without content: n errors under a oneOf, 25 placed)')
  const errorRows = [0, 1000, 4000, 8000].map((n) => {
    const text = withSchemaErrors(n)
    const ms = n ? refusal(text, 3) : firstValidation(text, 3, withoutSizeLimit)
    return { label: `refuse ${(text.length / 1024).toFixed(0)} KB (${n} files)`, kb: text.length / 1024, ms }
  })
  log(ratioLine(errorRows, growthRows(errorRows, log), 'µs/KB'))
  log('')
}
