// Hostile deliveries and mappings at the engine: verify before parsing, the body limits (form fields, JSON
// depth, events per delivery) and the dedupeKey-coverage warning. The reliability suite (test/reliability/)
// attacks the built bundle; these pin the rules one by one.
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MAX_FLOW_NESTING, MAX_MAPPING_BYTES, MAX_SETTINGS, MAX_SETTINGS_BYTES } from '../../src/mapping/limits'
import { dedupeCoverageWarnings } from '../../src/mapping/dedupeCoverage'
import { compileMappingText } from '../../src/mapping/loadMapping'
import { parseYaml } from '../../src/mapping/parseYaml'
import { parseSettings } from '../../src/mapping/parseSettings'
import { formatProblem } from '../../src/mapping/problems'
import { MAX_EVENTS_PER_DELIVERY, MAX_FORM_FIELDS, MAX_JSON_DEPTH } from '../../src/webhook/limits'
import type { IncomingWebhook } from '../../src/webhook/routeWebhook'
import { engineOf, mappingErrorOf, mappingObject, UNSIGNED_DEDUPE_KEYS, yamlOf } from './helpers'

const SECRET = 'whsec-SECRET-2718'
const settings = { baseUrl: 'http://127.0.0.1:9', apiToken: 'tok-1', webhookSecret: SECRET }
const verify = { scheme: 'hmac', algorithm: 'sha256', encoding: 'hex', header: 'X-Sig', signed: '{{ $rawBody }}', secret: '{{ $settings.webhookSecret }}' }
const solvedRule = { when: 'event = "solved"', emit: 'solved', ticketId: 'ticket' }
const engineWith = (webhook: Record<string, unknown>) => engineOf(mappingObject({ webhook: { verify, events: [solvedRule], ...webhook } }), settings)
const sig = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex')
const delivery = (body: string, contentType: string, signed = true): IncomingWebhook => ({
  method: 'POST',
  path: '/',
  headers: { 'content-type': contentType, ...(signed ? { 'x-sig': sig(body) } : {}) },
  body,
})

describe('hostile bodies', () => {
  it('an unsigned form body of one field repeated 100,000 times is refused 401 without being parsed', async () => {
    const body = 'a=1&'.repeat(100_000)
    const outcome = await engineWith({ body: 'form' }).routeWebhook(delivery(body, 'application/x-www-form-urlencoded', false))
    expect(outcome).toEqual({ kind: 'rejected', status: 401, reason: 'signature header x-sig missing' })
  })

  it(`a signed form body over ${MAX_FORM_FIELDS} fields is 413; at the limit, a repeated field is one list`, async () => {
    const engine = engineWith({ body: 'auto' })
    const over = 'a=1&'.repeat(MAX_FORM_FIELDS + 1)
    expect(await engine.routeWebhook(delivery(over, 'application/x-www-form-urlencoded'))).toEqual({
      kind: 'invalid',
      status: 413,
      reason: `form body has more than ${MAX_FORM_FIELDS} fields`,
    })
    const atLimit = `event=solved&ticket=7&${'a=1&'.repeat(MAX_FORM_FIELDS - 2)}`.slice(0, -1)
    const outcome = await engine.routeWebhook(delivery(atLimit, 'application/x-www-form-urlencoded'))
    expect(outcome).toMatchObject({ kind: 'events', events: [{ type: 'solved', ticketId: '7' }] })
  })

  it('a form field named __proto__ is a plain field', async () => {
    const engine = engineWith({ body: 'form', events: [{ when: '$exists(`__proto__`)', emit: 'solved', ticketId: '`__proto__`' }] })
    const outcome = await engine.routeWebhook(delivery('__proto__=9', 'application/x-www-form-urlencoded'))
    expect(outcome).toMatchObject({ kind: 'events', events: [{ ticketId: '9' }] })
    expect(({} as Record<string, unknown>).constructor).toBe(Object)
  })

  it(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is 413; at the limit it is read`, async () => {
    const engine = engineWith({})
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n)
    const deep = `{"event":"solved","ticket":1,"x":${nest(MAX_JSON_DEPTH)}}`
    expect(await engine.routeWebhook(delivery(deep, 'application/json'))).toEqual({
      kind: 'invalid',
      status: 413,
      reason: `body nests deeper than ${MAX_JSON_DEPTH} levels`,
    })
    const ok = `{"event":"solved","ticket":1,"x":${nest(MAX_JSON_DEPTH - 1)}}`
    expect(await engine.routeWebhook(delivery(ok, 'application/json'))).toMatchObject({ kind: 'events' })
  })

  it(`a batch of more than ${MAX_EVENTS_PER_DELIVERY} events is 413 and runs no lookup step`, async () => {
    // The rule's lookup step would hit 127.0.0.1:9 (nothing listens): a 413 proves none was attempted.
    const lookupRule = { ...solvedRule, steps: [{ id: 'x', request: { method: 'GET', path: '/lookup' } }] }
    const engine = engineWith({ events: [lookupRule] })
    const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ event: 'solved', ticket: i })))
    const outcome = await engine.routeWebhook(delivery(batch(MAX_EVENTS_PER_DELIVERY + 1), 'application/json'))
    expect(outcome).toMatchObject({ kind: 'invalid', status: 413 })
    expect((outcome as { reason: string }).reason).toContain(`at most ${MAX_EVENTS_PER_DELIVERY} are handled per delivery`)
    // Events made by a rule's forEach count too.
    const fanOut = engineWith({ events: [{ ...lookupRule, forEach: 'items' }] })
    const body = JSON.stringify({ event: 'solved', ticket: 1, items: Array.from({ length: MAX_EVENTS_PER_DELIVERY + 1 }, (_, i) => i) })
    expect(await fanOut.routeWebhook(delivery(body, 'application/json'))).toMatchObject({ kind: 'invalid', status: 413 })
    const fine = engineWith({})
    const events = await fine.routeWebhook(delivery(batch(MAX_EVENTS_PER_DELIVERY), 'application/json'))
    expect((events as { events: unknown[] }).events).toHaveLength(MAX_EVENTS_PER_DELIVERY)
  })

  it('a verify block that reads $body still parses first (and a secret carried in the body works)', async () => {
    const engine = engineWith({ verify: { scheme: 'secret', in: 'body', name: 'token', secret: '{{ $settings.webhookSecret }}' } })
    const ok = await engine.routeWebhook(delivery(JSON.stringify({ token: SECRET, event: 'solved', ticket: 3 }), 'application/json', false))
    expect(ok).toMatchObject({ kind: 'events', events: [{ ticketId: '3' }] })
    const bad = await engine.routeWebhook(delivery(JSON.stringify({ token: 'nope', event: 'solved', ticket: 3 }), 'application/json', false))
    expect(bad).toMatchObject({ kind: 'rejected', status: 401 })
  })

  it('a secret that renders as white space rejects every delivery', async () => {
    const engine = engineWith({ verify: { ...verify, secret: '{{ "  " }}' } })
    const body = JSON.stringify({ event: 'solved', ticket: 1 })
    const withBlankKey = {
      ...delivery(body, 'application/json'),
      headers: { 'content-type': 'application/json', 'x-sig': createHmac('sha256', '  ').update(body).digest('hex') },
    }
    expect(await engine.routeWebhook(withBlankKey)).toEqual({ kind: 'rejected', status: 401, reason: 'no webhook secret is configured' })
  })
})

describe('dedupeKey coverage warnings', () => {
  const warningsOf = (webhook: Record<string, unknown>) =>
    dedupeCoverageWarnings(parseYaml(yamlOf(mappingObject({ webhook: { events: [solvedRule], ...webhook } })), 'm.yaml')).map(formatProblem)

  it('a key read from a header the signature does not cover is a positioned warning', () => {
    const warnings = warningsOf({
      verify: { ...verify, signed: '{{ $headers."x-ts" }}.{{ $rawBody }}' },
      dedupeKey: '$headers."x-delivery" ? $headers."x-delivery" : id',
    })
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toMatch(
      /^m\.yaml:\d+:\d+: webhook\.dedupeKey: UH-W003 warning: reads the header "x-delivery", which the signature \(webhook\.verify\.signed\) does not cover/,
    )
  })

  it('no warning for a key from the signed body or a signed header', () => {
    expect(warningsOf({ verify, dedupeKey: 'id' })).toEqual([])
    expect(warningsOf({ verify: { ...verify, signed: '{{ $headers."X-Delivery" }}.{{ $rawBody }}' }, dedupeKey: '$headers."x-delivery"' })).toEqual([])
  })

  it('a body key when only headers are signed is a warning too', () => {
    expect(warningsOf({ verify: { ...verify, signed: '{{ $headers.ts }}' }, dedupeKey: 'delivery.id' })[0]).toContain('warning: reads the body')
  })

  it('the shipped mappings take their keys from signed content (known exceptions listed with their reason)', async () => {
    const { shippedMappings } = await import('../../src/mapping/shippedMappings.generated')
    for (const [name, text] of Object.entries(shippedMappings)) {
      const warnings = dedupeCoverageWarnings(parseYaml(text, name))
      if (UNSIGNED_DEDUPE_KEYS[name]) expect(warnings.length, `${name} now has a signed key: drop it from the exceptions`).toBeGreaterThan(0)
      else expect(warnings, name).toEqual([])
    }
  })
})

describe('pasted mapping limits', () => {
  it(`a mapping over ${MAX_MAPPING_BYTES} bytes is refused before parsing, placed where it passes the limit`, () => {
    const text = `${yamlOf(mappingObject())}# ${'x'.repeat(MAX_MAPPING_BYTES)}\n`
    const e = mappingErrorOf(() => compileMappingText(text, 'big.yaml'))
    const lines = text.slice(0, MAX_MAPPING_BYTES).split('\n')
    expect(e.problems).toEqual([
      {
        file: 'big.yaml',
        line: lines.length,
        column: lines.at(-1)!.length + 1,
        path: '(root)',
        code: 'UH-E051',
        message: `the mapping is ${Buffer.byteLength(text)} bytes; at most ${MAX_MAPPING_BYTES} are allowed (this is where it passes the limit)`,
      },
    ])
  })

  it(`a mapping declaring more than ${MAX_SETTINGS} settings is refused at the first one over`, () => {
    const settings = Object.fromEntries(Array.from({ length: MAX_SETTINGS + 5 }, (_, i) => [`s${i}`, { description: 'x' }]))
    const text = yamlOf(mappingObject({ settings: { ...settings, baseUrl: { required: true }, apiToken: { secret: true } } }))
    const [p] = mappingErrorOf(() => compileMappingText(text, 'm.yaml')).problems
    expect(p).toMatchObject({ path: `settings.s${MAX_SETTINGS}`, line: text.split('\n').findIndex((l) => l.startsWith(`  s${MAX_SETTINGS}:`)) + 1, column: 3 })
  })

  it(`a settings text over ${MAX_SETTINGS_BYTES} bytes is refused`, () => {
    const e = mappingErrorOf(() => parseSettings(`apiToken: ${'x'.repeat(MAX_SETTINGS_BYTES)}\n`, { apiToken: { secret: true } }))
    expect(e.problems[0]!.message).toContain(`at most ${MAX_SETTINGS_BYTES} are allowed`)
    expect(e.message).not.toContain('xxxx')
  })

  it('a duplicate key in a large map is reported at the repeated key', () => {
    const headers = Array.from({ length: 3000 }, (_, i) => `    x-h${i % 2999}: "v"`).join('\n')
    const text = yamlOf(mappingObject()).replace(/^http:\n/m, `http:\n  headers:\n${headers}\n`)
    const problems = mappingErrorOf(() => compileMappingText(text, 'm.yaml')).problems
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      `${text.split('\n').lastIndexOf('    x-h0: "v"') + 1}:5 Map keys must be unique`,
    ])
  })
})

describe('deep YAML nesting', () => {
  it('flow nesting deeper than the limit is refused before parsing, placed at the first bracket over it', () => {
    const text = yamlOf(mappingObject()).replace(
      /^vendor:.*$/m,
      `vendor: { name: x, deep: ${'['.repeat(MAX_FLOW_NESTING + 1)}${']'.repeat(MAX_FLOW_NESTING + 1)} }`,
    )
    const line = text.split('\n').findIndex((l) => l.startsWith('vendor:')) + 1
    const [p] = mappingErrorOf(() => compileMappingText(text, 'm.yaml')).problems
    expect(p).toEqual({
      file: 'm.yaml',
      line,
      column: 'vendor: { name: x, deep: '.length + MAX_FLOW_NESTING,
      path: '(yaml)',
      code: 'UH-E050',
      message: `nesting deeper than ${MAX_FLOW_NESTING} levels of [ and {; a mapping needs far fewer`,
    })
  })
})
