// The command-line tool as a user runs it: `node dist/cli.cjs validate|route|test`, exit codes and output.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acmeSignedRequest, acmeText, positionOf, replaceOnce, runCli } from './helpers'

const root = join(__dirname, '..', '..')
const SECRET = 'whsec-cli-SECRET-2718'
let dir: string

const run = (...args: string[]) => runCli(dir, ...args)
const lines = (text: string) => text.split('\n').filter((l) => l !== '')
const write = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const FIXTURES = `
fixtures:
  settings: { baseUrl: "https://acme.example", apiToken: tok-fixture-1, webhookSecret: whsec-fixture-1 }
  webhooks:
    - name: agent reply becomes newMessage
      sign: true
      request:
        headers: { x-acme-delivery: d-1 }
        body: { event: message.created, ticket: { id: 12 }, message: { id: 99, text: Hi, author: { type: agent, id: 7, name: Priya } } }
      expect:
        events: [{ type: newMessage, ticketId: "12", messageId: "99", agent: { id: "7", name: Priya }, message: { type: text, text: Hi } }]
    - name: an unsigned delivery is rejected
      request: { body: { event: ticket.status, ticket: { id: 12, status: solved } } }
      expect: { status: 401 }
  operations:
    - name: closeTicket closes
      operation: closeTicket
      input: { ticketId: T-1 }
      expect:
        requests: [{ method: PUT, path: /api/tickets/T-1, body: { status: closed } }]
`

const signedRequest = (body: unknown, secret = SECRET) => acmeSignedRequest(body, secret)

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' })
  dir = mkdtempSync(join(tmpdir(), 'uhitl-cli-'))
  write('acme.yaml', acmeText)
  write('settings.yaml', `baseUrl: http://127.0.0.1:9\napiToken: tok-cli-1\nwebhookSecret: ${SECRET}\n`)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// acme.yaml keeps its dedupe key in a header the signature does not cover (the conformance test's stub desk
// sends one): validate accepts it and warns, before the file's verdict.
const dedupeAt = positionOf(acmeText, `dedupeKey: '$headers."x-acme-delivery"'`, '$headers')
const dedupeWarning = (file: string) =>
  `${file}:${dedupeAt.line}:${dedupeAt.column}: webhook.dedupeKey: UH-W003 warning: reads the header "x-acme-delivery", which the signature (webhook.verify.signed) does not cover: a replay with another value passes deduplication; take the key from the signed body`
const acmeOk = `${dedupeWarning('acme.yaml')}\nacme.yaml: ok (1 warning)\n`

describe('validate', () => {
  it('a good mapping: its warnings, then "<file>: ok (N warnings)", exit 0', async () => {
    const r = await run('validate', 'acme.yaml')
    expect(r).toEqual({ code: 0, stdout: acmeOk, stderr: '' })
  })

  it('a bad mapping: every problem on its own positioned line, exit 1', async () => {
    const text = replaceOnce(replaceOnce(acmeText, 'emit: solved', 'emit: closed'), 'errorMessage: error.message', 'errorMessage: error.message ]')
    write('bad.yaml', text)
    const r = await run('validate', 'acme.yaml', 'bad.yaml')
    expect(r.code).toBe(1)
    const emit = positionOf(text, 'emit: closed', 'closed')
    expect(lines(r.stdout)).toEqual([
      ...lines(acmeOk),
      dedupeWarning('bad.yaml'),
      `bad.yaml:${emit.line}:${emit.column}: webhook.events[2].emit: UH-E007 must be one of: "newMessage", "assigned", "solved"`,
    ])
    // Schema problems come first; once they are fixed the JSONata error is reported at its character.
    write('bad2.yaml', replaceOnce(text, 'emit: closed', 'emit: solved'))
    const r2 = await run('validate', 'bad2.yaml')
    const bracket = positionOf(text, 'errorMessage: error.message ]', ']')
    expect(r2.code).toBe(1)
    expect(lines(r2.stdout)).toEqual([
      dedupeWarning('bad2.yaml'),
      `bad2.yaml:${bracket.line}:${bracket.column}: http.errorMessage: UH-E014 JSONata error at character 15 of the expression: Syntax error: "]"`,
    ])
  })

  it('malformed YAML is reported positioned, exit 1', async () => {
    write('tab.yaml', replaceOnce(acmeText, '  timeoutMs: 5000\n', '\ttimeoutMs: 5000\n'))
    const r = await run('validate', 'tab.yaml')
    expect(r.code).toBe(1)
    expect(lines(r.stdout)).toEqual([
      `tab.yaml:${positionOf(acmeText, '  timeoutMs: 5000', 'timeoutMs').line}:1: (yaml): UH-E001 Tabs are not allowed as indentation`,
    ])
  })

  it('--settings with good settings: ok', async () => {
    expect(await run('validate', 'acme.yaml', '--settings', 'settings.yaml')).toMatchObject({ code: 0, stdout: acmeOk })
  })

  it('--settings with a bad settings file: its problems, positioned in that file, exit 1', async () => {
    write('bad-settings.yaml', 'baseUrl: http://x\napiTokn: abc\n')
    const r = await run('validate', 'acme.yaml', '--settings', 'bad-settings.yaml')
    expect(r.code).toBe(1)
    expect(lines(r.stdout)).toEqual([
      dedupeWarning('acme.yaml'),
      'bad-settings.yaml:2:1: apiTokn: UH-E026 unknown setting "apiTokn"; this mapping declares: baseUrl, apiToken, webhookSecret, queue',
      'bad-settings.yaml:1:1: (root): UH-E028 missing required setting "apiToken"',
      'bad-settings.yaml:1:1: (root): UH-E028 missing required setting "webhookSecret"',
    ])
  })

  it('--settings with a JSON settings file', async () => {
    write('settings.json', JSON.stringify({ baseUrl: 'http://x', apiToken: 't-1', webhookSecret: 'w-1', queue: { nested: true } }))
    const r = await run('validate', 'acme.yaml', '--settings', 'settings.json')
    expect(r.code).toBe(1)
    expect(lines(r.stdout)).toEqual([
      dedupeWarning('acme.yaml'),
      'settings.json:1:1: queue: UH-E027 must be a single value (text, number or true/false), not a list or mapping',
    ])
  })
})

describe('route', () => {
  it('prints one JSON line per event, ids as strings, without the rule', async () => {
    write(
      'batch.json',
      signedRequest([
        { event: 'message.created', ticket: { id: 12 }, message: { id: 99, text: 'Hi', author: { type: 'agent', id: 7, name: 'Priya' } } },
        { event: 'ticket.status', ticket: { id: 12, status: 'solved' } },
      ]),
    )
    const r = await run('route', 'acme.yaml', 'batch.json', '--settings', 'settings.yaml')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(lines(r.stdout).map((l) => JSON.parse(l))).toEqual([
      { type: 'newMessage', ticketId: '12', messageId: '99', agent: { id: '7', name: 'Priya' }, message: { type: 'text', text: 'Hi' }, dedupeKey: 'dlv-1' },
      { type: 'solved', ticketId: '12', dedupeKey: 'dlv-1#1' },
    ])
  })

  it('no matching rule: nothing on stdout, a note on stderr, exit 0', async () => {
    write('other.json', signedRequest({ event: 'contact.created', id: 3 }))
    const r = await run('route', 'acme.yaml', 'other.json', '--settings', 'settings.yaml')
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toContain('no event')
  })

  it('prints the handshake reply', async () => {
    const withHandshake = replaceOnce(
      acmeText,
      'webhook:\n  verify:',
      `webhook:\n  handshake:\n    - when: '$headers."x-hook-secret"'\n      status: 200\n      headers: { X-Hook-Secret: '{{ $headers."x-hook-secret" }}' }\n      body: '{"ok": true}'\n  verify:`,
    )
    write('handshake.yaml', withHandshake)
    write('hello.json', JSON.stringify({ method: 'POST', headers: { 'x-hook-secret': 'hs-1' }, body: '' }))
    const r = await run('route', 'handshake.yaml', 'hello.json', '--settings', 'settings.yaml')
    expect(r.code).toBe(0)
    expect(lines(r.stdout).map((l) => JSON.parse(l))).toEqual([{ handshake: { status: 200, headers: { 'X-Hook-Secret': 'hs-1' }, body: '{"ok":true}' } }])
  })

  it('a bad signature: the reason on stderr, exit 1', async () => {
    write('forged.json', signedRequest({ event: 'ticket.status', ticket: { id: 12, status: 'solved' } }, 'not-the-secret'))
    const r = await run('route', 'acme.yaml', 'forged.json', '--settings', 'settings.yaml')
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'verification failed (401): UH-E047 signature does not match\n' })
  })

  it('--no-verify skips verification', async () => {
    write(
      'unsigned.json',
      JSON.stringify({ headers: { 'content-type': 'application/json' }, body: { event: 'ticket.status', ticket: { id: 12, status: 'solved' } } }),
    )
    expect((await run('route', 'acme.yaml', 'unsigned.json', '--settings', 'settings.yaml')).code).toBe(1)
    const r = await run('route', 'acme.yaml', 'unsigned.json', '--settings', 'settings.yaml', '--no-verify')
    expect(r.code).toBe(0)
    expect(lines(r.stdout).map((l) => JSON.parse(l))).toEqual([{ type: 'solved', ticketId: '12' }])
  })

  it('a body that is not JSON: 400 reason on stderr, exit 1', async () => {
    write('text.json', JSON.stringify({ headers: {}, body: 'not json' }))
    const r = await run('route', 'acme.yaml', 'text.json', '--settings', 'settings.yaml', '--no-verify')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^invalid delivery \(400\): UH-E049 body is not valid JSON/)
  })

  it('a request file that is not JSON, or has no body: a clear error, exit 2', async () => {
    write('broken.json', '{ nope')
    const r = await run('route', 'acme.yaml', 'broken.json', '--settings', 'settings.yaml')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: broken\.json is not JSON: /)
    write('nobody.json', '{"headers": {}}')
    const r2 = await run('route', 'acme.yaml', 'nobody.json', '--settings', 'settings.yaml')
    expect(r2).toMatchObject({ code: 2, stderr: 'error: nobody.json needs a "body" (a string or JSON)\n' })
    write('list.json', '[1, 2]')
    expect(await run('route', 'acme.yaml', 'list.json', '--settings', 'settings.yaml')).toMatchObject({
      code: 2,
      stderr: 'error: list.json must hold a JSON object\n',
    })
  })

  it('a registration file that is not JSON: a clear error, exit 2', async () => {
    write('reg.json', 'webhookId: 7')
    write('ok.json', JSON.stringify({ body: {} }))
    const r = await run('route', 'acme.yaml', 'ok.json', '--settings', 'settings.yaml', '--registration', 'reg.json')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: reg\.json is not JSON: /)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('a settings file that is JSON but not an object is reported, exit 1 (validate)', async () => {
    write('list-settings.json', '["a"]')
    const r = await run('validate', 'acme.yaml', '--settings', 'list-settings.json')
    expect(r).toMatchObject({
      code: 1,
      stdout: `${dedupeWarning('acme.yaml')}\nlist-settings.json:1:1: (root): UH-E025 settings must be a YAML mapping of name: value lines\n`,
    })
  })
})

describe('test', () => {
  it('passing fixtures: one ok line each, then "N passed, N failed", exit 0', async () => {
    write('fixtures.yaml', acmeText + FIXTURES)
    const r = await run('test', 'fixtures.yaml')
    expect(r.code).toBe(0)
    expect(lines(r.stdout)).toEqual([
      'ok   fixtures.yaml webhook "agent reply becomes newMessage"',
      'ok   fixtures.yaml webhook "an unsigned delivery is rejected"',
      'ok   fixtures.yaml operation "closeTicket closes"',
      'fixtures.yaml: conformance hand-off: not run: no createUser operation fixture (that expects no error)',
      '3 passed, 0 failed',
    ])
  })

  it('a wrong fixture: FAIL with the difference, the count, exit 1', async () => {
    write('wrong.yaml', replaceOnce(acmeText + FIXTURES, 'events: [{ type: newMessage, ticketId: "12"', 'events: [{ type: newMessage, ticketId: "13"'))
    const r = await run('test', 'wrong.yaml')
    expect(r.code).toBe(1)
    const out = lines(r.stdout)
    expect(out[0]).toBe('FAIL wrong.yaml webhook "agent reply becomes newMessage"')
    expect(out[1]).toMatch(/^ +events \[\{"type":"newMessage","ticketId":"12",.*\], expected \[\{"type":"newMessage","ticketId":"13",/)
    expect(out.at(-1)).toBe('2 passed, 1 failed')
  })

  it('a mapping without fixtures: "no fixtures", exit 0', async () => {
    const r = await run('test', 'acme.yaml')
    expect(r.code).toBe(0)
    expect(lines(r.stdout)).toEqual([
      'acme.yaml: no fixtures',
      'acme.yaml: conformance hand-off: not run: no createUser operation fixture (that expects no error)',
      '0 passed, 0 failed',
    ])
  })

  it('a mapping with problems counts as failed', async () => {
    write('broken-fixtures.yaml', replaceOnce(acmeText + FIXTURES, 'emit: solved', 'emit: closed'))
    const r = await run('test', 'broken-fixtures.yaml', 'fixtures.yaml')
    expect(r.code).toBe(1)
    const out = lines(r.stdout)
    expect(out[0]).toMatch(/^broken-fixtures\.yaml:\d+:13: webhook\.events\[2\]\.emit: UH-E007 must be one of/)
    expect(out.at(-1)).toBe('3 passed, 1 failed')
  })
})

describe('unreadable files and bad usage', () => {
  it('a missing file: "cannot read <file>: ENOENT", exit 2', async () => {
    expect(await run('validate', 'no-such.yaml')).toEqual({ code: 2, stdout: '', stderr: 'error: cannot read no-such.yaml: ENOENT\n' })
    expect(await run('test', 'no-such.yaml')).toMatchObject({ code: 2, stderr: 'error: cannot read no-such.yaml: ENOENT\n' })
    expect(await run('route', 'acme.yaml', 'no-such.json', '--settings', 'settings.yaml')).toMatchObject({
      code: 2,
      stderr: 'error: cannot read no-such.json: ENOENT\n',
    })
    expect(await run('validate', 'acme.yaml', '--settings', 'no-such.yaml')).toMatchObject({ code: 2, stderr: 'error: cannot read no-such.yaml: ENOENT\n' })
  })

  it('a directory instead of a file: exit 2', async () => {
    expect(await run('validate', '.')).toMatchObject({ code: 2, stderr: 'error: cannot read .: EISDIR\n' })
  })

  it('an unknown command or no command: usage, exit 2', async () => {
    const r = await run('frobnicate')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: unknown command "frobnicate"/)
    const none = await run()
    expect(none.code).toBe(2)
    expect(none.stdout).toContain('universal-hitl validate <mapping.yaml>')
    expect((await run('validate')).code).toBe(2)
  })
})

describe('dry-run', () => {
  const TOKEN = 'tok-DRYRUN-SECRET-5150'

  it('prints every rendered request with secrets masked, and the result, from --input and --responses', async () => {
    write('dry-settings.yaml', `baseUrl: https://acme.example\napiToken: ${TOKEN}\nwebhookSecret: whsec-dry-1\n`)
    write('dry-input.json', JSON.stringify({ userId: 'user_1', name: 'Jane', email: 'jane@example.com' }))
    write('dry-responses.json', JSON.stringify([{ status: 201, body: { contact: { id: 'c_9' } } }]))
    const r = await run(
      'dry-run',
      'acme.yaml',
      'createUser',
      '--settings',
      'dry-settings.yaml',
      '--input',
      'dry-input.json',
      '--responses',
      'dry-responses.json',
    )
    expect(r.code, r.stderr).toBe(0)
    expect(lines(r.stdout)).toEqual([
      'createUser step "contact": POST https://acme.example/api/contacts → 201',
      '  accept: application/json',
      '  authorization: ***',
      '  {"name":"Jane","email":"jane@example.com","externalId":"user_1"}',
      'result: {"externalUserId":"c_9"}',
    ])
    expect(r.stdout + r.stderr).not.toContain(TOKEN)
  })

  it('a vendor error fails with exit 1 and a masked message; an unknown operation is a usage error', async () => {
    write('dry-settings.yaml', `baseUrl: https://acme.example\napiToken: ${TOKEN}\nwebhookSecret: whsec-dry-1\n`)
    write('dry-error.json', JSON.stringify([{ status: 422, body: { error: { message: `token ${TOKEN} cannot do that` } } }]))
    const r = await run('dry-run', 'acme.yaml', 'closeTicket', '--settings', 'dry-settings.yaml', '--responses', 'dry-error.json')
    expect(r.code).toBe(1)
    expect(lines(r.stdout).at(-1)).toBe('failed: UH-E035 closeTicket step 1: PUT /api/tickets/123 answered 422: token *** cannot do that')
    expect(r.stdout).not.toContain(TOKEN)
    const bad = await run('dry-run', 'acme.yaml', 'reopenTicket')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('unknown operation "reopenTicket"')
  })
})
