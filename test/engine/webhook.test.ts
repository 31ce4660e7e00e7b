// Webhook deliveries → handshake replies, rejections (401/400/413) or events, through createEngine.routeWebhook.
import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import type { IncomingWebhook } from '../../src/webhook/routeWebhook'
import { engineOf, mappingObject } from './helpers'

const SECRET = 'whsec-SECRET-3141'
const NOW = Date.parse('2026-03-02T10:15:00Z')
const settings = { baseUrl: 'http://127.0.0.1:9', apiToken: 'tok-1234', webhookSecret: SECRET }

const solvedRule = { name: 'solved', when: 'event = "solved"', emit: 'solved', ticketId: 'ticket.id' }
const webhookWith = (webhook: Record<string, unknown>) => mappingObject({ webhook: { events: [solvedRule], ...webhook } })
const engineWith = (webhook: Record<string, unknown>, extraSettings: Record<string, unknown> = {}) =>
  engineOf(webhookWith(webhook), { ...settings, ...extraSettings })

const solvedBody = JSON.stringify({ event: 'solved', ticket: { id: 12 } })
const post = (body: string, headers: Record<string, string> = {}, query?: string): IncomingWebhook => ({
  method: 'POST',
  path: '/',
  headers: { 'content-type': 'application/json', ...headers },
  query,
  body,
})
const hmac = (algorithm: string, encoding: 'hex' | 'base64', content: string, secret = SECRET) => createHmac(algorithm, secret).update(content).digest(encoding)

describe('hmac verification', () => {
  for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
    for (const encoding of ['hex', 'base64'] as const) {
      it(`${algorithm} / ${encoding}: a correct signature is accepted, one over another body is not`, async () => {
        const engine = engineWith({
          verify: { scheme: 'hmac', algorithm, encoding, header: 'X-Sig', signed: '{{ $rawBody }}', secret: '{{ $settings.webhookSecret }}' },
        })
        const ok = await engine.routeWebhook(post(solvedBody, { 'x-sig': hmac(algorithm, encoding, solvedBody) }))
        expect(ok).toEqual({ kind: 'events', unmatched: 0, skipped: [], events: [{ type: 'solved', ticketId: '12', rule: 'webhook rule "solved"' }] })
        const tampered = solvedBody.replace('12', '13')
        const bad = await engine.routeWebhook(post(tampered, { 'x-sig': hmac(algorithm, encoding, solvedBody) }))
        expect(bad).toEqual({ kind: 'rejected', status: 401, reason: 'signature does not match' })
      })
    }
  }

  const acmeVerify = {
    scheme: 'hmac',
    algorithm: 'sha256',
    encoding: 'hex',
    header: 'X-Acme-Signature',
    prefix: 'sha256=',
    signed: '{{ $headers."x-acme-timestamp" }}.{{ $rawBody }}',
    secret: '{{ $settings.webhookSecret }}',
    timestamp: { value: '{{ $headers."x-acme-timestamp" }}', format: 'unix', toleranceSeconds: 300 },
  }
  const signedAt = (ts: string, body = solvedBody) => ({ 'x-acme-timestamp': ts, 'x-acme-signature': `sha256=${hmac('sha256', 'hex', `${ts}.${body}`)}` })
  const unix = String(NOW / 1000)

  it('a prefixed signature over timestamp + body is accepted; header names are case-insensitive; hex case does not matter', async () => {
    const engine = engineWith({ verify: acmeVerify })
    expect((await engine.routeWebhook(post(solvedBody, signedAt(unix)), { now: NOW })).kind).toBe('events')
    const upper = { 'X-Acme-Timestamp': unix, 'X-ACME-SIGNATURE': `sha256=${hmac('sha256', 'hex', `${unix}.${solvedBody}`).toUpperCase()}` }
    expect((await engine.routeWebhook(post(solvedBody, upper), { now: NOW })).kind).toBe('events')
  })

  it('several signatures in one header (key rotation): accepted when one matches', async () => {
    const engine = engineWith({ verify: acmeVerify })
    const good = signedAt(unix)['x-acme-signature']
    const stale = `sha256=${hmac('sha256', 'hex', `${unix}.${solvedBody}`, 'old-secret')}`
    for (const header of [`${stale},${good}`, `${stale} ${good}`, `${good}, ${stale}`]) {
      const outcome = await engine.routeWebhook(post(solvedBody, { 'x-acme-timestamp': unix, 'x-acme-signature': header }), { now: NOW })
      expect(outcome.kind, header).toBe('events')
    }
    const none = await engine.routeWebhook(post(solvedBody, { 'x-acme-timestamp': unix, 'x-acme-signature': `${stale},${stale}` }), { now: NOW })
    expect(none).toMatchObject({ kind: 'rejected', reason: 'signature does not match' })
  })

  it('a missing signature header is rejected, naming the header', async () => {
    const outcome = await engineWith({ verify: acmeVerify }).routeWebhook(post(solvedBody, { 'x-acme-timestamp': unix }), { now: NOW })
    expect(outcome).toEqual({ kind: 'rejected', status: 401, reason: 'signature header x-acme-signature missing' })
  })

  it('a signature of the wrong length (or not even hex) is rejected without throwing', async () => {
    const engine = engineWith({ verify: acmeVerify })
    for (const sig of ['sha256=abc', 'sha256=', 'sha256=é', 'x'.repeat(500), `sha256=${'0'.repeat(64)}`]) {
      const outcome = await engine.routeWebhook(post(solvedBody, { 'x-acme-timestamp': unix, 'x-acme-signature': sig }), { now: NOW })
      expect(outcome, sig).toMatchObject({ kind: 'rejected', status: 401, reason: 'signature does not match' })
    }
  })

  it('a timestamp too old or too new is rejected even with a correct signature', async () => {
    const engine = engineWith({ verify: acmeVerify })
    const old = String(NOW / 1000 - 301)
    const future = String(NOW / 1000 + 301)
    expect(await engine.routeWebhook(post(solvedBody, signedAt(old)), { now: NOW })).toEqual({
      kind: 'rejected',
      status: 401,
      reason: 'timestamp outside the 300 s window',
    })
    expect(await engine.routeWebhook(post(solvedBody, signedAt(future)), { now: NOW })).toEqual({
      kind: 'rejected',
      status: 401,
      reason: 'timestamp outside the 300 s window',
    })
    expect((await engine.routeWebhook(post(solvedBody, signedAt(String(NOW / 1000 - 299))), { now: NOW })).kind).toBe('events')
  })

  it('an unreadable or missing timestamp is rejected', async () => {
    const engine = engineWith({ verify: acmeVerify })
    for (const ts of ['yesterday', '17e8', '-5', '']) {
      const outcome = await engine.routeWebhook(post(solvedBody, signedAt(ts)), { now: NOW })
      expect(outcome, ts).toEqual({ kind: 'rejected', status: 401, reason: 'timestamp missing or unreadable' })
    }
    const noTs = await engine.routeWebhook(post(solvedBody, { 'x-acme-signature': signedAt(unix)['x-acme-signature'] }), { now: NOW })
    expect(noTs).toMatchObject({ kind: 'rejected', reason: 'timestamp missing or unreadable' })
  })

  it('iso, unix and unixMs timestamps are each read in their own format', async () => {
    const cases = [
      ['iso', '2026-03-02T10:14:00Z', '2026-03-02T09:00:00Z'],
      ['unix', String(NOW / 1000 - 60), String(NOW / 1000 - 3600)],
      ['unixMs', String(NOW - 60_000), String(NOW - 3_600_000)],
    ] as const
    for (const [format, fresh, stale] of cases) {
      const engine = engineWith({ verify: { ...acmeVerify, timestamp: { value: '{{ $headers."x-acme-timestamp" }}', format, toleranceSeconds: 300 } } })
      expect((await engine.routeWebhook(post(solvedBody, signedAt(fresh)), { now: NOW })).kind, `${format} fresh`).toBe('events')
      expect(await engine.routeWebhook(post(solvedBody, signedAt(stale)), { now: NOW }), `${format} stale`).toMatchObject({
        kind: 'rejected',
        reason: 'timestamp outside the 300 s window',
      })
    }
    // A unix value read as milliseconds is 1970: outside the window.
    const ms = engineWith({ verify: { ...acmeVerify, timestamp: { value: '{{ $headers."x-acme-timestamp" }}', format: 'unixMs' } } })
    expect(await ms.routeWebhook(post(solvedBody, signedAt(unix)), { now: NOW })).toMatchObject({
      kind: 'rejected',
      reason: 'timestamp outside the 300 s window',
    })
  })

  it('an empty configured secret rejects every delivery', async () => {
    const engine = engineWith({ verify: acmeVerify }, { webhookSecret: '' })
    expect(await engine.routeWebhook(post(solvedBody, signedAt(unix)), { now: NOW })).toEqual({
      kind: 'rejected',
      status: 401,
      reason: 'no webhook secret is configured',
    })
  })
})

describe('verify: none and shared secrets', () => {
  it('verify: none accepts an unsigned delivery', async () => {
    expect((await engineWith({ verify: 'none' }).routeWebhook(post(solvedBody))).kind).toBe('events')
  })

  const secretIn = (where: 'header' | 'query' | 'basic' | 'body', name: string) =>
    engineWith({ verify: { scheme: 'secret', in: where, name, secret: '{{ $settings.webhookSecret }}' } })

  it('in a header (name case-insensitive)', async () => {
    const engine = secretIn('header', 'X-Hook-Secret')
    expect((await engine.routeWebhook(post(solvedBody, { 'X-Hook-Secret': SECRET }))).kind).toBe('events')
    expect(await engine.routeWebhook(post(solvedBody, { 'x-hook-secret': 'wrong' }))).toEqual({
      kind: 'rejected',
      status: 401,
      reason: 'shared secret does not match',
    })
    expect(await engine.routeWebhook(post(solvedBody))).toEqual({ kind: 'rejected', status: 401, reason: 'shared secret missing' })
  })

  it('in the query', async () => {
    const engine = secretIn('query', 'token')
    expect((await engine.routeWebhook(post(solvedBody, {}, `a=1&token=${encodeURIComponent(SECRET)}`))).kind).toBe('events')
    expect((await engine.routeWebhook(post(solvedBody, {}, `?token=${SECRET}`))).kind).toBe('events')
    expect(await engine.routeWebhook(post(solvedBody, {}, 'token=nope'))).toMatchObject({ kind: 'rejected', reason: 'shared secret does not match' })
    expect(await engine.routeWebhook(post(solvedBody, {}, 'other=1'))).toMatchObject({ kind: 'rejected', reason: 'shared secret missing' })
  })

  it('as the password of basic credentials', async () => {
    const engine = secretIn('basic', 'ignored')
    const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` })
    expect((await engine.routeWebhook(post(solvedBody, basic('hook', SECRET)))).kind).toBe('events')
    expect(await engine.routeWebhook(post(solvedBody, basic(SECRET, 'x')))).toMatchObject({ kind: 'rejected', reason: 'shared secret does not match' })
    expect(await engine.routeWebhook(post(solvedBody, { authorization: `Bearer ${SECRET}` }))).toMatchObject({
      kind: 'rejected',
      reason: 'shared secret missing',
    })
  })

  it('in the body (name is an expression)', async () => {
    const engine = secretIn('body', 'auth.token')
    const body = (token: string) => JSON.stringify({ event: 'solved', ticket: { id: 5 }, auth: { token } })
    expect(await engine.routeWebhook(post(body(SECRET)))).toMatchObject({ kind: 'events', events: [{ ticketId: '5' }] })
    expect(await engine.routeWebhook(post(body('nope')))).toMatchObject({ kind: 'rejected', reason: 'shared secret does not match' })
    expect(await engine.routeWebhook(post(solvedBody))).toMatchObject({ kind: 'rejected', reason: 'shared secret missing' })
  })

  it('a rejection reason never contains the secret', async () => {
    const engine = secretIn('header', 'X-Hook-Secret')
    const outcome = await engine.routeWebhook(post(solvedBody, { 'x-hook-secret': `${SECRET}x` }))
    expect(JSON.stringify(outcome)).not.toContain(SECRET)
  })
})

describe('handshakes', () => {
  const hmacVerify = {
    scheme: 'hmac',
    algorithm: 'sha256',
    encoding: 'hex',
    header: 'X-Sig',
    signed: '{{ $rawBody }}',
    secret: '{{ $settings.webhookSecret }}',
  }

  it('a handshake rule is answered before verification, with its status, headers and body', async () => {
    const engine = engineWith({
      verify: hmacVerify,
      handshake: [
        {
          when: '$headers."x-hook-secret"',
          status: 201,
          headers: { 'X-Hook-Secret': '{{ $headers."x-hook-secret" }}' },
          body: '{"ok": true, "echo": $headers."x-hook-secret"}',
        },
      ],
    })
    const outcome = await engine.routeWebhook(post('{}', { 'X-Hook-Secret': 'abc123' }))
    expect(outcome).toEqual({ kind: 'handshake', status: 201, headers: { 'X-Hook-Secret': 'abc123' }, body: '{"ok":true,"echo":"abc123"}' })
  })

  it('a challenge read from the body is answered as text; other deliveries still need a signature', async () => {
    const engine = engineWith({ verify: hmacVerify, handshake: [{ when: 'type = "url_verification"', body: 'challenge' }] })
    expect(await engine.routeWebhook(post(JSON.stringify({ type: 'url_verification', challenge: 'c-42' })))).toEqual({
      kind: 'handshake',
      status: 200,
      headers: {},
      body: 'c-42',
    })
    expect(await engine.routeWebhook(post(solvedBody))).toMatchObject({ kind: 'rejected', status: 401 })
  })

  it('a handshake on a GET with the challenge in the query', async () => {
    const engine = engineWith({ verify: hmacVerify, handshake: [{ when: '$method = "GET" and $query."hub.challenge"', body: '$query."hub.challenge"' }] })
    expect(await engine.routeWebhook({ method: 'GET', path: '/', query: 'hub.mode=subscribe&hub.challenge=xyz', headers: {}, body: '' })).toMatchObject({
      kind: 'handshake',
      body: 'xyz',
    })
  })
})

describe('bodies', () => {
  it('a form-encoded body (body: form): fields are text, a repeated name becomes a list', async () => {
    const engine = engineOf(
      mappingObject({
        webhook: { verify: 'none', body: 'form', events: [{ when: 'event = "solved"', emit: 'solved', ticketId: 'ticket', messageId: '$join(tag, ",")' }] },
      }),
      settings,
    )
    const outcome = await engine.routeWebhook({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'event=solved&ticket=77&tag=a&tag=b+c',
    })
    expect(outcome).toEqual({
      kind: 'events',
      unmatched: 0,
      skipped: [],
      events: [{ type: 'solved', ticketId: '77', messageId: 'a,b c', rule: 'webhook rule 1' }],
    })
  })

  it('body: auto reads a form body by its content type and JSON otherwise', async () => {
    const engine = engineOf(
      mappingObject({ webhook: { verify: 'none', body: 'auto', events: [{ when: 'event = "solved"', emit: 'solved', ticketId: 'id' }] } }),
      settings,
    )
    expect(
      await engine.routeWebhook({ headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: 'event=solved&id=3' }),
    ).toMatchObject({ events: [{ ticketId: '3' }] })
    expect(await engine.routeWebhook({ headers: { 'content-type': 'application/json' }, body: '{"event": "solved", "id": 4}' })).toMatchObject({
      events: [{ ticketId: '4' }],
    })
  })

  it('a non-JSON body is 400 after verification', async () => {
    const engine = engineWith({
      verify: { scheme: 'hmac', algorithm: 'sha256', encoding: 'hex', header: 'X-Sig', signed: '{{ $rawBody }}', secret: '{{ $settings.webhookSecret }}' },
    })
    const raw = 'event=solved&ticket=12'
    const outcome = await engine.routeWebhook(post(raw, { 'x-sig': hmac('sha256', 'hex', raw) }))
    expect(outcome).toMatchObject({ kind: 'invalid', status: 400 })
    expect((outcome as { reason: string }).reason).toMatch(/^body is not valid JSON/)
  })

  it('an unsigned non-JSON body is 401, not 400', async () => {
    const engine = engineWith({
      verify: { scheme: 'hmac', algorithm: 'sha256', encoding: 'hex', header: 'X-Sig', signed: '{{ $rawBody }}', secret: '{{ $settings.webhookSecret }}' },
    })
    expect(await engine.routeWebhook(post('not json'))).toEqual({ kind: 'rejected', status: 401, reason: 'signature header x-sig missing' })
    expect(await engine.routeWebhook(post('not json', { 'x-sig': 'forged' }))).toMatchObject({ kind: 'rejected', status: 401 })
  })

  it('an empty body with body: json is 400', async () => {
    expect(await engineWith({ verify: 'none', body: 'json' }).routeWebhook(post(''))).toEqual({
      kind: 'invalid',
      status: 400,
      reason: 'empty body; expected JSON',
    })
  })

  it('an oversized body is 413, whatever it holds', async () => {
    const engine = engineWith({ verify: 'none', maxBodyBytes: 100 })
    const big = JSON.stringify({ event: 'solved', ticket: { id: 1 }, pad: 'x'.repeat(100) })
    expect(await engine.routeWebhook(post(big))).toEqual({ kind: 'invalid', status: 413, reason: 'body larger than 100 bytes' })
    // Bytes, not characters: 40 three-byte characters are 120 bytes.
    expect(await engine.routeWebhook(post(`"${'€'.repeat(40)}"`))).toMatchObject({ kind: 'invalid', status: 413 })
    expect((await engine.routeWebhook(post(solvedBody))).kind).toBe('events')
  })
})

describe('events', () => {
  const agentRule = {
    name: 'agent reply',
    when: 'type = "message" and author.role = "agent"',
    emit: 'newMessage',
    ticketId: 'ticketId',
    messageId: 'id',
    agent: { id: 'author.id', name: 'author.name', email: 'author.email' },
    message: { type: '"text"', text: 'text' },
  }

  it('a batched JSON array body gives one event per element, each with its own dedupe key', async () => {
    const engine = engineOf(mappingObject({ webhook: { verify: 'none', dedupeKey: 'id', events: [agentRule] } }), settings)
    const body = JSON.stringify([
      { type: 'message', id: 1, ticketId: 10, text: 'first', author: { role: 'agent', id: 7 } },
      { type: 'message', id: 2, ticketId: 10, text: 'second', author: { role: 'agent', id: 7 } },
      { type: 'other' },
    ])
    const outcome = await engine.routeWebhook(post(body))
    expect(outcome).toMatchObject({ kind: 'events', unmatched: 1 })
    const events = (outcome as { events: { dedupeKey?: string; message?: { text?: string } }[] }).events
    expect(events.map((e) => [e.dedupeKey, e.message?.text])).toEqual([
      ['1', 'first'],
      ['2', 'second'],
    ])
  })

  it('a batch under a delivery-level key (a header) still gets a distinct key per event, the same on redelivery', async () => {
    const engine = engineOf(
      mappingObject({ webhook: { verify: 'none', forEach: 'events', dedupeKey: '$headers."x-delivery"', events: [agentRule] } }),
      settings,
    )
    const body = JSON.stringify({
      events: [
        { type: 'message', id: 1, ticketId: 10, text: 'first', author: { role: 'agent', id: 7 } },
        { type: 'message', id: 2, ticketId: 10, text: 'second', author: { role: 'agent', id: 7 } },
        { type: 'message', id: 3, ticketId: 11, text: 'third', author: { role: 'agent', id: 8 } },
      ],
    })
    const keys = async () =>
      ((await engine.routeWebhook(post(body, { 'x-delivery': 'd-1' }))) as { events: { dedupeKey?: string }[] }).events.map((e) => e.dedupeKey)
    const first = await keys()
    expect(first).toHaveLength(3)
    expect(new Set(first).size).toBe(3)
    expect(first[0]).toBe('d-1')
    expect(first.every((k) => k!.startsWith('d-1'))).toBe(true)
    expect(await keys()).toEqual(first)
  })

  it('the first matching rule wins (one event per object)', async () => {
    const engine = engineOf(
      mappingObject({
        webhook: {
          verify: 'none',
          events: [
            { name: 'specific', when: 'status = "solved"', emit: 'solved', ticketId: 'id' },
            { name: 'catch-all', when: 'true', emit: 'assigned', ticketId: 'id' },
          ],
        },
      }),
      settings,
    )
    expect(await engine.routeWebhook(post('{"status": "solved", "id": 1}'))).toEqual({
      kind: 'events',
      unmatched: 0,
      skipped: [],
      events: [{ type: 'solved', ticketId: '1', rule: 'webhook rule "specific"' }],
    })
    expect(await engine.routeWebhook(post('{"status": "open", "id": 2}'))).toEqual({
      kind: 'events',
      unmatched: 0,
      skipped: [],
      events: [{ type: 'assigned', ticketId: '2', rule: 'webhook rule "catch-all"' }],
    })
  })

  it('a rule forEach gives one event per element, with keys suffixed by the index', async () => {
    const engine = engineOf(
      mappingObject({
        webhook: {
          verify: 'none',
          dedupeKey: 'delivery',
          events: [
            { when: 'kind = "messages"', forEach: 'messages', emit: 'newMessage', ticketId: '$body.ticket', messageId: 'id', message: { text: 'body' } },
          ],
        },
      }),
      settings,
    )
    const outcome = await engine.routeWebhook(
      post(
        JSON.stringify({
          kind: 'messages',
          delivery: 'dl-9',
          ticket: 'T1',
          messages: [
            { id: 'm1', body: 'a' },
            { id: 'm2', body: 'b' },
          ],
        }),
      ),
    )
    expect(outcome).toMatchObject({
      kind: 'events',
      events: [
        { type: 'newMessage', messageId: 'm1', message: { type: 'text', text: 'a' }, dedupeKey: 'dl-9#0' },
        { type: 'newMessage', messageId: 'm2', message: { type: 'text', text: 'b' }, dedupeKey: 'dl-9#1' },
      ],
    })
  })

  it('ids are turned into strings; other fields are text; empty fields are left out', async () => {
    const engine = engineOf(mappingObject({ webhook: { verify: 'none', dedupeKey: 'deliveryId', events: [agentRule] } }), settings)
    const outcome = await engine.routeWebhook(
      post(JSON.stringify({ type: 'message', deliveryId: 555, id: 99, ticketId: 12, text: 42, author: { role: 'agent', id: 7, name: 'Priya', email: null } })),
    )
    expect(outcome).toEqual({
      kind: 'events',
      unmatched: 0,
      skipped: [],
      events: [
        {
          type: 'newMessage',
          ticketId: '12',
          messageId: '99',
          agent: { id: '7', name: 'Priya' },
          message: { type: 'text', text: '42' },
          dedupeKey: '555',
          rule: 'webhook rule "agent reply"',
        },
      ],
    })
  })

  it('a rule whose ticketId finds nothing skips that event, naming the rule', async () => {
    const engine = engineOf(mappingObject({ webhook: { verify: 'none', events: [agentRule] } }), settings)
    const outcome = await engine.routeWebhook(post(JSON.stringify({ type: 'message', id: 1, text: 'hi', author: { role: 'agent' } })))
    expect(outcome).toEqual({ kind: 'events', events: [], unmatched: 0, skipped: ['webhook rule "agent reply": ticketId evaluated to nothing'] })
  })

  it('an object that no rule matches produces nothing and is counted', async () => {
    const engine = engineOf(mappingObject({ webhook: { verify: 'none', events: [agentRule] } }), settings)
    expect(await engine.routeWebhook(post(JSON.stringify({ type: 'message', ticketId: 1, author: { role: 'contact' } })))).toEqual({
      kind: 'events',
      events: [],
      unmatched: 1,
      skipped: [],
    })
  })

  describe('lookup steps of a rule', () => {
    let stub: StubHelpdesk
    beforeAll(async () => {
      stub = await startStubHelpdesk()
    })
    afterAll(async () => stub.close())

    it('run before the fields are read and are readable as $steps', async () => {
      const mapping = mappingObject({
        webhook: {
          verify: 'none',
          events: [
            {
              when: 'event = "assigned"',
              emit: 'assigned',
              ticketId: 'ticket',
              steps: [{ id: 'agent', request: { method: 'GET', path: '/agents/{{ agentId }}' } }],
              agent: { id: 'agentId', name: '$steps.agent.body.name' },
            },
          ],
        },
      })
      stub.enqueue({ body: { name: 'Alice Agent' } })
      const outcome = await engineOf(mapping, { ...settings, baseUrl: stub.url }).routeWebhook(post('{"event": "assigned", "ticket": 8, "agentId": 3}'))
      expect(stub.requests.map((r) => `${r.method} ${r.path} ${r.headers.authorization}`)).toEqual(['GET /api/agents/3 Bearer tok-1234'])
      expect(outcome).toMatchObject({ kind: 'events', events: [{ type: 'assigned', ticketId: '8', agent: { id: '3', name: 'Alice Agent' } }] })
    })
  })
})

describe('mapping expressions that fail on a delivery', () => {
  it('skip that event with the rule named, instead of failing the delivery for ever', async () => {
    const rule = { name: 'agent reply', when: 'type = "message"', emit: 'newMessage', ticketId: '$number(ticket)', messageId: 'id' }
    const engine = engineOf(mappingObject({ webhook: { verify: 'none', events: [rule] } }), settings)
    const outcome = await engine.routeWebhook(post(JSON.stringify({ type: 'message', id: 1, ticket: 'abc' })))
    expect(outcome).toMatchObject({ kind: 'events', events: [], unmatched: 0 })
    expect((outcome as { skipped: string[] }).skipped).toEqual([expect.stringMatching(/^webhook rule "agent reply": Unable to cast value to a number/)])
  })
})
