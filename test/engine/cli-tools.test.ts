// The author's tools of the command-line tool: route offline (--responses, fixture settings, the vendor origin
// override, --explain), clean failures, dry-run's skipped steps and empty credentials, validate's warnings,
// test's conformance line, capture, init and schema. Every run asserts its exit code and no stack frames.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { runFixtures } from '../../src/fixtures/runFixtures'
import { reportFailure } from '../../src/cli/failures'
import { CliError } from '../../src/cli/inputs'
import { VendorRequestError } from '../../src/http/sendRequest'
import { MappingError } from '../../src/mapping/problems'
import { createCapture } from '../../src/fixtures/captureDeliveries'
import { compileMappingText } from '../../src/mapping/loadMapping'
import type { Fixtures } from '../../src/mapping/types'

import { parseSettings } from '../../src/mapping/parseSettings'
import { formatExplanation } from '../../src/webhook/explainRules'
import {
  acmeSignedRequest,
  acmeText,
  engineOf,
  mappingObject,
  replaceOnce,
  runCli,
  runCliWith,
  STACK_FRAME,
  UNSIGNED_DEDUPE_KEYS,
  yamlOf,
  type CliRun,
} from './helpers'

/** The fixtures section `capture` writes: it always has webhooks. */
type Captured = Fixtures & Required<Pick<Fixtures, 'webhooks'>>

const root = join(__dirname, '..', '..')
const SECRET = 'whsec-tools-SECRET-3141'
const TOKEN = 'tok-tools-SECRET-2718'
let dir: string
let stub: StubHelpdesk

const run = (...args: string[]) => runCli(dir, ...args)
const lines = (text: string) => text.split('\n').filter((l) => l !== '')
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text)
  return name
}
/** Every run of the tool: the expected exit code, and nothing on stderr that looks like a stack trace. */
function expectExit(r: CliRun, code: number) {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code)
  expect(r.stderr).not.toMatch(STACK_FRAME)
  expect(r.stdout).not.toMatch(STACK_FRAME)
}

const ASSIGNED = { event: 'ticket.assigned', ticket: { id: 12 }, agentId: 7 }

beforeAll(async () => {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' })
  dir = mkdtempSync(join(tmpdir(), 'uhitl-tools-'))
  stub = await startStubHelpdesk()
  write('acme.yaml', acmeText)
  // A helpdesk that answers nothing: a lookup sent there fails at once (connection refused).
  write('settings.yaml', `baseUrl: http://127.0.0.1:9\napiToken: ${TOKEN}\nwebhookSecret: ${SECRET}\n`)
  write('assigned.json', acmeSignedRequest(ASSIGNED, SECRET))
})
afterAll(async () => {
  await stub?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('route', () => {
  it('--responses answers lookup steps by step id, offline', async () => {
    write('answers.yaml', 'agent:\n  - status: 200\n    body: { agent: { name: Priya, avatar: "https://cdn.example/p.png" } }\n')
    const r = await run('route', 'acme.yaml', 'assigned.json', '--settings', 'settings.yaml', '--responses', 'answers.yaml')
    expectExit(r, 0)
    expect(lines(r.stdout).map((l) => JSON.parse(l))).toEqual([
      { type: 'assigned', ticketId: '12', agent: { id: '7', name: 'Priya', avatarUrl: 'https://cdn.example/p.png' }, dedupeKey: 'dlv-1' },
    ])
    expect(r.stderr).toMatch(/^lookup webhook rule "assignment" step "agent": GET http:\/\/127\.0\.0\.1:9\/api\/agents\/7 → 200$/m)
  })

  it('honours UNIVERSAL_HITL_VENDOR_ORIGIN for lookups', async () => {
    stub.reset()
    stub.route({ method: 'GET', path: '/api/agents/7', respond: () => ({ body: { agent: { name: 'Lee' } } }) })
    const r = await runCliWith(
      { cwd: dir, env: { UNIVERSAL_HITL_VENDOR_ORIGIN: stub.url } },
      'route',
      'acme.yaml',
      'assigned.json',
      '--settings',
      'settings.yaml',
    )
    expectExit(r, 0)
    expect(JSON.parse(lines(r.stdout)[0]!).agent).toEqual({ id: '7', name: 'Lee' })
    expect(stub.requests.map((q) => `${q.method} ${q.path} ${q.headers.authorization}`)).toEqual([`GET /api/agents/7 Bearer ${TOKEN}`])
  })

  it('a lookup that fails: one "error:" line naming the step, exit 1, no stack', async () => {
    const r = await run('route', 'acme.yaml', 'assigned.json', '--settings', 'settings.yaml')
    expectExit(r, 1)
    const err = lines(r.stderr)
    expect(err.at(-1)).toMatch(/^error: UH-E036 webhook rule "assignment" step "agent": GET \/api\/agents\/7 failed: ECONNREFUSED/)
    expect(r.stderr).not.toContain(TOKEN)
  })

  it("settings and registration default to the file's fixtures", async () => {
    const fixtureSecret = 'whsec-fixture-9'
    write('with-fixtures.yaml', `${acmeText}\nfixtures:\n  settings: { baseUrl: "https://acme.example", apiToken: tok-fx, webhookSecret: ${fixtureSecret} }\n`)
    write('solved.json', acmeSignedRequest({ event: 'ticket.status', ticket: { id: 5, status: 'solved' } }, fixtureSecret))
    const r = await run('route', 'with-fixtures.yaml', 'solved.json')
    expectExit(r, 0)
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'solved', ticketId: '5' })
    // Without fixtures or --settings, the problem names what was missing, not a file never given.
    const bare = await run('route', 'acme.yaml', 'solved.json')
    expectExit(bare, 1)
    expect(bare.stderr).toContain('acme.yaml (no --settings given, no fixtures.settings)')
    expect(bare.stderr).not.toMatch(/^settings:1:1/m)
  })

  it("--explain gives each rule's when, true/false/undefined, and the missing paths", async () => {
    write('odd.json', JSON.stringify({ body: { event: 'message.created', ticket: { id: 3 } } }))
    const r = await run('route', 'acme.yaml', 'odd.json', '--settings', 'settings.yaml', '--no-verify', '--explain')
    expectExit(r, 0)
    expect(r.stdout).toBe('')
    const err = lines(r.stderr)
    expect(err).toContain('event object 1: no rule matched')
    expect(err.find((l) => l.includes('"agent reply"'))).toMatch(
      /: false \(missing: message\) {2}— when: event = "message.created" and message.author.type = "agent"$/,
    )
    expect(err.find((l) => l.includes('"solved"'))).toMatch(/: false \(missing: ticket\.status\)/)
  })
})

describe('clean failures', () => {
  it('an unknown option or a bad request file: one "error:" line, exit 2', async () => {
    const r = await run('validate', 'acme.yaml', '--frobnicate')
    expectExit(r, 2)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^error: Unknown option '--frobnicate'/)
    write('bad-answers.json', '{"agent": {"status": 200}}')
    const bad = await run('route', 'acme.yaml', 'assigned.json', '--settings', 'settings.yaml', '--responses', 'bad-answers.json')
    expectExit(bad, 2)
    expect(bad.stderr).toBe(
      'error: bad-answers.json must map step ids to lists of {status, headers, body}, as a fixture\'s stepResponses (step "agent" is not a list of objects)\n',
    )
  })

  it('a mapping with problems given to route: its positioned problems, exit 1', async () => {
    write('broken.yaml', replaceOnce(acmeText, 'emit: solved', 'emit: closed'))
    const r = await run('route', 'broken.yaml', 'assigned.json', '--settings', 'settings.yaml')
    expectExit(r, 1)
    expect(r.stderr).toMatch(/^broken\.yaml:\d+:\d+: webhook\.events\[2\]\.emit: /)
  })
})

describe('dry-run', () => {
  it('lists steps left out by their when, with the value, and marks empty credentials', async () => {
    const m = mappingObject({
      settings: { baseUrl: { required: true }, apiToken: { secret: true } },
      operations: {
        closeTicket: {
          steps: [
            { id: 'note', when: 'reason != ""', request: { method: 'POST', path: '/tickets/{{ ticketId }}/notes', body: '{"text": reason}' } },
            { request: { method: 'PUT', path: '/tickets/{{ ticketId }}', body: '{"status": "closed"}' } },
          ],
        },
      },
    })
    write('skips.yaml', yamlOf(m))
    write('skips-settings.yaml', 'baseUrl: https://desk.example\n')
    const r = await run('dry-run', 'skips.yaml', 'closeTicket', '--settings', 'skips-settings.yaml')
    expectExit(r, 0)
    expect(lines(r.stdout)).toEqual([
      'closeTicket step "note": skipped, its when gave false (when: reason != "")',
      'closeTicket step 2: PUT https://desk.example/api/tickets/123 → 200',
      '  accept: application/json',
      '  authorization: Bearer (empty)',
      '  {"status":"closed"}',
      'result: {}',
    ])
  })
})

describe('validate warnings', () => {
  it('unquoted fixture numbers in exponent/octal form and != on fields that may be missing: positioned warnings, exit 0', async () => {
    const text =
      replaceOnce(acmeText, 'when: event = "ticket.assigned"', 'when: event = "ticket.assigned" and agentId != "0"') +
      '\nfixtures:\n  settings: { baseUrl: "https://a.example", apiToken: t-1, webhookSecret: 5e70 }\n  registration: { hookId: 0o17, other: "5e01", n: 42 }\n'
    write('warn.yaml', text)
    const r = await run('validate', 'warn.yaml')
    expectExit(r, 0)
    const out = lines(r.stdout)
    const textLines = text.split('\n')
    const lineOf = (needle: string) => textLines.findIndex((l) => l.includes(needle)) + 1
    expect(out).toEqual([
      `warn.yaml:${lineOf('dedupeKey:')}:${textLines[lineOf('dedupeKey:') - 1]!.indexOf('$headers') + 1}: webhook.dedupeKey: UH-W003 warning: reads the header "x-acme-delivery", which the signature (webhook.verify.signed) does not cover: a replay with another value passes deduplication; take the key from the signed body`,
      `warn.yaml:${lineOf('agentId != "0"')}:${textLines[lineOf('agentId != "0"') - 1]!.indexOf('!=') + 1}: webhook.events[1].when: UH-W002 warning: "agentId != …" is false when agentId is missing (JSONata compares nothing with nothing); if a missing agentId counts as different write "$not(agentId = …)", if it must not match write "$exists(agentId) and agentId != …"`,
      `warn.yaml:${lineOf('5e70')}:${textLines[lineOf('5e70') - 1]!.indexOf('5e70') + 1}: fixtures.settings.webhookSecret: UH-W001 warning: 5e70 is read as the number 5e+70; quote it ("5e70") if it is an id or text`,
      `warn.yaml:${lineOf('0o17')}:${textLines[lineOf('0o17') - 1]!.indexOf('0o17') + 1}: fixtures.registration.hookId: UH-W001 warning: 0o17 is read as the number 15; quote it ("0o17") if it is an id or text`,
      'warn.yaml: ok (4 warnings)',
    ])
  })

  it('the shipped mappings have no warnings', async () => {
    const shipped = readdirSync(join(root, 'mappings')).filter((f) => f.endsWith('.yaml'))
    expect(shipped.length).toBeGreaterThan(3)
    const r = await run('validate', ...shipped.map((f) => join(root, 'mappings', f)))
    expectExit(r, 0)
    // But the dedupe-key warnings of the mappings that must key on an unsigned header (listed with why).
    const known = (l: string) =>
      Object.keys(UNSIGNED_DEDUPE_KEYS).some((name) => l.includes(`/mappings/${name}.yaml:`) && /: webhook\.dedupeKey: UH-W\d{3} warning:/.test(l))
    expect(lines(r.stdout).filter((l) => l.includes('warning') && !known(l) && !/ok \(\d+ warnings?\)$/.test(l))).toEqual([])
  })
})

describe('test', () => {
  it('says per mapping whether the conformance hand-off plays its fixtures', async () => {
    const r = await run('test', join(root, 'mappings', 'demo-desk.yaml'), 'acme.yaml')
    expectExit(r, 0)
    expect(r.stdout).toContain('demo-desk.yaml: conformance hand-off: runs (ticket tkt_1; webhooks newMessage, assigned, solved)')
    expect(r.stdout).toContain('acme.yaml: conformance hand-off: not run: no createUser operation fixture')
  })

  it("a failing webhook fixture prints every rule's when verdict", async () => {
    write(
      'fail.yaml',
      `${acmeText}
fixtures:
  settings: { baseUrl: "https://a.example", apiToken: t-1, webhookSecret: s-1 }
  webhooks:
    - name: expects an event that does not come
      request: { body: { event: message.created, ticket: { id: 1 }, message: { id: 2, text: hi } } }
      expect: { events: [{ type: newMessage, ticketId: "1" }] }
`.replace(/ {2}verify:\n(?: {4}.*\n)+/, '  verify: none\n'),
    )
    const r = await run('test', 'fail.yaml')
    expectExit(r, 1)
    expect(r.stdout).toMatch(/ {7}webhook rule "agent reply": false \(missing: message\.author\)/)
  })
})

describe('stepResponses by step id', () => {
  it('two lookups of one event, and one lookup per element of a batch, each get their own answers', async () => {
    const m = mappingObject({
      webhook: {
        verify: 'none',
        forEach: 'events',
        events: [
          {
            when: 'kind = "assigned"',
            emit: 'assigned',
            ticketId: 'ticket',
            steps: [
              { id: 'agent', request: { method: 'GET', path: '/agents/{{ agent }}' } },
              { id: 'team', request: { method: 'GET', path: '/teams/{{ team }}' } },
            ],
            agent: { id: 'agent', name: '$steps.agent.body.name & " (" & $steps.team.body.name & ")"' },
          },
        ],
      },
      fixtures: {
        settings: { baseUrl: 'https://desk.example', apiToken: 't' },
        webhooks: [
          {
            name: 'a batch of two assignments',
            request: {
              body: {
                events: [
                  { kind: 'assigned', ticket: 1, agent: 7, team: 3 },
                  { kind: 'assigned', ticket: 2, agent: 8, team: 4 },
                ],
              },
            },
            // Keys in the other order than the steps run: answers go by id, not by position.
            stepResponses: {
              team: [{ body: { name: 'Billing' } }, { body: { name: 'Returns' } }],
              agent: [{ body: { name: 'Ann' } }, { body: { name: 'Bo' } }],
            },
            expect: {
              events: [
                { type: 'assigned', ticketId: '1', agent: { id: '7', name: 'Ann (Billing)' } },
                { type: 'assigned', ticketId: '2', agent: { id: '8', name: 'Bo (Returns)' } },
              ],
            },
          },
        ],
      },
    })
    const results = await runFixtures(yamlOf(m), 'batch.yaml')
    expect(results).toMatchObject([{ name: 'a batch of two assignments', kind: 'webhook', ok: true, problems: [] }])
    expect(results[0]!.requests.map((r) => `${r.step} ${r.path}`)).toEqual([
      'agent /api/agents/7',
      'team /api/teams/3',
      'agent /api/agents/8',
      'team /api/teams/4',
    ])
  })
})

/** POSTs a request file's delivery (as `route` reads them) to a local URL; resolves with the status. */
function deliver(url: string, requestJson: string): Promise<number> {
  const d = JSON.parse(requestJson) as { path: string; headers: Record<string, string>; body: string }
  return new Promise((resolve, reject) => {
    const req = request(`${url.replace(/\/$/, '')}${d.path}`, { method: 'POST', headers: d.headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(d.body)
  })
}

describe('capture', () => {
  it('records real deliveries with their events as fixtures that pass with sign: true, secrets replaced', async () => {
    stub.reset()
    stub.route({ method: 'GET', path: '/api/agents/7', respond: () => ({ body: { agent: { name: 'Priya' } } }) })
    const deliveries = [
      acmeSignedRequest(
        { event: 'message.created', ticket: { id: 12 }, message: { id: 99, text: `Hi, token ${TOKEN}?`, author: { type: 'agent', id: 7, name: 'Priya' } } },
        SECRET,
        { 'x-acme-delivery': 'd-1' },
      ),
      acmeSignedRequest(ASSIGNED, SECRET, { 'x-acme-delivery': 'd-2' }),
      acmeSignedRequest({ event: 'ticket.status', ticket: { id: 12, status: 'solved' } }, 'not-the-secret', { 'x-acme-delivery': 'd-3' }),
    ]
    const statuses: number[] = []
    let sent = false
    const r = await runCliWith(
      {
        cwd: dir,
        env: { UNIVERSAL_HITL_VENDOR_ORIGIN: stub.url },
        onStdout: (out, child) => {
          const url = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1]
          if (!url || sent) return
          sent = true
          void (async () => {
            for (const d of deliveries) statuses.push(await deliver(url, d))
            child.kill('SIGTERM')
          })()
        },
      },
      'capture',
      'acme.yaml',
      '--port',
      '0',
      '--record',
      'captured.yaml',
      '--settings',
      'settings.yaml',
    )
    expectExit(r, 0)
    expect(statuses).toEqual([200, 200, 401])
    expect(lines(r.stdout).at(-1)).toBe('3 deliveries recorded in captured.yaml')
    const captured = readFileSync(join(dir, 'captured.yaml'), 'utf8')
    expect(captured).not.toContain(SECRET)
    expect(captured).not.toContain(TOKEN)
    const fixtures: Captured = parse(captured).fixtures
    expect(fixtures.settings).toEqual({ baseUrl: 'http://127.0.0.1:9', apiToken: 'fixture-apiToken', webhookSecret: 'fixture-webhookSecret', queue: 'support' })
    expect(fixtures.webhooks.map((w) => [w.sign, w.expect])).toEqual([
      [
        true,
        {
          events: [
            {
              type: 'newMessage',
              ticketId: '12',
              messageId: '99',
              agent: { id: '7', name: 'Priya' },
              message: { type: 'text', text: 'Hi, token fixture-apiToken?' },
            },
          ],
        },
      ],
      [true, { events: [{ type: 'assigned', ticketId: '12', agent: { id: '7', name: 'Priya' } }] }],
      [false, { status: 401 }],
    ])
    expect(fixtures.webhooks[1].stepResponses).toEqual({ agent: [{ status: 200, body: { agent: { name: 'Priya' } } }] })
    expect(fixtures.webhooks[0]!.request.headers?.['x-acme-delivery']).toBe('d-1')
    // The captured entries, put under the mapping's fixtures, pass as they are.
    write('acme-captured.yaml', `${acmeText}\n${captured.replace(/^#.*\n/gm, '')}`)
    const t = await run('test', 'acme-captured.yaml')
    expectExit(t, 0)
    expect(t.stdout).toContain('3 passed, 0 failed')
  })

  it('without --port or --record, or on a port in use: a usage error', async () => {
    expectExit(await run('capture', 'acme.yaml', '--record', 'x.yaml'), 2)
    expectExit(await run('capture', 'acme.yaml', '--port', '0'), 2)
    const busy = new URL(stub.url).port
    const r = await run('capture', 'acme.yaml', '--port', busy, '--record', 'x.yaml', '--settings', 'settings.yaml')
    expectExit(r, 2)
    expect(r.stderr).toBe(`error: cannot listen on 127.0.0.1:${busy}: EADDRINUSE; pick another --port (0 = a free one)\n`)
  })
})

describe('init', () => {
  it('writes a skeleton that is valid but for its TODOs, which validate lists positioned', async () => {
    const r = await run('init', 'newdesk')
    expectExit(r, 0)
    const text = readFileSync(join(dir, 'newdesk.yaml'), 'utf8')
    for (const op of ['createUser:', 'createTicket:', 'sendMessage:', 'closeTicket:', 'register:', 'unregister:', 'verify:', 'fixtures:'])
      expect(text).toContain(op)
    const v = await run('validate', 'newdesk.yaml')
    expectExit(v, 1)
    const out = lines(v.stdout)
    expect(out.length).toBeGreaterThan(10)
    for (const l of out) expect(l).toMatch(/^newdesk\.yaml:\d+:\d+: \S+: UH-E024 TODO left to fill in: /)
    expect(out).toContainEqual(expect.stringMatching(/: webhook\.verify\.header: UH-E024 TODO left to fill in: X-TODO-Signature$/))
    expectExit(await run('init', 'newdesk'), 2)
    expectExit(await run('init', 'newdesk', '--force'), 0)
  })

  it('--from copies settings, http and the verify block of another mapping', async () => {
    expectExit(await run('init', 'fromdemo', '--from', 'demo-desk'), 0)
    const file = parse(readFileSync(join(dir, 'fromdemo.yaml'), 'utf8'))
    const demo = parse(readFileSync(join(root, 'mappings', 'demo-desk.yaml'), 'utf8'))
    expect(file.settings).toEqual(demo.settings)
    expect(file.http).toEqual(demo.http)
    expect(file.webhook.verify).toEqual(demo.webhook.verify)
    expectExit(await run('init', 'x', '--from', 'no/such.yaml'), 2)
  })
})

describe('schema', () => {
  it('prints the path of the schema, which has a stable $id', async () => {
    const r = await run('schema')
    expectExit(r, 0)
    const path = r.stdout.trim()
    expect(path).toBe(join(root, 'schemas', 'mapping.schema.json'))
    expect(existsSync(path)).toBe(true)
    expect(JSON.parse(readFileSync(path, 'utf8')).$id).toBe('https://universal-hitl.dev/schemas/mapping-v1.schema.json')
  })
})

describe('reportFailure (how every command ends on an error)', () => {
  const report = (e: unknown, debug = false) => {
    const out: string[] = []
    return { code: reportFailure(e, debug, (l) => out.push(l)), out: out.join('\n') }
  }
  it('an unexpected error: one line naming --debug, exit 1; with --debug, the stack', () => {
    const plain = report(new TypeError('x is not a function'))
    expect(plain).toEqual({ code: 1, out: 'error: x is not a function (unexpected; --debug shows where)' })
    const debug = report(new TypeError('x is not a function'), true)
    expect(debug.code).toBe(1)
    expect(debug.out).toMatch(STACK_FRAME)
  })
  it('usage errors exit 2, run failures 1, mapping problems 1 with every problem', () => {
    expect(report(new CliError('bad'))).toEqual({ code: 2, out: 'error: bad' })
    expect(report(new VendorRequestError('UH-E035', 'step "a": GET /x answered 500\nmore'))).toEqual({
      code: 1,
      out: 'error: UH-E035 step "a": GET /x answered 500',
    })
    const problems = [
      { file: 'm.yaml', line: 1, column: 2, path: 'a', code: 'UH-E005' as const, message: 'one' },
      { file: 'm.yaml', line: 3, column: 4, path: 'b', code: 'UH-W001' as const, message: 'two' },
    ]
    expect(report(new MappingError(problems))).toEqual({ code: 1, out: 'm.yaml:1:2: a: UH-E005 one\nm.yaml:3:4: b: UH-W001 two' })
  })
})

describe('createCapture (shared by capture and npm start --record)', () => {
  it('a handshake and a shared secret in the query: recorded with the fixture secret, and the entries pass', async () => {
    const m = mappingObject({
      webhook: {
        handshake: [{ when: '$query.challenge', body: '$query.challenge' }],
        verify: { scheme: 'secret', in: 'query', name: 'key', secret: '{{ $settings.webhookSecret }}' },
        events: [{ when: 'status = "done"', emit: 'solved', ticketId: 'id' }],
      },
    })
    const real = { baseUrl: 'https://desk.example', apiToken: 'tok-REAL-1', webhookSecret: 'hook-REAL-secret-77' }
    const text = yamlOf(m)
    const mapping = compileMappingText(text, 'desk.yaml')
    const settings = parseSettings(real, mapping.file.settings ?? {}, 'settings')
    const file = join(dir, 'cap-secret.yaml')
    const cap = createCapture({ loaded: { mapping, settings, hash: 'x' }, file })
    const hs = await cap.capture({ method: 'GET', path: '/', query: 'challenge=abc', headers: {}, body: '' })
    expect(hs.outcome).toMatchObject({ kind: 'handshake', status: 200, body: 'abc' })
    const ev = await cap.capture({
      method: 'POST',
      path: '/',
      query: `key=${real.webhookSecret}`,
      headers: { 'content-type': 'application/json', host: 'x' },
      body: '{"status":"done","id":4}',
    })
    expect(ev.outcome).toMatchObject({ kind: 'events', events: [{ type: 'solved', ticketId: '4' }] })
    const written = readFileSync(file, 'utf8')
    expect(written).not.toContain(real.webhookSecret)
    const fx: Captured = parse(written).fixtures
    // The secret parameter is left to the runner's signer (sign: true puts the fixture secret there).
    expect(fx.webhooks[1]).toMatchObject({
      sign: true,
      request: { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{"status":"done","id":4}' },
    })
    expect(fx.webhooks[1].request.query).toBeUndefined()
    expect(fx.webhooks.map((w) => w.expect)).toEqual([{ handshake: { status: 200, body: 'abc' } }, { events: [{ type: 'solved', ticketId: '4' }] }])
    const results = await runFixtures(`${text}\n${written}`, 'desk.yaml')
    expect(results.map((r) => [r.ok, r.problems])).toEqual([
      [true, []],
      [true, []],
    ])
  })
})

describe("the router's explain result (route --explain, failing fixtures)", () => {
  it('true, false and undefined verdicts, the missing paths cut at their first missing segment, per event object', async () => {
    const m = mappingObject({
      webhook: {
        verify: 'none',
        forEach: 'items',
        events: [
          { name: 'bare path', when: 'ticket.assignee', emit: 'assigned', ticketId: 'ticket.id' },
          { name: 'comparison', when: 'kind = "done" and $headers."x-kind" = "a"', emit: 'solved', ticketId: 'ticket.id' },
          { name: 'always', when: 'true', emit: 'solved', ticketId: 'ticket.id' },
        ],
      },
    })
    const engine = engineOf(m, { baseUrl: 'https://d.example', apiToken: 't' })
    const outcome = await engine.routeWebhook(
      { headers: {}, body: JSON.stringify({ items: [{ ticket: { id: 1 } }, { ticket: { id: 2, assignee: { id: 9 } } }] }) },
      { explain: true },
    )
    expect(outcome.kind).toBe('events')
    const explain = outcome.kind === 'events' ? outcome.explain! : []
    expect(explain.map((o) => ({ matched: o.matched, rules: o.rules.map((r) => [r.verdict, r.missing]) }))).toEqual([
      {
        matched: 'webhook rule "always"',
        rules: [
          ['undefined', ['ticket.assignee']],
          ['false', ['kind', '$headers.`x-kind`']],
          ['true', []],
        ],
      },
      {
        matched: 'webhook rule "bare path"',
        rules: [
          ['true', []],
          ['false', ['kind', '$headers.`x-kind`']],
          ['true', []],
        ],
      },
    ])
    expect(formatExplanation(explain)[1]).toBe('  webhook rule "bare path": undefined (missing: ticket.assignee)  — when: ticket.assignee')
    // Without the option the router does not spend time on it.
    const plain = await engine.routeWebhook({ headers: {}, body: '{"items": []}' })
    expect(plain).not.toHaveProperty('explain')
  })
})
