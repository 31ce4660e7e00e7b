// Validation stays linear in the mapping's size: the costly steps are done once per node, not once per problem
// or once per pair of problems. Counted, not timed (speed figures are the benchmark's: `npm run bench`).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseYaml, toValue } from '../../src/mapping/parseYaml'
import { validateMapping } from '../../src/mapping/validateMapping'
import type { MappingError } from '../../src/mapping/problems'
import { compileMappingText } from '../../src/mapping/loadMapping'
import { acmeText, replaceOnce } from './helpers'

afterEach(() => vi.restoreAllMocks())

/** Calls of String.prototype[name] on texts of at least `minLength` characters while `run` runs (each still does its work). */
function callsOn(name: 'split' | 'startsWith', minLength: number, run: () => void): number {
  let calls = 0
  const original = String.prototype[name] as (...args: unknown[]) => unknown
  vi.spyOn(String.prototype, name).mockImplementation(function (this: string, ...args: unknown[]) {
    if (this.length >= minLength) calls++
    return original.apply(this, args)
  } as never)
  run()
  vi.restoreAllMocks()
  return calls
}

describe('placing problems inside one long block scalar', () => {
  const LINES = 400
  const body = Array.from({ length: LINES }, (_, i) => `  line ${i}: $x${i}`).join('\n')
  const text = `top: 1\nbody: |\n${body}\n`
  const lineLength = (i: number) => `line ${i}: $x${i}`.length + 1
  const offsetOfLine = (k: number) => Array.from({ length: k }, (_, i) => lineLength(i)).reduce((a, b) => a + b, 0)

  it('gives each problem its line:column', () => {
    const source = parseYaml(text, 'x.yaml')
    for (const k of [0, 1, 199, LINES - 1]) {
      const column = `line ${k}: `.length
      const p = source.problem('UH-E016', ['body'], 'unknown variable', { offsetInValue: offsetOfLine(k) + column })
      // The body's first line is line 3; it is indented by two spaces.
      expect(p).toMatchObject({ line: k + 3, column: column + 3, path: 'body' })
    }
  })

  it("splits the scalar's text into lines once, not once per problem", () => {
    const source = parseYaml(text, 'x.yaml')
    const splits = callsOn('split', body.length / 2, () => {
      for (let k = 0; k < LINES; k++) source.problem('UH-E016', ['body'], 'unknown variable', { offsetInValue: offsetOfLine(k) })
    })
    expect(splits).toBeLessThanOrEqual(1)
  })

  it('the same holds through compiling a mapping: every undeclared setting in a long body is placed', () => {
    const refs = Array.from({ length: 200 }, (_, i) => `"f${i}": $settings.nope${i}`).join(',\n              ')
    const text = replaceOnce(acmeText, '"queue": $settings.queue,', `"queue": $settings.queue,\n              ${refs},`)
    let problems: { line: number; column: number; message: string }[] = []
    try {
      compileMappingText(text, 'acme.yaml')
    } catch (e) {
      problems = (e as MappingError).problems
    }
    expect(problems).toHaveLength(200)
    const lines = text.split('\n')
    for (const p of [problems[0]!, problems[199]!]) {
      const name = /setting "(nope\d+)"/.exec(p.message)![1]!
      expect(lines[p.line - 1]!.indexOf(`$settings.${name}`) + 1).toBe(p.column)
    }
  })
})

describe('many schema errors', () => {
  // Each fixture file without its content: a `oneOf` error (text or base64) over two `required` errors, per file.
  const N = 300
  const files = Array.from({ length: N }, (_, i) => `    https://files.bpcontent.cloud/f${i}.png: { contentType: image/png }`).join('\n')
  const text = `${acmeText}\nfixtures:\n  files:\n${files}\n`

  it('are reported (up to the cap), each at its value', () => {
    const source = parseYaml(text, 'acme.yaml')
    const problems = validateMapping(toValue(source), source)
    expect(problems).toHaveLength(25)
    const line = text.split('\n').findIndex((l) => l.includes('/f0.png:')) + 1
    expect(problems[0]).toMatchObject({
      path: 'fixtures.files.https://files.bpcontent.cloud/f0.png',
      line,
      column: '    https://files.bpcontent.cloud/f0.png: '.length + 1,
    })
    expect(problems[0]!.message).toBe('missing required field "text"')
  })

  it('are not compared with each other error by error', () => {
    const source = parseYaml(text, 'acme.yaml')
    const value = toValue(source)
    // An error-by-error comparison does about N² prefix checks of instance paths; an index, a few per error.
    const checks = callsOn('startsWith', 0, () => validateMapping(value, source))
    expect(checks).toBeLessThan(N * 4)
  })
})
