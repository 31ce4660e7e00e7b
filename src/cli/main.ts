import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createEngine, runOperationByName, type OperationName } from '../engine/createEngine'
import { runFixtures } from '../fixtures/runFixtures'
import { startStubHelpdesk } from '../fixtures/stubHelpdesk'
import { compileMappingText } from '../mapping/loadMapping'
import { parseSettings } from '../mapping/parseSettings'
import { formatProblem, MappingError } from '../mapping/problems'

const USAGE = `universal-hitl — check and try vendor mappings

  universal-hitl validate <mapping.yaml>... [--settings <file>]
      ok, or every problem as file:line:column: path: message (exit 1)
  universal-hitl route <mapping.yaml> <request.json> [--settings <file>] [--registration <file>] [--no-verify]
      request.json = {"method","path","query","headers","body"}; prints each event as one JSON line,
      or the handshake reply; a verification failure exits 1 with the reason
  universal-hitl test <mapping.yaml>...
      runs the files' fixtures against a local stub helpdesk; ends with "N passed, N failed"
  universal-hitl dry-run <mapping.yaml> <operation> [--input <file.json>] [--settings <file>]
                 [--registration <file>] [--responses <file.json>]
      runs createUser | createTicket | sendMessage | closeTicket | register | unregister against a local stub
      (answering --responses in order, else 200 {}) and prints every request as rendered, secrets masked;
      settings default to the file's fixtures.settings; input and responses to the file's first fixture of that
      operation (else a sample input and 200 {})
`

const SAMPLE_INPUTS: Record<string, Record<string, unknown>> = {
  createUser: { userId: 'user_dryrun_0000000000000000001', name: 'Jane Doe', email: 'jane@example.com' },
  createTicket: {
    userId: 'user_dryrun_0000000000000000001',
    externalUserId: '1001',
    user: { name: 'Jane Doe', email: 'jane@example.com' },
    title: 'Order #1042 has not arrived',
    description: 'Escalated by the bot',
    messageHistory: [
      { source: { type: 'user', userId: 'user_dryrun_0000000000000000001' }, type: 'text', payload: { text: 'Where is my order?' } },
      { source: { type: 'bot' }, type: 'text', payload: { text: 'Let me get you a human agent.' } },
    ],
  },
  sendMessage: { ticketId: '123', type: 'text', payload: { text: 'Are you there?' }, userId: 'user_dryrun_0000000000000000001', externalUserId: '1001', userName: 'Jane Doe' },
  closeTicket: { ticketId: '123' },
  register: {},
  unregister: {},
}

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
      for (const w of mapping.warnings) console.log(formatProblem(w))
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

async function dryRun(file: string | undefined, operation: string | undefined, opts: { input?: string; settings?: string; registration?: string; responses?: string }): Promise<number> {
  if (!file || !operation) throw new CliError('dry-run needs <mapping.yaml> <operation>')
  if (!(operation in SAMPLE_INPUTS)) throw new CliError(`unknown operation "${operation}"; one of: ${Object.keys(SAMPLE_INPUTS).join(', ')}`)
  const mapping = compileMappingText(readText(file), file)
  const settingsSource = opts.settings ? settingsFrom(opts.settings) : ((mapping.file.fixtures?.settings ?? {}) as Record<string, unknown>)
  const settings = parseSettings(settingsSource, mapping.file.settings ?? {}, opts.settings ?? `${file} fixtures.settings`)
  const registration = opts.registration ? readJson(opts.registration) : mapping.file.fixtures?.registration
  // Without --input/--responses, the file's first fixture of that operation supplies them (else a sample input).
  const fixture = mapping.file.fixtures?.operations?.find((f) => f.operation === operation)
  if (fixture && (!opts.input || !opts.responses)) console.log(`(using fixture "${fixture.name}" for ${[!opts.input && 'input', !opts.responses && 'responses'].filter(Boolean).join(' and ')})`)
  const input = opts.input ? readJson(opts.input) : (fixture?.input ?? SAMPLE_INPUTS[operation]!)
  const responses = opts.responses ? JSON.parse(readText(opts.responses)) : (fixture?.responses ?? [])
  if (!Array.isArray(responses)) throw new CliError(`${opts.responses} must hold a JSON array of {status, headers, body}`)
  const stub = await startStubHelpdesk()
  stub.enqueue(...responses)
  const webhookUrl = (input.webhookUrl as string | undefined) ?? 'https://webhook.botpress.cloud/wh_dryrun'
  const engine = createEngine({ mapping, settings, hash: 'dry-run' }, {
    registration,
    webhookUrl,
    rewriteUrl: (url) => {
      const u = new URL(url)
      return `${stub.url}${u.pathname}${u.search}`
    },
    onRequest: (r) => {
      console.log(`${r.label}: ${r.method} ${r.url} → ${r.status ?? 'failed'}`)
      for (const [k, v] of Object.entries(r.headers)) console.log(`  ${k}: ${v}`)
      if (r.body !== undefined) console.log(`  ${r.body}`)
    },
  })
  try {
    const result = await runOperationByName(engine, operation as OperationName, input, webhookUrl)
    console.log(`result: ${engine.redactor.body(JSON.stringify(result))}`)
    return 0
  } catch (e) {
    console.log(`failed: ${engine.redactor.text((e as Error).message)}`)
    return 1
  } finally {
    await stub.close()
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
      input: { type: 'string' },
      responses: { type: 'string' },
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
    case 'dry-run':
      return dryRun(rest[0], rest[1], { input: values.input, settings: values.settings, registration: values.registration, responses: values.responses })
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
