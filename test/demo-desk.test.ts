// Demo Desk: REST API and signed webhooks with retries, driven over real HTTP on 127.0.0.1.
import { createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startDemoDesk, type DemoDesk, type Delivery, type DeskApiAnswer, type WebhookPayload } from '../src/sandbox/demo-desk'

const TOKEN = 'test-token'

type Received = { headers: http.IncomingHttpHeaders; raw: string; body: WebhookPayload; at: number }

/** A tiny webhook receiver. `respond` decides the status of each request (default 200). */
async function startReceiver(respond: (r: Received, nth: number) => number | Promise<number> = () => 200) {
  const received: Received[] = []
  const server = http.createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (raw += c))
    req.on('end', async () => {
      const r: Received = { headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() }
      received.push(r)
      const status = await respond(r, received.length)
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end(status < 300 ? 'ok' : 'nope')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/desk`
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const until = performance.now() + timeoutMs // not Date: one test moves the system clock
  for (;;) {
    const v = check()
    if (v) return v
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const verify = (secret: string, r: Received) =>
  r.headers['x-desk-signature'] === `sha256=${createHmac('sha256', secret).update(`${r.headers['x-desk-timestamp']}.${r.raw}`).digest('hex')}`

describe('Demo Desk', () => {
  let desk: DemoDesk
  const closers: (() => Promise<void>)[] = []

  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
    const headers: Record<string, string> = {}
    if (token !== null) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(desk.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as DeskApiAnswer }
  }

  const newTicket = async (externalId = 'user_1', history?: unknown) => {
    const { body: c } = await call('POST', '/api/contacts', { name: 'Jane Doe', email: 'jane@example.com', externalId })
    const { body: t } = await call('POST', '/api/tickets', { contactId: c.contact.id, subject: 'Help', history })
    return { contact: c.contact, ticket: t.ticket }
  }

  const subscribe = async (url: string, events?: string[]) => {
    const res = await call('POST', '/api/webhooks', { url, events })
    expect(res.status).toBe(201)
    return res.body.webhook as { id: string; url: string; secret: string; events: string[] }
  }

  beforeEach(async () => {
    desk = await startDemoDesk({ apiToken: TOKEN, retryDelaysMs: [50, 100, 150] })
  })
  afterEach(async () => {
    vi.useRealTimers()
    await desk.close()
    await Promise.all(closers.splice(0).map((c) => c()))
  })

  describe('REST API', () => {
    it('requires the bearer token', async () => {
      for (const token of [null, 'wrong-token', '']) {
        const res = await call('GET', '/api/tickets', undefined, token)
        expect(res.status).toBe(401)
        expect(res.headers.get('content-type')).toMatch(/application\/json/)
        expect(res.body.error.code).toBe('unauthorized')
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
      }
      expect((await call('GET', '/api/tickets')).status).toBe(200)
      expect((await call('POST', '/api/contacts', { name: 'x' }, 'nope')).status).toBe(401)
      expect(desk.store.contacts).toHaveLength(0)
    })

    it('answers JSON errors for unknown routes, wrong methods and bad JSON', async () => {
      expect((await call('GET', '/api/nothing')).status).toBe(404)
      expect((await call('DELETE', '/api/tickets')).status).toBe(405)
      const bad = await call('POST', '/api/contacts', '{"name":')
      expect(bad.status).toBe(400)
      expect(bad.body.error.code).toBe('invalid_json')
      expect((await call('POST', '/api/contacts', [1, 2])).status).toBe(400)
    })

    it('creates contacts, idempotent on externalId', async () => {
      const first = await call('POST', '/api/contacts', { name: 'Jane Doe', email: 'jane@example.com', externalId: 'user_1' })
      expect(first.status).toBe(201)
      expect(first.body.contact).toMatchObject({ id: 'cnt_1', name: 'Jane Doe', email: 'jane@example.com', externalId: 'user_1' })
      const again = await call('POST', '/api/contacts', { name: 'Jane D.', externalId: 'user_1' })
      expect(again.status).toBe(200)
      expect(again.body.contact.id).toBe('cnt_1')
      const anon1 = await call('POST', '/api/contacts', { name: 'Anon' })
      const anon2 = await call('POST', '/api/contacts', { name: 'Anon' })
      expect([anon1.status, anon2.status]).toEqual([201, 201])
      expect(anon1.body.contact.id).not.toBe(anon2.body.contact.id)
      expect(anon1.body.contact).toMatchObject({ email: null, externalId: null })
      expect((await call('POST', '/api/contacts', { email: 'x@y.z' })).status).toBe(400)
      expect(desk.store.contacts).toHaveLength(3)
    })

    it('creates tickets with their history, lists and reads them', async () => {
      const { body: c } = await call('POST', '/api/contacts', { name: 'Jane Doe', externalId: 'user_1' })
      const res = await call('POST', '/api/tickets', {
        contactId: c.contact.id,
        subject: 'Help with my order',
        description: 'Escalated by the bot',
        history: [
          { author: 'contact', text: 'Where is my order?' },
          { author: 'bot', text: 'Let me get you a human.' },
        ],
      })
      expect(res.status).toBe(201)
      expect(res.body.ticket).toMatchObject({
        id: 'tkt_1',
        status: 'open',
        subject: 'Help with my order',
        description: 'Escalated by the bot',
        contactId: 'cnt_1',
        assigneeId: null,
      })
      expect(res.body.ticket.messages).toBeUndefined()

      const one = await call('GET', '/api/tickets/tkt_1')
      expect(one.status).toBe(200)
      expect(one.body.ticket.contact?.name).toBe('Jane Doe')
      expect(one.body.ticket.messages).toMatchObject([
        { id: 'msg_1', authorType: 'contact', authorId: 'cnt_1', authorName: 'Jane Doe', text: 'Where is my order?', history: true },
        { id: 'msg_2', authorType: 'bot', authorId: null, authorName: 'Bot', text: 'Let me get you a human.', history: true },
      ])
      const all = await call('GET', '/api/tickets')
      expect(all.body.tickets).toHaveLength(1)
      expect(all.body.tickets[0].messages).toHaveLength(2)

      expect((await call('GET', '/api/tickets/tkt_404')).status).toBe(404)
      expect((await call('POST', '/api/tickets', { contactId: 'cnt_404', subject: 'x' })).status).toBe(404)
      expect((await call('POST', '/api/tickets', { contactId: 'cnt_1' })).status).toBe(400)
      const badHistory = await call('POST', '/api/tickets', { contactId: 'cnt_1', subject: 'x', history: [{ author: 'agent', text: 'x' }] })
      expect(badHistory.status).toBe(400)
    })

    it('adds contact and system messages, with attachments', async () => {
      const { ticket } = await newTicket()
      const text = await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'Hello?', authorType: 'contact' })
      expect(text.status).toBe(201)
      expect(text.body.message).toMatchObject({
        id: 'msg_1',
        ticketId: ticket.id,
        authorType: 'contact',
        authorId: 'cnt_1',
        text: 'Hello?',
        attachments: [],
      })
      expect(typeof text.body.message.createdAt).toBe('string')
      const system = await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'The bot handed over', authorType: 'system' })
      expect(system.body.message).toMatchObject({ authorType: 'system', authorId: null })
      const image = await call('POST', `/api/tickets/${ticket.id}/messages`, {
        text: '',
        authorType: 'contact',
        attachments: [{ url: 'https://example.com/a.png', kind: 'image' }],
      })
      expect(image.status).toBe(201)
      expect(image.body.message.attachments).toEqual([{ url: 'https://example.com/a.png', title: null, kind: 'image' }])

      expect((await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'x', authorType: 'agent' })).status).toBe(400)
      expect((await call('POST', `/api/tickets/${ticket.id}/messages`, { text: ' ' })).status).toBe(400)
      const badKind = await call('POST', `/api/tickets/${ticket.id}/messages`, { attachments: [{ url: 'https://x', kind: 'gif' }] })
      expect(badKind.status).toBe(400)
      expect((await call('POST', '/api/tickets/tkt_404/messages', { text: 'x' })).status).toBe(404)
      expect(desk.store.messagesOf(ticket.id)).toHaveLength(3)
    })

    it('closes tickets idempotently; a closed ticket takes no more messages', async () => {
      const { ticket } = await newTicket()
      const first = await call('POST', `/api/tickets/${ticket.id}/close`)
      expect(first.status).toBe(200)
      expect(first.body.ticket).toMatchObject({ id: ticket.id, status: 'closed' })
      const second = await call('POST', `/api/tickets/${ticket.id}/close`)
      expect(second.status).toBe(200)
      expect(second.body.ticket.closedAt).toBe(first.body.ticket.closedAt)
      const late = await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'still there?' })
      expect(late.status).toBe(409)
      expect(late.body.error.code).toBe('ticket_not_open')
      expect((await call('POST', '/api/tickets/tkt_404/close')).status).toBe(404)
    })

    it('serves the seeded agents and their avatars', async () => {
      const res = await call('GET', '/api/agents/agt_1')
      expect(res.status).toBe(200)
      expect(res.body.agent).toEqual({
        id: 'agt_1',
        name: 'Alice Agent',
        email: expect.any(String),
        avatarUrl: `${desk.url}/avatars/alice.svg`,
      })
      expect((await call('GET', '/api/agents/agt_2')).body.agent.name).toBe('Bob Builder')
      expect((await call('GET', '/api/agents')).body.agents).toHaveLength(2)
      expect((await call('GET', '/api/agents/agt_9')).status).toBe(404)
      const avatar = await fetch(res.body.agent.avatarUrl)
      expect(avatar.status).toBe(200)
      expect(avatar.headers.get('content-type')).toBe('image/svg+xml')
      expect(await avatar.text()).toMatch(/^<svg/)
      expect(desk.agents.map((a) => a.id)).toEqual(['agt_1', 'agt_2'])
    })

    it('lets agents assign, reply and solve', async () => {
      const { ticket } = await newTicket()
      const assigned = await call('POST', `/api/tickets/${ticket.id}/assign`, { agentId: 'agt_2' })
      expect(assigned.status).toBe(200)
      expect(assigned.body.ticket.assigneeId).toBe('agt_2')
      const reply = await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_2', text: 'On it' })
      expect(reply.status).toBe(201)
      expect(reply.body.message).toMatchObject({ authorType: 'agent', authorId: 'agt_2', authorName: 'Bob Builder', text: 'On it' })
      expect((await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_9', text: 'x' })).status).toBe(404)
      expect((await call('POST', `/api/tickets/${ticket.id}/assign`, {})).status).toBe(400)
      const solved = await call('POST', `/api/tickets/${ticket.id}/solve`, { agentId: 'agt_2' })
      expect(solved.body.ticket).toMatchObject({ status: 'solved', assigneeId: 'agt_2' })
      expect((await call('POST', `/api/tickets/${ticket.id}/solve`, { agentId: 'agt_2' })).status).toBe(200)
      expect((await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_2', text: 'late' })).status).toBe(409)
      // The integration may still close a solved ticket (stopHitl after hitlStopped).
      expect((await call('POST', `/api/tickets/${ticket.id}/close`)).body.ticket.status).toBe('closed')
    })

    it('lets an agent reply with files, with or without text; a bad attachment is a 400', async () => {
      const { ticket } = await newTicket()
      const file = { url: 'https://files.example/label.pdf', title: 'label.pdf', kind: 'file' }
      const withText = await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_1', text: 'Label attached', attachments: [file] })
      expect(withText.status).toBe(201)
      expect(withText.body.message).toMatchObject({ authorType: 'agent', text: 'Label attached', attachments: [file] })
      const only = await call('POST', `/api/tickets/${ticket.id}/reply`, {
        agentId: 'agt_1',
        attachments: [{ url: 'https://files.example/a.png', kind: 'image' }],
      })
      expect(only.body.message).toMatchObject({ text: '', attachments: [{ url: 'https://files.example/a.png', title: null, kind: 'image' }] })
      expect((await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_1', attachments: [{ url: 'ftp://x' }] })).status).toBe(400)
      expect((await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_1' })).status).toBe(400)
    })

    it('serves the console page with the token, only to local hosts', async () => {
      const page = await fetch(`${desk.url}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/text\/html/)
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/)
      const html = await page.text()
      expect(html).toContain(JSON.stringify(TOKEN))
      expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/)
      const rebound = await new Promise<number>((resolve, reject) => {
        http
          .get(`${desk.url}/`, { headers: { host: 'evil.example:80' } }, (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          })
          .on('error', reject)
      })
      expect(rebound).toBe(403)
    })

    it('reports changes through on()', async () => {
      const seen: string[] = []
      const off = desk.on('ticket', (t) => seen.push(`ticket ${t.id} ${t.status}`))
      desk.on('message', (m, t) => seen.push(`message ${m.id} ${t.id}`))
      const { ticket } = await newTicket('user_1', [{ author: 'contact', text: 'hi' }])
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'hello' })
      off()
      await call('POST', `/api/tickets/${ticket.id}/close`)
      expect(seen).toEqual(['ticket tkt_1 open', 'message msg_1 tkt_1', 'message msg_2 tkt_1'])
    })
  })

  describe('webhooks', () => {
    it('manages subscriptions; the secret is shown once', async () => {
      const created = await subscribe('http://127.0.0.1:9/hook')
      expect(created).toMatchObject({ id: 'whk_1', url: 'http://127.0.0.1:9/hook' })
      expect(created.secret).toMatch(/^whsec_[0-9a-f]{48}$/)
      expect(created.events).toEqual(['message.created', 'ticket.assigned', 'ticket.solved', 'ticket.closed'])
      const other = await subscribe('http://127.0.0.1:9/other', ['ticket.solved'])
      expect(other.secret).not.toBe(created.secret)
      const list = await call('GET', '/api/webhooks')
      expect(list.body.webhooks).toHaveLength(2)
      expect(list.body.webhooks[0]).not.toHaveProperty('secret')
      expect((await call('POST', '/api/webhooks', { url: 'ftp://x' })).status).toBe(400)
      expect((await call('POST', '/api/webhooks', { url: 'http://x', events: ['ticket.exploded'] })).status).toBe(400)
      expect((await call('DELETE', `/api/webhooks/${created.id}`)).status).toBe(204)
      expect((await call('DELETE', `/api/webhooks/${created.id}`)).status).toBe(404)
      expect(desk.store.webhooks.map((w) => w.id)).toEqual([other.id])
    })

    it('delivers signed events for the whole hand-off', async () => {
      const rx = await startReceiver()
      closers.push(rx.close)
      const sub = await subscribe(rx.url)
      const { ticket, contact } = await newTicket('user_1', [{ author: 'contact', text: 'history is not re-sent' }])
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'Hello?', authorType: 'contact' })
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'notice', authorType: 'system' })
      await call('POST', `/api/tickets/${ticket.id}/assign`, { agentId: 'agt_1' })
      await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_1', text: 'Hi Jane' })
      await call('POST', `/api/tickets/${ticket.id}/solve`, { agentId: 'agt_1' })
      await call('POST', `/api/tickets/${ticket.id}/close`)
      await waitFor(() => rx.received.length === 6, '6 deliveries')

      const now = Math.floor(Date.now() / 1000)
      for (const r of rx.received) {
        expect(verify(sub.secret, r)).toBe(true)
        expect(verify('whsec_other', r)).toBe(false)
        expect(r.headers['content-type']).toBe('application/json')
        expect(r.headers['x-desk-delivery']).toBe(r.body.id)
        expect(r.headers['x-desk-event']).toBe(r.body.event)
        expect(Math.abs(Number(r.headers['x-desk-timestamp']) - now)).toBeLessThanOrEqual(5)
        expect(r.body.ticket.id).toBe(ticket.id)
        expect(r.body.contact).toMatchObject({ id: contact.id, externalId: 'user_1' })
      }
      const [contactMsg, systemMsg, assigned, reply, solved, closed] = rx.received.map((r) => r.body)
      expect(contactMsg).toMatchObject({ event: 'message.created', message: { authorType: 'contact', text: 'Hello?' } })
      expect(contactMsg.agent).toBeUndefined()
      expect(systemMsg).toMatchObject({ event: 'message.created', message: { authorType: 'system' } })
      expect(assigned).toMatchObject({
        event: 'ticket.assigned',
        ticket: { assigneeId: 'agt_1' },
        agent: { id: 'agt_1', name: 'Alice Agent', avatarUrl: `${desk.url}/avatars/alice.svg` },
      })
      expect(reply).toMatchObject({
        event: 'message.created',
        message: { authorType: 'agent', authorId: 'agt_1', text: 'Hi Jane' },
        agent: { id: 'agt_1', name: 'Alice Agent' },
      })
      expect(solved).toMatchObject({ event: 'ticket.solved', ticket: { status: 'solved' }, agent: { id: 'agt_1' } })
      expect(closed).toMatchObject({ event: 'ticket.closed', ticket: { status: 'closed' } })
      expect(new Set(rx.received.map((r) => r.body.id)).size).toBe(6)

      const log = await call('GET', `/api/deliveries?webhookId=${sub.id}`)
      expect(log.body.deliveries).toHaveLength(6)
      for (const d of log.body.deliveries as Delivery[]) {
        expect(d.status).toBe('delivered')
        expect(d.attempts).toHaveLength(1)
        expect(d.attempts[0].statusCode).toBe(200)
      }
    })

    it('only sends the events a subscription asked for', async () => {
      const rx = await startReceiver()
      closers.push(rx.close)
      await subscribe(rx.url, ['ticket.solved'])
      const { ticket } = await newTicket()
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'Hello?' })
      await call('POST', `/api/tickets/${ticket.id}/solve`, { agentId: 'agt_2' })
      await waitFor(() => rx.received.length === 1, 'the solved delivery')
      await new Promise((r) => setTimeout(r, 100))
      expect(rx.received.map((r) => r.body.event)).toEqual(['ticket.solved'])
    })

    it('retries a 500 with the same delivery id, body and a fresh signature', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const start = Date.now()
      vi.setSystemTime(start)
      const rx = await startReceiver((_r, nth) => {
        if (nth === 1) {
          vi.setSystemTime(start + 90_000) // the retry happens "90 s later": a new timestamp
          return 500
        }
        return 200
      })
      closers.push(rx.close)
      const sub = await subscribe(rx.url)
      const deliveryEvents: Delivery[] = []
      desk.on('delivery', (d) => deliveryEvents.push(d))
      const { ticket } = await newTicket()
      await call('POST', `/api/tickets/${ticket.id}/reply`, { agentId: 'agt_1', text: 'Hi' })
      await waitFor(() => rx.received.length === 2, 'the retry')

      const [first, retry] = rx.received
      expect(retry.body.id).toBe(first.body.id)
      expect(retry.headers['x-desk-delivery']).toBe(first.headers['x-desk-delivery'])
      expect(retry.raw).toBe(first.raw)
      expect(Number(retry.headers['x-desk-timestamp']) - Number(first.headers['x-desk-timestamp'])).toBe(90)
      expect(retry.headers['x-desk-signature']).not.toBe(first.headers['x-desk-signature'])
      expect(verify(sub.secret, first)).toBe(true)
      expect(verify(sub.secret, retry)).toBe(true)

      const delivery = await waitFor(() => desk.store.deliveries.find((d) => d.id === first.body.id && d.status === 'delivered'), 'delivered status')
      expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 200])
      expect(delivery.attempts.map((a) => a.timestamp)).toEqual([Number(first.headers['x-desk-timestamp']), Number(retry.headers['x-desk-timestamp'])])
      expect(deliveryEvents.map((d) => d.status)).toEqual(['pending', 'pending', 'delivered'])
      const logged = (await call('GET', '/api/deliveries')).body.deliveries as Delivery[]
      expect(logged[0]).toMatchObject({ id: first.body.id, status: 'delivered', event: 'message.created', webhookId: sub.id })
    })

    it('gives up after the last attempt and records network errors', async () => {
      const rx = await startReceiver(() => 503)
      closers.push(rx.close)
      await subscribe(rx.url, ['message.created'])
      await subscribe('http://127.0.0.1:1/unreachable', ['message.created'])
      const { ticket } = await newTicket()
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'anyone?' })
      const finished = await waitFor(() => {
        const ds = desk.store.deliveries
        return ds.length === 2 && ds.every((d) => d.status !== 'pending') && ds
      }, 'both deliveries to give up')
      for (const d of finished) {
        expect(d.status).toBe('failed')
        expect(d.attempts).toHaveLength(4)
      }
      expect(finished[0].attempts.map((a) => a.statusCode)).toEqual([503, 503, 503, 503])
      expect(finished[1].attempts.every((a) => a.statusCode === null && a.error === 'ECONNREFUSED')).toBe(true)
      expect(rx.received).toHaveLength(4)
    })

    it('keeps deliveries in order per ticket, even while one is being retried', async () => {
      let failures = 0
      const rx = await startReceiver((r) => {
        // The first delivery of ticket 1 fails twice; the later ones must wait for it.
        if (r.body.message?.text === 'one' && failures < 2) {
          failures++
          return 500
        }
        return 200
      })
      closers.push(rx.close)
      await subscribe(rx.url, ['message.created'])
      const { ticket } = await newTicket('user_1')
      const { ticket: other } = await newTicket('user_2')
      for (const text of ['one', 'two', 'three', 'four']) {
        await call('POST', `/api/tickets/${ticket.id}/messages`, { text })
      }
      await call('POST', `/api/tickets/${other.id}/messages`, { text: 'other ticket' })
      await waitFor(() => rx.received.filter((r) => r.raw.includes('"text":"four"')).length === 1, 'the last delivery')

      const texts = rx.received.map((r) => r.body.message?.text)
      const ofTicket = texts.filter((t) => t !== 'other ticket')
      expect(ofTicket).toEqual(['one', 'one', 'one', 'two', 'three', 'four'])
      // Another ticket's queue is independent: it does not wait behind the retries.
      expect(texts.indexOf('other ticket')).toBeLessThan(texts.lastIndexOf('one'))
    })

    it('stops delivering when unsubscribed, pending retries included', async () => {
      const rx = await startReceiver(() => 500)
      closers.push(rx.close)
      desk = await restart({ retryDelaysMs: [60_000] })
      const sub = await subscribe(rx.url)
      const { ticket } = await newTicket()
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'first' })
      await waitFor(() => rx.received.length === 1, 'the first attempt')
      expect((await call('DELETE', `/api/webhooks/${sub.id}`)).status).toBe(204)
      const cancelled = await waitFor(() => desk.store.deliveries.find((d) => d.status === 'cancelled'), 'the pending retry to be cancelled')
      expect(cancelled.attempts).toHaveLength(1)
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'second' })
      await call('POST', `/api/tickets/${ticket.id}/solve`, { agentId: 'agt_1' })
      await new Promise((r) => setTimeout(r, 150))
      expect(rx.received).toHaveLength(1)
      expect(desk.store.deliveries).toHaveLength(1)
    })

    it('close() cancels pending retries promptly', async () => {
      const rx = await startReceiver(() => 500)
      closers.push(rx.close)
      desk = await restart({ retryDelaysMs: [60_000, 60_000] })
      await subscribe(rx.url)
      const { ticket } = await newTicket()
      await call('POST', `/api/tickets/${ticket.id}/messages`, { text: 'x' })
      await waitFor(() => rx.received.length === 1, 'the first attempt')
      const started = Date.now()
      await desk.close()
      expect(Date.now() - started).toBeLessThan(1000)
      expect(desk.store.deliveries[0].status).toBe('cancelled')
    })
  })

  /** Replaces the desk of this test with one started with other options. */
  async function restart(opts: Parameters<typeof startDemoDesk>[0]) {
    await desk.close()
    return startDemoDesk({ apiToken: TOKEN, ...opts })
  }
})
