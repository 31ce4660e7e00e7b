// One signature module verifies and signs every scheme: what its signer produces, its verifier (through
// routeWebhook) accepts, and a delivery signed with another secret or outside the window it refuses.
import { describe, expect, it } from 'vitest'
import { signDelivery, type SignableDelivery } from '../../src/webhook/signature'
import { engineOf, mappingObject } from './helpers'

const SECRET = 'whsec-SECRET-2718'
const NOW = Date.parse('2026-03-02T10:15:00Z')
const settings = { baseUrl: 'http://127.0.0.1:9', apiToken: 'tok-1234', webhookSecret: SECRET }
const solvedRule = { name: 'solved', when: 'event = "solved"', emit: 'solved', ticketId: 'ticket.id' }
const solved = { kind: 'events', unmatched: 0, skipped: [], events: [{ type: 'solved', ticketId: '12', rule: 'webhook rule "solved"' }] }

const unsigned = (body: object = { event: 'solved', ticket: { id: 12 } }): SignableDelivery => ({
  method: 'POST',
  path: '/',
  query: 'a=1',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

/** Signs with the mapping's own verify block and `secret`, then routes the delivery at `at`. */
async function roundTrip(verify: unknown, options: { secret?: string; at?: number; delivery?: SignableDelivery } = {}) {
  const engine = engineOf(mappingObject({ webhook: { verify, events: [solvedRule] } }), settings)
  const delivery = options.delivery ?? unsigned()
  const before = JSON.stringify(delivery)
  const signed = await signDelivery(engine.mapping.webhook.verify, delivery, {
    scope: { settings: { ...settings, webhookSecret: options.secret ?? SECRET }, registration: {} },
    now: NOW,
  })
  expect(JSON.stringify(delivery)).toBe(before) // the input is not changed
  return { signed, outcome: await engine.routeWebhook(signed, { now: options.at ?? NOW }) }
}

describe('hmac: signed as the verifier reads it', () => {
  for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
    for (const encoding of ['hex', 'base64'] as const) {
      it(`${algorithm} / ${encoding} over the raw body`, async () => {
        const verify = { scheme: 'hmac', algorithm, encoding, header: 'X-Sig', signed: '{{ $rawBody }}', secret: '{{ $settings.webhookSecret }}' }
        expect((await roundTrip(verify)).outcome).toEqual(solved)
        expect((await roundTrip(verify, { secret: 'another' })).outcome).toEqual({ kind: 'rejected', status: 401, reason: 'signature does not match' })
      })
    }
  }

  const tolerance = 60
  const stamped = (format: string) => ({
    scheme: 'hmac',
    algorithm: 'sha256',
    encoding: 'hex',
    header: 'X-Acme-Signature',
    prefix: 'v1=',
    signed: '{{ $headers."x-acme-timestamp" }}.{{ $method }}.{{ $query.a }}.{{ $rawBody }}',
    secret: '{{ $settings.webhookSecret }}',
    timestamp: { value: '{{ $headers."x-acme-timestamp" }}', format, toleranceSeconds: tolerance },
  })
  const written = { unix: String(NOW / 1000), unixMs: String(NOW), iso: '2026-03-02T10:15:00Z' }
  for (const format of ['unix', 'unixMs', 'iso'] as const) {
    it(`a ${format} timestamp is stamped in the header the template reads, signed, and checked against the window`, async () => {
      const { signed, outcome } = await roundTrip(stamped(format))
      expect(outcome).toEqual(solved)
      expect(signed.headers['x-acme-timestamp']).toBe(written[format])
      expect(signed.headers['x-acme-signature']).toMatch(/^v1=[0-9a-f]{64}$/)
      const late = await roundTrip(stamped(format), { at: NOW + (tolerance + 1) * 1000 })
      expect(late.outcome).toEqual({ kind: 'rejected', status: 401, reason: `timestamp outside the ${tolerance} s window` })
    })
  }
})

describe('shared secret: put where the verifier reads it', () => {
  const secretIn = (where: string, name = 'X-Hook-Token') => ({ scheme: 'secret', in: where, name, secret: '{{ $settings.webhookSecret }}' })

  it('in a header (names are case-insensitive)', async () => {
    const { signed, outcome } = await roundTrip(secretIn('header'))
    expect(signed.headers['x-hook-token']).toBe(SECRET)
    expect(outcome).toEqual(solved)
  })

  it('in the query, after the parameters already there', async () => {
    const { signed, outcome } = await roundTrip(secretIn('query', 'token'))
    expect(signed.query).toBe(`a=1&token=${encodeURIComponent(SECRET)}`)
    expect(outcome).toEqual(solved)
  })

  it('as the basic auth password', async () => {
    const { signed, outcome } = await roundTrip(secretIn('basic', 'unused'))
    expect(Buffer.from(signed.headers.authorization!.replace('Basic ', ''), 'base64').toString()).toBe(`webhook:${SECRET}`)
    expect(outcome).toEqual(solved)
  })

  it('in the body: the delivery carries it as written, and a wrong one is refused', async () => {
    const withToken = (token: string) => unsigned({ event: 'solved', ticket: { id: 12 }, token })
    expect((await roundTrip(secretIn('body', 'token'), { delivery: withToken(SECRET) })).outcome).toEqual(solved)
    expect((await roundTrip(secretIn('body', 'token'), { delivery: withToken('guess') })).outcome).toEqual({
      kind: 'rejected',
      status: 401,
      reason: 'shared secret does not match',
    })
  })

  it('a wrong secret is refused', async () => {
    expect((await roundTrip(secretIn('header'), { secret: 'another' })).outcome).toEqual({
      kind: 'rejected',
      status: 401,
      reason: 'shared secret does not match',
    })
  })
})

it('verify: none signs nothing', async () => {
  const { signed, outcome } = await roundTrip('none')
  expect(signed).toEqual(unsigned())
  expect(outcome).toEqual(solved)
})
