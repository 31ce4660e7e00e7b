// Mapping fuzz: seeded mutations of every mapping in mappings/ (without fixtures) through the loader (what a
// pasted configuration goes through). Every case must end in a compiled mapping or a MappingError whose problems are
// all placed (line, column, path) and carry no stack trace; never another exception; none over 1 s.
// Inputs that break a rule are written to .reliability-failures/ for the report.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileMappingText } from '../../src/mapping/loadMapping'
import { MappingError } from '../../src/mapping/problems'
import { FAILURES_DIR, mappingNames, report, root, seeded } from './support'

// At least 2,000 cases in all, however many mappings there are.
const CASES_PER_MAPPING = Math.max(100, Math.ceil(2000 / mappingNames().length))
const CASE_LIMIT_MS = 1000

type Rand = () => number
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!

const VALUE_LINE = /^(\s*(?:- )?)([\w-]+):[ \t]+(\S.*)$/
const EXPRESSION_KEYS = /^(when|ticketId|messageId|body|form|forEach|dedupeKey|errorMessage|externalUserId|text|type|id|name|url|avatarUrl)$/

const MUTATIONS: Record<string, (lines: string[], r: Rand) => string[]> = {
  'byte flip': (lines, r) => {
    const text = lines.join('\n')
    const at = Math.floor(r() * text.length)
    const ch = pick(r, [
      '\0',
      '\t',
      '"',
      "'",
      '{',
      '}',
      '[',
      ']',
      ':',
      '#',
      '&',
      '*',
      '!',
      '|',
      '>',
      '%',
      '@',
      '`',
      '\u00ff',
      '\ud800',
      String.fromCharCode(32 + Math.floor(r() * 95)),
    ])
    return (text.slice(0, at) + ch + text.slice(at + 1)).split('\n')
  },
  'deleted line': (lines, r) => lines.filter((_, i) => i !== Math.floor(r() * lines.length)),
  'duplicated line': (lines, r) => {
    const i = Math.floor(r() * lines.length)
    return [...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)]
  },
  'wrong type': (lines, r) => replaceValue(lines, r, () => pick(r, ['[1, 2]', '{a: 1}', '123', 'true', 'null', '""', '-1.5e300', '[]', '{}'])),
  'broken JSONata': (lines, r) => {
    const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => VALUE_LINE.test(l) && EXPRESSION_KEYS.test(VALUE_LINE.exec(l)![2]!))
    if (!candidates.length) return lines
    const [, i] = pick(r, candidates)
    const out = [...lines]
    const junk = pick(r, [' ]', ' ((', ' $x(', ' & &', ' ?', ' {{', ' }}', ' /[/', ' $eval("1")', ' ~> $'])
    out[i] = out[i]!.replace(/(['"]?)\s*$/, (m) => (m.startsWith("'") || m.startsWith('"') ? `${junk}${m}` : `${junk}`))
    return out
  },
  'alias bomb': (lines) => [
    ...lines,
    'bomb0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
    ...Array.from({ length: 8 }, (_, i) => `bomb${i + 1}: &b${i + 1} [${Array(9).fill(`*b${i}`).join(', ')}]`),
  ],
  'deep nesting': (lines, r) =>
    replaceValue(lines, r, () => {
      const n = 500 + Math.floor(r() * 3000)
      return pick(r, ['[', '{a: '])!.repeat(1) === '[' ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{a: '.repeat(n)}1${'}'.repeat(n)}`
    }),
  'huge value': (lines, r) => replaceValue(lines, r, () => `"${pick(r, ['x', '{{ ', '$', '\\u0041'])!.repeat(20_000 + Math.floor(r() * 40_000))}"`),
  'unknown key': (lines, r) => {
    const i = Math.floor(r() * lines.length)
    const indent = /^(\s*)/.exec(lines[i]!)![1]!
    return [...lines.slice(0, i + 1), `${indent}zzUnknown${Math.floor(r() * 100)}: 1`, ...lines.slice(i + 1)]
  },
}

function replaceValue(lines: string[], r: Rand, value: () => string): string[] {
  const candidates = lines.map((_l, i) => i).filter((i) => VALUE_LINE.test(lines[i]!))
  if (!candidates.length) return lines
  const i = pick(r, candidates)
  const out = [...lines]
  out[i] = out[i]!.replace(VALUE_LINE, (_m, pre, key) => `${pre}${key}: ${value()}`)
  return out
}

/** What is wrong with one case's outcome (empty: it held). */
function judge(text: string, file: string): { failures: string[]; ms: number; outcome: 'compiled' | 'refused' } {
  const t0 = performance.now()
  const failures: string[] = []
  let outcome: 'compiled' | 'refused' = 'compiled'
  try {
    compileMappingText(text, file)
  } catch (e) {
    outcome = 'refused'
    if (!(e instanceof MappingError)) failures.push(`uncaught ${(e as Error)?.constructor?.name}: ${(e as Error)?.message?.slice(0, 300)}`)
    else {
      if (e.problems.length === 0) failures.push('a MappingError without problems')
      for (const p of e.problems) {
        if (!Number.isInteger(p.line) || !Number.isInteger(p.column) || p.line < 1 || p.column < 1)
          failures.push(`unpositioned problem: ${JSON.stringify(p).slice(0, 300)}`)
        if (!p.path) failures.push(`problem without a path: ${p.message.slice(0, 200)}`)
        if (/\n\s+at .+\(.*:\d+:\d+\)|\bat [\w.<>]+ \(/.test(p.message)) failures.push(`stack trace in a message: ${p.message.slice(0, 300)}`)
      }
    }
  }
  const ms = performance.now() - t0
  if (ms > CASE_LIMIT_MS) failures.push(`took ${ms.toFixed(0)} ms`)
  return { failures, ms, outcome }
}

describe('reliability: mapping fuzz through the loader', () => {
  for (const [m, name] of mappingNames().entries()) {
    it(`${name}: ${CASES_PER_MAPPING} mutations compile or fail with placed problems, none over ${CASE_LIMIT_MS} ms`, () => {
      // Without its fixtures: what a bot admin pastes (the fixtures are half the file and only schema-checked).
      const original = readFileSync(join(root, 'mappings', `${name}.yaml`), 'utf8').split(/^fixtures:/m)[0]!
      const lines = original.split('\n')
      const r = seeded(0x5eed + m)
      const kinds = Object.keys(MUTATIONS)
      const stats: Record<string, { cases: number; compiled: number; refused: number; failed: number; maxMs: number }> = {}
      const failed: string[] = []
      for (let i = 0; i < CASES_PER_MAPPING; i++) {
        // Mostly one mutation; every fifth case two or three together.
        const chosen = Array.from({ length: i % 5 === 4 ? 2 + Math.floor(r() * 2) : 1 }, () => pick(r, kinds))
        let mutated = lines
        for (const k of chosen) mutated = MUTATIONS[k]!(mutated, r)
        const text = mutated.join('\n')
        const { failures, ms, outcome } = judge(text, `fuzz/${name}.yaml`)
        const kind = chosen.length > 1 ? 'combined' : chosen[0]!
        stats[kind] ??= { cases: 0, compiled: 0, refused: 0, failed: 0, maxMs: 0 }
        const s = stats[kind]!
        s.cases++
        s[outcome]++
        s.maxMs = Math.max(s.maxMs, ms)
        if (failures.length) {
          s.failed++
          mkdirSync(FAILURES_DIR, { recursive: true })
          const base = join(FAILURES_DIR, `fuzz-${name}-${i}`)
          writeFileSync(`${base}.yaml`, text)
          writeFileSync(`${base}.txt`, `${chosen.join(' + ')}\n${failures.join('\n')}\n`)
          failed.push(`case ${i} (${chosen.join(' + ')}): ${failures[0]}`)
        }
      }
      for (const [kind, s] of Object.entries(stats)) {
        report(
          `fuzz ${name} ${kind}: ${s.cases} cases, ${s.compiled} compiled, ${s.refused} refused with placed problems, ${s.failed} failed, slowest ${s.maxMs.toFixed(0)} ms`,
        )
      }
      expect(failed, `inputs written to ${FAILURES_DIR}`).toEqual([])
    })
  }
})
