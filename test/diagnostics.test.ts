// Diagnostic codes: the table (src/diagnostics/codes.ts) and docs/errors.md agree, every code is produced
// somewhere, codes are never renumbered, and both kinds of report name the code.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DIAGNOSTIC_CODES, describeError } from '../src/diagnostics/codes'
import { formatProblem } from '../src/mapping/problems'
import { parseSettings } from '../src/mapping/parseSettings'
import { refusalCode } from '../src/webhook/routeWebhook'
import { acmeText, engineOf, mappingErrorOf, mappingObject, problemsOf, replaceOnce } from './engine/helpers'

const root = join(__dirname, '..')
const docs = readFileSync(join(root, 'docs', 'errors.md'), 'utf8')

/** Every code and title as released (this list only grows: a code keeps its number and meaning for good). */
const RELEASED: [string, string][] = JSON.parse(readFileSync(join(__dirname, 'support', 'released-diagnostic-codes.json'), 'utf8'))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') && !name.endsWith('.generated.ts') ? [path] : []
  })
}

describe('the code table and docs/errors.md', () => {
  const table = Object.entries(DIAGNOSTIC_CODES)

  it('document every code, in order, under the same title, and nothing else', () => {
    const documented = [...docs.matchAll(/^### (UH-[EW]\d{3}) — (.+)$/gm)].map((m) => [m[1], m[2]])
    expect(documented).toEqual(table)
    // Each section says what it means and how to fix it.
    for (const section of docs.split(/^### /m).slice(1)) expect(section, section.split('\n')[0]).toMatch(/\nFix: \S/)
  })

  it('numbers each series from 001 without gaps, and keeps every released code as it was', () => {
    for (const series of ['E', 'W']) {
      const numbers = table
        .map(([code]) => code)
        .filter((c) => c[3] === series)
        .map((c) => Number(c.slice(4)))
      expect(numbers).toEqual(numbers.map((_, i) => i + 1))
    }
    expect(table.slice(0, RELEASED.length)).toEqual(RELEASED)
  })

  it('every code is produced somewhere in src/ (no documented code unused)', () => {
    const text = sourceFiles(join(root, 'src'))
      .filter((f) => !f.endsWith(join('diagnostics', 'codes.ts')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n')
    const unused = table.map(([code]) => code).filter((code) => !text.includes(`'${code}'`))
    // E047–E049 are chosen by refusalCode (src/webhook/routeWebhook.ts), which names them literally too.
    expect(unused).toEqual([])
  })
})

describe('a mapping or settings problem names its code', () => {
  it('schema, compile, YAML and settings problems', () => {
    const cases: [string, string][] = [
      [replaceOnce(acmeText, 'version: 1', 'version: 1\ncolour: blue'), 'UH-E006'],
      [replaceOnce(acmeText, 'version: 1', 'version: 1\n\tbad: tab'), 'UH-E001'],
      [acmeText.replace('$settings.baseUrl', '$settings.baseUrll'), 'UH-E017'],
      [acmeText.replace('$settings.baseUrl', '$setings.baseUrl'), 'UH-E016'],
    ]
    for (const [text, code] of cases) {
      const problems = problemsOf(text, 'm.yaml')
      expect(
        problems.map((p) => p.code),
        code,
      ).toContain(code)
      const line = formatProblem(problems.find((p) => p.code === code)!)
      expect(line).toMatch(new RegExp(`^m\\.yaml:\\d+:\\d+: \\S+: ${code} \\S`))
    }
    const settings = mappingErrorOf(() => parseSettings('apiTokn: x\n', { apiToken: { required: true } }, 's.yaml'))
    expect(settings.message.split('\n')).toEqual([
      's.yaml:1:1: apiTokn: UH-E026 unknown setting "apiTokn"; this mapping declares: apiToken',
      's.yaml:1:1: (root): UH-E028 missing required setting "apiToken"',
    ])
  })
})

describe('a run-time error names its code', () => {
  let server: Server
  let origin: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume()
      res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'subject is required' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('a vendor error status: UH-E035 first, the message unchanged', async () => {
    const engine = engineOf(mappingObject(), { baseUrl: origin, apiToken: 'tok', webhookSecret: 'sec' })
    const e = await engine.closeTicket({ ticketId: 'T1' }).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(describeError(e)).toMatch(/^UH-E035 closeTicket step 1: PUT \/api\/tickets\/T1 answered 422: subject is required$/)
  })

  it('a refused delivery: its code by kind and status', () => {
    expect(refusalCode({ kind: 'rejected', status: 401, reason: 'signature does not match' })).toBe('UH-E047')
    expect(refusalCode({ kind: 'invalid', status: 413, reason: 'body larger than 1 bytes' })).toBe('UH-E048')
    expect(refusalCode({ kind: 'invalid', status: 400, reason: 'empty body; expected JSON' })).toBe('UH-E049')
  })
})
