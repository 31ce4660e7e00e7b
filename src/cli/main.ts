import { describeError, withCode } from '../diagnostics/codes'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createEngine, runOperationByName, OPERATION_NAMES, type OperationName } from '../engine/createEngine'
import { describeConformance } from '../fixtures/conformancePlan'
import { runFixtures } from '../fixtures/runFixtures'
import { rewriteToStub, startStubHelpdesk } from '../fixtures/stubHelpdesk'
import { requestLine } from '../http/requestLog'
import { vendorOriginOverride } from '../http/vendorOrigin'
import { mappingWarnings, todoProblems } from '../mapping/lintMapping'
import { compileMappingText } from '../mapping/loadMapping'
import { parseSettings } from '../mapping/parseSettings'
import { parseYaml } from '../mapping/parseYaml'
import { formatProblem, MappingError, type Problem } from '../mapping/problems'
import { formatExplanation } from '../webhook/explainRules'
import { refusalCode } from '../webhook/routeWebhook'
import { capture } from './capture'
import { reportFailure } from './failures'
import { CliError, loadForCli, readJson, readJsonOrYaml, readStepResponses, readText, settingsFrom } from './inputs'
import { packageRoot } from './packageRoot'
import { init } from './scaffold'
import { pack, PACK_USAGE } from './pack'

const USAGE = `universal-hitl — check and try vendor mappings

  universal-hitl validate <mapping.yaml>... [--settings <file>]
      ok, or every problem as file:line:column: path: message (exit 1); warnings (never failures) and
      TODOs left by init (problems) the same way
  universal-hitl route <mapping.yaml> <request.json> [--settings <file>] [--registration <file>]
                 [--responses <file>] [--no-verify] [--explain]
      request.json = {"method","path","query","headers","body"}; prints each event as one JSON line,
      or the handshake reply; a verification failure exits 1 with the reason. Settings and registration
      default to the file's fixtures. Lookup steps are answered from --responses ({"<step id>": [{status,
      headers, body}, …]}, as fixtures' stepResponses), else sent to UNIVERSAL_HITL_VENDOR_ORIGIN if set, else
      to the helpdesk. --explain prints every rule's when (true, false, undefined; missing paths) on stderr
  universal-hitl test <mapping.yaml>...
      runs the files' fixtures against a local stub helpdesk; ends with "N passed, N failed"; says per file
      whether the conformance hand-off (npm test) can play its fixtures, and if not why
  universal-hitl dry-run <mapping.yaml> <operation> [--input <file.json>] [--settings <file>]
                 [--registration <file>] [--responses <file>]
      runs createUser | createTicket | sendMessage | closeTicket | register | unregister | checkCredentials against
      a local stub
      (answering --responses: a list in order, or by step id; else 200 {}) and prints every request as
      rendered, secrets masked, and every step left out by its when; settings default to the file's
      fixtures.settings; input and responses to the file's first fixture of that operation (else a sample)
  universal-hitl capture <mapping.yaml> --port <n> --record <fixtures.yaml> [--settings <file>] [--registration <file>]
      listens on 127.0.0.1:<n> as the integration's webhook would, answers as it would, and appends every
      delivery with the events it produced to <fixtures.yaml> as webhook fixtures (secrets replaced, re-signed)
  universal-hitl init <name> [--from <mapping|shipped name>] [--force]
      writes <name>.yaml: a commented skeleton with every operation, a verify block and fixtures to fill in
  universal-hitl schema
      prints the path of the mapping JSON Schema (for an editor's modeline)

${PACK_USAGE}

  Options: --debug (a stack trace on unexpected errors), --help.
  Exit codes: 0 ok; 1 problems found (mapping problems, failed fixtures, a rejected delivery, a failed request);
  2 usage or input error (bad arguments, a file that cannot be read or parsed).
`

const SAMPLE_INPUTS: Record<OperationName, Record<string, unknown>> = {
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
  sendMessage: {
    ticketId: '123',
    type: 'text',
    payload: { text: 'Are you there?' },
    userId: 'user_dryrun_0000000000000000001',
    externalUserId: '1001',
    userName: 'Jane Doe',
  },
  closeTicket: { ticketId: '123' },
  register: {},
  unregister: {},
  checkCredentials: {},
}

const printProblems = (problems: Problem[]) => {
  for (const p of problems) console.log(formatProblem(p))
}

async function validate(files: string[], settingsPath: string | undefined): Promise<number> {
  if (files.length === 0) throw new CliError('validate needs at least one mapping file')
  let failed = 0
  for (const file of files) {
    const text = readText(file)
    try {
      // Warnings need only the YAML; they are printed even when the file has problems too.
      const source = parseYaml(text, file)
      const warnings = mappingWarnings(source)
      printProblems(warnings)
      const mapping = compileMappingText(text, file, source)
      const todos = todoProblems(source)
      if (todos.length) throw new MappingError(todos)
      if (settingsPath) parseSettings(settingsFrom(settingsPath), mapping.file.settings ?? {}, settingsPath)
      console.log(`${file}: ok${warnings.length ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''})` : ''}`)
    } catch (e) {
      if (!(e instanceof MappingError)) throw e
      failed++
      console.log(e.message)
    }
  }
  return failed ? 1 : 0
}

type RouteOptions = { settings?: string; registration?: string; responses?: string; verify: boolean; explain: boolean }

async function route(file: string | undefined, requestPath: string | undefined, opts: RouteOptions): Promise<number> {
  if (!file || !requestPath) throw new CliError('route needs <mapping.yaml> <request.json>')
  const request = readJson(requestPath)
  if (!('body' in request)) throw new CliError(`${requestPath} needs a "body" (a string or JSON)`)
  const answers = opts.responses ? readStepResponses(opts.responses) : undefined
  const { mapping, settings, registration } = loadForCli(file, opts)
  const body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body)
  const stub = answers ? await startStubHelpdesk() : undefined
  for (const [stepId, list] of Object.entries(answers ?? {})) stub!.enqueueFor(stepId, ...list)
  const engine = createEngine(
    { mapping, settings, hash: 'cli' },
    { registration, rewriteUrl: stub ? rewriteToStub(stub.url) : vendorOriginOverride(), onRequest: (r) => console.error(`lookup ${requestLine(r)}`) },
  )
  let outcome: Awaited<ReturnType<typeof engine.routeWebhook>>
  try {
    outcome = await engine.routeWebhook({ ...(request as object), body } as never, { skipVerify: !opts.verify, explain: opts.explain })
  } finally {
    await stub?.close()
  }
  switch (outcome.kind) {
    case 'handshake':
      console.log(JSON.stringify({ handshake: { status: outcome.status, headers: outcome.headers, body: outcome.body } }))
      return 0
    case 'rejected':
    case 'invalid':
      console.error(
        `${outcome.kind === 'rejected' ? 'verification failed' : 'invalid delivery'} (${outcome.status}): ${withCode(refusalCode(outcome), outcome.reason)}`,
      )
      return 1
    case 'events':
      for (const { rule: _rule, ...event } of outcome.events) console.log(JSON.stringify(event))
      for (const reason of outcome.skipped) console.error(`skipped: ${reason}`)
      if (outcome.events.length === 0) console.error('no event: no rule matched, or the delivery is one to ignore')
      for (const line of formatExplanation(outcome.explain ?? [])) console.error(line)
      return 0
  }
}

type DryRunOptions = { input?: string; settings?: string; registration?: string; responses?: string }

async function dryRun(file: string | undefined, operation: string | undefined, opts: DryRunOptions): Promise<number> {
  if (!file || !operation) throw new CliError('dry-run needs <mapping.yaml> <operation>')
  if (!(OPERATION_NAMES as readonly string[]).includes(operation)) throw new CliError(`unknown operation "${operation}"; one of: ${OPERATION_NAMES.join(', ')}`)
  const op = operation as OperationName
  const given = { input: opts.input ? readJson(opts.input) : undefined, responses: opts.responses ? readJsonOrYaml(opts.responses) : undefined }
  if (given.responses !== undefined && (!given.responses || typeof given.responses !== 'object')) {
    throw new CliError(`${opts.responses} must hold a list of {status, headers, body} (in order) or lists of them by step id`)
  }
  const { mapping, settings, registration } = loadForCli(file, opts)
  // Without --input/--responses, the file's first fixture of that operation supplies them (else a sample input).
  const fixture = mapping.file.fixtures?.operations?.find((f) => f.operation === op)
  if (fixture && (!given.input || !given.responses))
    console.log(`(using fixture "${fixture.name}" for ${[!given.input && 'input', !given.responses && 'responses'].filter(Boolean).join(' and ')})`)
  const input = given.input ?? fixture?.input ?? SAMPLE_INPUTS[op]
  const responses = given.responses ?? fixture?.responses ?? []
  const stub = await startStubHelpdesk()
  if (Array.isArray(responses)) stub.enqueue(...responses)
  else for (const [stepId, list] of Object.entries(readStepResponses(opts.responses!))) stub.enqueueFor(stepId, ...list)
  const webhookUrl = (input.webhookUrl as string | undefined) ?? 'https://webhook.botpress.cloud/wh_dryrun'
  const engine = createEngine(
    { mapping, settings, hash: 'dry-run' },
    {
      registration,
      webhookUrl,
      rewriteUrl: rewriteToStub(stub.url),
      onRequest: (r) => {
        console.log(requestLine(r))
        for (const [k, v] of Object.entries(r.headers)) console.log(`  ${k}: ${v}`)
        if (r.body !== undefined) console.log(`  ${r.body}`)
      },
      onStepSkipped: (s) =>
        console.log(
          `${s.label}: skipped, its when gave ${s.value === undefined ? 'undefined' : JSON.stringify(s.value)} (when: ${s.when.replace(/\s+/g, ' ').trim()})`,
        ),
    },
  )
  try {
    const result = await runOperationByName(engine, op, input, webhookUrl)
    console.log(`result: ${engine.redactor.body(JSON.stringify(result))}`)
    return 0
  } catch (e) {
    console.log(`failed: ${engine.redactor.text(describeError(e))}`)
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
    const text = readText(file)
    let results: Awaited<ReturnType<typeof runFixtures>>
    try {
      results = await runFixtures(text, file)
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
    console.log(`${file}: ${describeConformance(compileMappingText(text, file).file)}`)
  }
  console.log(`${passed} passed, ${failed} failed`)
  return failed ? 1 : 0
}

const OPTIONS = {
  settings: { type: 'string' },
  registration: { type: 'string' },
  input: { type: 'string' },
  responses: { type: 'string' },
  port: { type: 'string' },
  record: { type: 'string' },
  from: { type: 'string' },
  force: { type: 'boolean', default: false },
  'no-verify': { type: 'boolean', default: false },
  explain: { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export async function main(argv: string[]): Promise<number> {
  // biome-ignore lint/suspicious/noImplicitAnyLet: TypeScript types it from the assignment below (parseArgs's inferred result)
  let parsed
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS })
  } catch (e) {
    throw new CliError(`${(e as Error).message} (universal-hitl --help lists the options)`)
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help || !command) {
    console.log(USAGE)
    return command || values.help ? 0 : 2
  }
  switch (command) {
    case 'validate':
      return validate(rest, values.settings)
    case 'route':
      return route(rest[0], rest[1], {
        settings: values.settings,
        registration: values.registration,
        responses: values.responses,
        verify: !values['no-verify'],
        explain: values.explain,
      })
    case 'test':
      return test(rest)
    case 'pack':
      return pack(rest, readText)
    case 'dry-run':
      return dryRun(rest[0], rest[1], { input: values.input, settings: values.settings, registration: values.registration, responses: values.responses })
    case 'capture':
      return capture(rest[0], { port: values.port, record: values.record, settings: values.settings, registration: values.registration })
    case 'init':
      return init(rest[0], { from: values.from, force: values.force })
    case 'schema':
      console.log(join(packageRoot(), 'schemas', 'mapping.schema.json'))
      return 0
    default:
      throw new CliError(`unknown command "${command}" (universal-hitl --help lists the commands)`)
  }
}

const argv = process.argv.slice(2)
main(argv).then(
  (code) => process.exit(code),
  (e) => process.exit(reportFailure(e, argv.includes('--debug'))),
)
