import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createEngine } from '../engine/createEngine'
import { runFixtures } from '../fixtures/runFixtures'
import { compileMappingText } from '../mapping/loadMapping'
import { parseSettings } from '../mapping/parseSettings'
import { MappingError } from '../mapping/problems'

const USAGE = `universal-hitl — check and try vendor mappings

  universal-hitl validate <mapping.yaml>... [--settings <file>]
      ok, or every problem as file:line:column: path: message (exit 1)
  universal-hitl route <mapping.yaml> <request.json> [--settings <file>] [--registration <file>] [--no-verify]
      request.json = {"method","path","query","headers","body"}; prints each event as one JSON line,
      or the handshake reply; a verification failure exits 1 with the reason
  universal-hitl test <mapping.yaml>...
      runs the files' fixtures against a local stub helpdesk; ends with "N passed, N failed"
`

const readText = (path: string) => {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

class CliError extends Error {}

function readJsonOrYamlObject(path: string): Record<string, unknown> {
  const text = readText(path)
  try {
    const value = JSON.parse(text)
    // JSON that is not an object (a list, a string, null) is checked as text, which reports it.
    if (value && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {
    // not JSON: YAML text
  }
  return { __yaml: text }
}

function readJson(path: string): Record<string, unknown> {
  const text = readText(path)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new CliError(`${path} is not JSON: ${(e as Error).message}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CliError(`${path} must hold a JSON object`)
  return value as Record<string, unknown>
}

function settingsFrom(path: string | undefined): string | Record<string, unknown> | undefined {
  if (!path) return undefined
  const v = readJsonOrYamlObject(path)
  return typeof v.__yaml === 'string' ? v.__yaml : v
}

async function validate(files: string[], settingsPath: string | undefined): Promise<number> {
  if (files.length === 0) throw new CliError('validate needs at least one mapping file')
  let failed = 0
  for (const file of files) {
    try {
      const mapping = compileMappingText(readText(file), file)
      if (settingsPath) parseSettings(settingsFrom(settingsPath), mapping.file.settings ?? {}, settingsPath)
      console.log(`${file}: ok`)
    } catch (e) {
      if (!(e instanceof MappingError)) throw e
      failed++
      console.log(e.message)
    }
  }
  return failed ? 1 : 0
}

async function route(file: string | undefined, requestPath: string | undefined, opts: { settings?: string; registration?: string; verify: boolean }): Promise<number> {
  if (!file || !requestPath) throw new CliError('route needs <mapping.yaml> <request.json>')
  const mapping = compileMappingText(readText(file), file)
  const settings = parseSettings(settingsFrom(opts.settings), mapping.file.settings ?? {}, opts.settings ?? 'settings')
  const registration = opts.registration ? readJson(opts.registration) : undefined
  const request = readJson(requestPath)
  if (!('body' in request)) throw new CliError(`${requestPath} needs a "body" (a string or JSON)`)
  const body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body)
  const engine = createEngine({ mapping, settings, hash: 'cli' }, { registration })
  const outcome = await engine.routeWebhook({ ...(request as object), body } as never, { skipVerify: !opts.verify })
  switch (outcome.kind) {
    case 'handshake':
      console.log(JSON.stringify({ handshake: { status: outcome.status, headers: outcome.headers, body: outcome.body } }))
      return 0
    case 'rejected':
    case 'invalid':
      console.error(`${outcome.kind === 'rejected' ? 'verification failed' : 'invalid delivery'} (${outcome.status}): ${outcome.reason}`)
      return 1
    case 'events':
      for (const { rule: _rule, ...event } of outcome.events) console.log(JSON.stringify(event))
      for (const reason of outcome.skipped) console.error(`skipped: ${reason}`)
      if (outcome.events.length === 0) console.error('no event: no rule matched, or the delivery is one to ignore')
      return 0
  }
}

async function test(files: string[]): Promise<number> {
  if (files.length === 0) throw new CliError('test needs at least one mapping file')
  let passed = 0
  let failed = 0
  for (const file of files) {
    let results
    try {
      results = await runFixtures(readText(file), file)
    } catch (e) {
      if (!(e instanceof MappingError)) throw e
      console.log(e.message)
      failed++
      continue
    }
    if (results.length === 0) console.log(`${file}: no fixtures`)
    for (const r of results) {
      console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${file} ${r.kind} "${r.name}"`)
      for (const p of r.problems) console.log(`       ${p}`)
      r.ok ? passed++ : failed++
    }
  }
  console.log(`${passed} passed, ${failed} failed`)
  return failed ? 1 : 0
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      settings: { type: 'string' },
      registration: { type: 'string' },
      'no-verify': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [command, ...rest] = positionals
  if (values.help || !command) {
    console.log(USAGE)
    return command || values.help ? 0 : 2
  }
  switch (command) {
    case 'validate':
      return validate(rest, values.settings)
    case 'route':
      return route(rest[0], rest[1], { settings: values.settings, registration: values.registration, verify: !values['no-verify'] })
    case 'test':
      return test(rest)
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`)
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof CliError || e instanceof MappingError ? e.message : (e as Error).stack ?? String(e))
    process.exit(2)
  },
)
