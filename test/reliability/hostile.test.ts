// Hostile bodies against the built bundle behind the SDK server: huge, deep, repeated and many form fields,
// large batches, invalid UTF-8, prototype keys, expression-expensive text. Each must be answered with the
// right status within a bound (generous: this is about not hanging, not about speed), without the process
// growing without bound, and the next genuine delivery must still be answered.
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_EVENTS_PER_DELIVERY, MAX_FORM_FIELDS, MAX_JSON_DEPTH } from '../../src/webhook/limits'
import { acmeMapping, acmeSettings, SECRETS } from '../support/harness'
import { report, root, rssMb, startBundle, writesBy } from './support'

type Bundle = Awaited<ReturnType<typeof startBundle>>

/** Bounds, not speed figures: a case that takes longer is hanging the process. */
const CASE_BOUND_MS = 10_000
const RSS_GROWTH_BOUND_MB = 300

const acmeAuto = acmeMapping.replace(/^ {2}body: json$/m, '  body: auto')
const TICKET = 'T-hostile'

type Delivery = { method: string; path: string; query: string; headers: Record<string, string>; body: string }

function signed(body: string, contentType = 'application/json'): Delivery {
  const ts = String(Math.floor(Date.now() / 1000))
  const sig = createHmac('sha256', SECRETS.webhookSecret).update(`${ts}.${body}`).digest('hex')
  return {
    method: 'POST',
    path: '/',
    query: '',
    headers: { 'content-type': contentType, 'x-acme-timestamp': ts, 'x-acme-signature': `sha256=${sig}`, 'x-acme-delivery': `d-${Math.random()}` },
    body,
  }
}
const unsigned = (body: string, contentType: string): Delivery => ({ method: 'POST', path: '/', query: '', headers: { 'content-type': contentType }, body })
let seq = 0
const goodReply = () =>
  JSON.stringify({
    event: 'message.created',
    ticket: { id: TICKET },
    message: { id: `m-good-${++seq}`, text: `still here ${seq}`, author: { type: 'agent', id: 'a1', name: 'Alice' } },
  })

describe('reliability: hostile bodies', () => {
  let b: Bundle
  let bp: ReturnType<Bundle['caller']>
  let integrationId: string
  beforeAll(async () => {
    b = await startBundle()
    bp = b.caller('acme', { mapping: acmeAuto, settings: acmeSettings('http://127.0.0.1:9') })
    integrationId = b.identity('acme').integrationId
    await b.integrationClient('acme').getOrCreateConversation({ channel: 'hitl', tags: { id: TICKET }, discriminateByTags: ['id'] })
  })
  afterAll(async () => b?.stop())

  const cases: { name: string; make: () => Delivery; status: number | number[]; writes?: 0 }[] = [
    { name: '10 MB JSON body', make: () => signed(JSON.stringify({ event: 'x', pad: 'a'.repeat(10 * 1024 * 1024) })), status: 413, writes: 0 },
    {
      name: '3 MB JSON body, unsigned',
      make: () => unsigned(JSON.stringify({ pad: 'a'.repeat(3 * 1024 * 1024) }), 'application/json'),
      status: 413,
      writes: 0,
    },
    {
      name: 'one form field repeated 100,000 times, unsigned',
      make: () => unsigned('a=1&'.repeat(100_000), 'application/x-www-form-urlencoded'),
      status: 401,
      writes: 0,
    },
    {
      name: 'one form field repeated 100,000 times, signed',
      make: () => signed('a=1&'.repeat(100_000), 'application/x-www-form-urlencoded'),
      status: 413,
      writes: 0,
    },
    {
      name: `${MAX_FORM_FIELDS * 50} distinct form fields, signed`,
      make: () => signed(Array.from({ length: MAX_FORM_FIELDS * 50 }, (_, i) => `f${i}=v`).join('&'), 'application/x-www-form-urlencoded'),
      status: 413,
      writes: 0,
    },
    {
      name: '100,000 levels of nested arrays, signed',
      make: () => signed(`{"event":"x","deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
      status: 413,
      writes: 0,
    },
    {
      name: `${MAX_JSON_DEPTH * 4} levels of nested objects, signed`,
      make: () => signed(`${'{"a":'.repeat(MAX_JSON_DEPTH * 4)}1${'}'.repeat(MAX_JSON_DEPTH * 4)}`),
      status: 413,
      writes: 0,
    },
    {
      name: 'a batch of 5,000 agent replies, signed',
      make: () =>
        signed(
          JSON.stringify(
            Array.from({ length: 5000 }, (_, i) => ({
              event: 'message.created',
              ticket: { id: TICKET },
              message: { id: `m-batch-${i}`, text: `batch ${i}`, author: { type: 'agent', id: 'a1' } },
            })),
          ),
        ),
      status: 413,
      writes: 0,
    },
    {
      name: `a batch of exactly ${MAX_EVENTS_PER_DELIVERY} solved events, signed (the limit: handled)`,
      make: () =>
        signed(
          JSON.stringify(Array.from({ length: MAX_EVENTS_PER_DELIVERY }, () => ({ event: 'ticket.status', ticket: { id: 'T-not-ours', status: 'solved' } }))),
        ),
      status: 200,
    },
    {
      name: 'invalid UTF-8 and lone surrogates, unsigned',
      make: () => unsigned(`${Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]).toString('latin1')}\ud800`, 'application/json'),
      status: 401,
      writes: 0,
    },
    {
      name: 'lone surrogates and U+FFFD in a signed body',
      make: () => signed(`{"event":"ticket.status","ticket":{"id":"T-not-ours","status":"\\ud800\ufffd"}}`),
      status: 200,
    },
    { name: 'invalid JSON, signed', make: () => signed('{"event": "message.created", '), status: 400, writes: 0 },
    {
      name: 'prototype keys (__proto__, constructor.prototype), signed',
      make: () =>
        signed(
          '{"__proto__":{"polluted":"yes","event":"message.created"},"constructor":{"prototype":{"polluted":"yes"}},"event":"ticket.status","ticket":{"id":"T-not-ours","status":"solved"}}',
        ),
      status: 200,
    },
    {
      name: 'form body with __proto__ fields, signed',
      make: () => signed('__proto__=1&__proto__=2&constructor=x&event=ticket.status', 'application/x-www-form-urlencoded'),
      status: 200,
    },
  ]

  for (const c of cases) {
    it(`${c.name} → ${c.status}, bounded, and the next good delivery is answered`, async () => {
      const before = rssMb(b.integration.pid)
      const from = b.emulator.calls.length
      const delivery = c.make()
      const t0 = performance.now()
      const r = await bp.webhook(delivery)
      const ms = performance.now() - t0
      const writes = writesBy(b.emulator, integrationId, from).length
      const after = rssMb(b.integration.pid)
      const t1 = performance.now()
      const next = await bp.webhook(signed(goodReply()))
      const nextMs = performance.now() - t1
      report(
        `hostile ${c.name}: ${r.status} in ${ms.toFixed(0)} ms, ${writes} writes, RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB; next good delivery ${next.status} in ${nextMs.toFixed(0)} ms`,
      )
      expect(r.status, r.body.slice(0, 300)).toBe(c.status)
      if (c.writes === 0) expect(writes).toBe(0)
      expect(ms).toBeLessThan(CASE_BOUND_MS)
      expect(after - before).toBeLessThan(RSS_GROWTH_BOUND_MB)
      expect(next.status).toBe(200)
      expect(next.json).toMatchObject({ handled: 1 })
    })
  }

  it('expression-expensive text: 200,000 spaces in a Request Tracker reply are trimmed in bounded time', async () => {
    const text = readFileSync(join(root, 'mappings', 'request-tracker.yaml'), 'utf8')
    const { compileMappingText } = await import('../../src/mapping/loadMapping')
    const { fixtureDelivery } = await import('../../src/fixtures/runFixtures')
    const { parseSettings } = await import('../../src/mapping/parseSettings')
    const mapping = compileMappingText(text, 'request-tracker')
    const fx = mapping.file.fixtures!
    const settings = parseSettings(fx.settings as Record<string, unknown>, mapping.file.settings ?? {}).values
    const reply = fx.webhooks!.find((w) => w.sign && w.expect.events?.[0]?.type === 'newMessage')!
    const body = JSON.parse(typeof reply.request.body === 'string' ? reply.request.body : JSON.stringify(reply.request.body))
    body.transaction.content = `${' '.repeat(200_000)}x${' \t'.repeat(100_000)}`
    const rt = b.caller('rt-hostile', {
      mapping: 'request-tracker',
      settings: Object.entries(settings)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join('\n'),
    })
    const delivery = await fixtureDelivery(mapping, { settings, registration: {} }, { ...reply, request: { ...reply.request, body: JSON.stringify(body) } })
    const t0 = performance.now()
    const r = await rt.webhook({ ...delivery, query: '' } as never)
    const ms = performance.now() - t0
    report(`hostile expression-expensive text (RT trim of 400,000 white-space characters): ${r.status} in ${ms.toFixed(0)} ms`)
    expect(r.status).toBe(200)
    expect(ms).toBeLessThan(CASE_BOUND_MS)
  })
})
