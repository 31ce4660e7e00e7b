// Format 1.1 message model in the engine: several events per event object (`emit` lists, `continue`),
// per-ticket values (`createTicket.result` extras, `$ticket`, `set:`), and step controls (`paginate`, `retry`,
// `onError`) against the stub helpdesk over real HTTP.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { VendorRequestError } from '../../src/http/sendRequest'
import { MAX_EVENTS_PER_DELIVERY } from '../../src/webhook/limits'
import { StepControlError } from '../../src/operations/stepControl'
import type { IncomingWebhook } from '../../src/webhook/routeWebhook'
import { engineOf, mappingObject, problemsOf, yamlOf } from './helpers'

let stub: StubHelpdesk
beforeAll(async () => {
  stub = await startStubHelpdesk()
})
afterAll(async () => stub.close())
afterEach(() => stub.reset())

const settings = () => ({ baseUrl: stub.url, apiToken: 'tok-1' })
const post = (body: unknown, headers: Record<string, string> = {}): IncomingWebhook => ({
  method: 'POST',
  path: '/',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})
const ticketRequest = { userId: 'u1', externalUserId: 'c1', user: { name: 'Ada' }, title: 'Help', messageHistory: [] }
const webhookEngine = (events: unknown[], extra: Record<string, unknown> = {}) =>
  engineOf(mappingObject({ webhook: { verify: 'none', events, ...extra } }), settings())

/** The error a promise rejects with (a fulfilled promise fails the test). */
const rejection = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: Error) => e,
  )

describe('several events per event object', () => {
  const update = { ticket: { id: 7 }, assignee: { id: 'a1', name: 'Ann' }, reply: { id: 'r1', text: 'On it' }, status: 'solved' }

  it('an emit list produces each type in order from the same fields', async () => {
    const engine = webhookEngine([
      {
        name: 'update',
        when: 'reply',
        emit: ['assigned', 'newMessage'],
        ticketId: 'ticket.id',
        messageId: 'reply.id',
        agent: { id: 'assignee.id', name: 'assignee.name' },
        message: { text: 'reply.text' },
      },
    ])
    const out = await engine.routeWebhook(post(update))
    expect(out).toEqual({
      kind: 'events',
      unmatched: 0,
      skipped: [],
      events: [
        { type: 'assigned', ticketId: '7', messageId: 'r1', agent: { id: 'a1', name: 'Ann' }, rule: 'webhook rule "update"' },
        {
          type: 'newMessage',
          ticketId: '7',
          messageId: 'r1',
          agent: { id: 'a1', name: 'Ann' },
          message: { type: 'text', text: 'On it' },
          rule: 'webhook rule "update"',
        },
      ],
    })
  })

  it('continue: true lets the next matching rules fire too, in rule order; a rule without it stops the search', async () => {
    const engine = webhookEngine(
      [
        { name: 'assigned', when: 'assignee', emit: 'assigned', continue: true, ticketId: 'ticket.id', agent: { id: 'assignee.id' } },
        { name: 'not matching', when: 'false', emit: 'solved', ticketId: 'ticket.id' },
        { name: 'reply', when: 'reply', emit: 'newMessage', ticketId: 'ticket.id', messageId: 'reply.id', message: { text: 'reply.text' } },
        { name: 'solved', when: 'status = "solved"', emit: 'solved', ticketId: 'ticket.id' },
      ],
      { dedupeKey: '$headers."x-delivery"' },
    )
    const out = await engine.routeWebhook(post(update, { 'x-delivery': 'd1' }))
    if (out.kind !== 'events') throw new Error(out.kind)
    // "reply" has no continue: the solved rule after it is not reached.
    expect(out.events.map((e) => `${e.type}:${e.rule}`)).toEqual(['assigned:webhook rule "assigned"', 'newMessage:webhook rule "reply"'])
    // Each event keeps its own delivery key, the same on a redelivery.
    const keys = out.events.map((e) => e.dedupeKey)
    expect(new Set(keys).size).toBe(2)
    const again = await engine.routeWebhook(post(update, { 'x-delivery': 'd1' }))
    expect(again.kind === 'events' && again.events.map((e) => e.dedupeKey)).toEqual(keys)
  })

  describe('each: one event per element of a lookup result', () => {
    const replies = [
      { id: 11, by: 'a1', text: 'first', internal: false },
      { id: 12, by: 'a2', text: 'note', internal: true },
      { id: 13, by: 'a2', text: 'second', internal: false },
    ]
    const rule = {
      name: 'replies',
      when: 'event = "reply"',
      steps: [{ id: 'list', request: { method: 'GET', path: '/tickets/{{ ticket }}/replies' } }],
      each: '$steps.list.body[$not(internal) and ($not($exists($ticket.last)) or id > $ticket.last)]',
      emit: 'newMessage',
      ticketId: 'ticket',
      messageId: '$item.id',
      agent: { id: '$item.by' },
      message: { text: '$item.text & " (" & $string($index) & ")"' },
      set: { last: '$item.id' },
    }

    it('produces the events in the list order, each field reading $item and $index; set: keeps the last element', async () => {
      const engine = engineOf(mappingObject({ webhook: { verify: 'none', events: [rule], dedupeKey: '$headers."x-delivery"' } }), settings())
      stub.enqueue({ body: replies })
      const out = await engine.routeWebhook(post({ event: 'reply', ticket: 'T1' }, { 'x-delivery': 'd1' }), { ticketValues: async () => ({ last: 10 }) })
      if (out.kind !== 'events') throw new Error(out.kind)
      expect(stub.requests.map((r) => r.path)).toEqual(['/api/tickets/T1/replies'])
      expect(out.events.map((e) => [e.messageId, e.agent?.id, e.message?.text, e.ticket])).toEqual([
        ['11', 'a1', 'first (0)', { last: 11 }],
        ['13', 'a2', 'second (1)', { last: 13 }],
      ])
      // Two events of one delivery: two keys, the same on a redelivery.
      expect(new Set(out.events.map((e) => e.dedupeKey)).size).toBe(2)
    })

    it('an empty list (nothing newer) produces no event', async () => {
      const engine = engineOf(mappingObject({ webhook: { verify: 'none', events: [rule] } }), settings())
      stub.enqueue({ body: replies })
      const out = await engine.routeWebhook(post({ event: 'reply', ticket: 'T1' }), { ticketValues: async () => ({ last: 13 }) })
      expect(out).toMatchObject({ kind: 'events', events: [] })
    })

    it(`a list longer than ${MAX_EVENTS_PER_DELIVERY} events is 413 with no event`, async () => {
      const engine = engineOf(mappingObject({ webhook: { verify: 'none', events: [{ ...rule, each: '$steps.list.body' }] } }), settings())
      stub.enqueue({ body: Array.from({ length: MAX_EVENTS_PER_DELIVERY + 1 }, (_, i) => ({ id: i, by: 'a1', text: 't' })) })
      const out = await engine.routeWebhook(post({ event: 'reply', ticket: 'T1' }))
      expect(out).toMatchObject({ kind: 'invalid', status: 413 })
    })

    it('each outside a rule with steps still reads the event object', async () => {
      const engine = webhookEngine([
        { when: 'true', each: 'parts[author = "agent"]', emit: 'newMessage', ticketId: 'ticket', messageId: '$item.id', message: { text: '$item.body' } },
      ])
      const out = await engine.routeWebhook(
        post({
          ticket: 9,
          parts: [
            { id: 'p1', author: 'agent', body: 'a' },
            { id: 'p2', author: 'user', body: 'b' },
          ],
        }),
      )
      expect(out.kind === 'events' && out.events.map((e) => e.message?.text)).toEqual(['a'])
    })
  })

  it('an empty emit list is refused by the schema', () => {
    const text = yamlOf(mappingObject({ webhook: { verify: 'none', events: [{ when: 'true', emit: [], ticketId: 'id' }] } }))
    expect(problemsOf(text).map((p) => p.message)).toEqual([expect.stringMatching(/emit.*fewer than 1 items|fewer than 1 items/)])
  })
})

describe('per-ticket values ($ticket)', () => {
  const keeping = mappingObject({
    operations: {
      createTicket: {
        steps: [{ id: 't', request: { method: 'POST', path: '/tickets', body: '{"title": title}' } }],
        result: { ticketId: '$steps.t.body.id', threadRef: '$steps.t.body.thread', absent: '$steps.t.body.nothing' },
      },
      sendMessage: {
        text: { steps: [{ request: { method: 'POST', path: '/threads/{{ $ticket.threadRef }}/messages', body: '{"text": text, "ref": $ticket.threadRef}' } }] },
      },
      closeTicket: { steps: [{ request: { method: 'PUT', path: '/threads/{{ $ticket.threadRef }}', body: '{"status": "closed"}' } }] },
    },
    webhook: {
      verify: 'none',
      events: [
        {
          name: 'reassigned',
          when: 'assignee != $ticket.assignee',
          emit: 'assigned',
          continue: true,
          ticketId: 'ticket',
          agent: { id: 'assignee' },
          set: { assignee: 'assignee' },
        },
        { name: 'reply', when: 'text', emit: 'newMessage', ticketId: 'ticket', message: { text: 'text & " (" & $ticket.threadRef & ")"' } },
      ],
    },
  })

  it('createTicket keeps result values beside ticketId (undefined ones are not kept); sendMessage and closeTicket read them', async () => {
    const engine = engineOf(keeping, settings())
    stub.enqueue({ status: 201, body: { id: 'T1', thread: 'thr-9' } })
    expect(await engine.openTicket(ticketRequest)).toEqual({ ticketId: 'T1', ticket: { threadRef: 'thr-9' } })
    await engine.sendMessage({ ticketId: 'T1', type: 'text', payload: { text: 'hi' }, ticket: { threadRef: 'thr-9' } })
    await engine.closeTicket({ ticketId: 'T1', ticket: { threadRef: 'thr-9' } })
    expect(stub.requests.slice(1).map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/api/threads/thr-9/messages', { text: 'hi', ref: 'thr-9' }],
      ['PUT', '/api/threads/thr-9', { status: 'closed' }],
    ])
  })

  it('createTicket gets a handoffId of its own per hand-off (a thread key), or the one the caller gives', async () => {
    const byHandoff = mappingObject({
      operations: {
        createTicket: {
          steps: [{ id: 't', request: { method: 'POST', path: '/tickets', body: '{"ref": "bp-" & handoffId}' } }],
          result: { ticketId: '$steps.t.body.id', threadRef: '"bp-" & handoffId' },
        },
      },
    })
    const engine = engineOf(byHandoff, settings())
    stub.enqueue({ status: 201, body: { id: 'T1' } }, { status: 201, body: { id: 'T2' } }, { status: 201, body: { id: 'T3' } })
    const first = await engine.openTicket(ticketRequest)
    const second = await engine.openTicket(ticketRequest)
    const given = await engine.openTicket({ ...ticketRequest, handoffId: 'fixed-id' })
    const refs = stub.requests.map((r) => (r.body as { ref: string }).ref)
    expect(refs[0]).toMatch(/^bp-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(refs[1]).not.toBe(refs[0])
    expect([first.ticket.threadRef, second.ticket.threadRef, given.ticket.threadRef]).toEqual([refs[0], refs[1], 'bp-fixed-id'])
    expect(refs[2]).toBe('bp-fixed-id')
  })

  it('a webhook rule reads $ticket for change detection and set: gives the new values on the event', async () => {
    const engine = engineOf(keeping, settings())
    const loaded: string[] = []
    const store: Record<string, Record<string, unknown>> = { T1: { threadRef: 'thr-9', assignee: 'a1' } }
    const ticketValues = async (id: string) => {
      loaded.push(id)
      return store[id]
    }
    // Same assignee: no assigned event, and nothing to store.
    const same = await engine.routeWebhook(post({ ticket: 'T1', assignee: 'a1', text: 'hello' }), { ticketValues })
    expect(same.kind === 'events' && same.events).toEqual([
      { type: 'newMessage', ticketId: 'T1', message: { type: 'text', text: 'hello (thr-9)' }, rule: 'webhook rule "reply"' },
    ])
    // A new assignee: assigned (with the values after set) and then the reply.
    const changed = await engine.routeWebhook(post({ ticket: 'T1', assignee: 'a2', text: 'hi' }), { ticketValues })
    expect(changed.kind === 'events' && changed.events).toEqual([
      { type: 'assigned', ticketId: 'T1', agent: { id: 'a2' }, ticket: { threadRef: 'thr-9', assignee: 'a2' }, rule: 'webhook rule "reassigned"' },
      { type: 'newMessage', ticketId: 'T1', message: { type: 'text', text: 'hi (thr-9)' }, rule: 'webhook rule "reply"' },
    ])
    // Loaded once per delivery, however many rules read it.
    expect(loaded).toEqual(['T1', 'T1'])
    // The loader's own object is not changed (the glue stores the event's values).
    expect(store.T1).toEqual({ threadRef: 'thr-9', assignee: 'a1' })
  })

  it("a rule's own fields read $ticket as it was before the rule's set:", async () => {
    const engine = webhookEngine([
      { when: 'true', emit: 'newMessage', ticketId: 'ticket', messageId: 'id', set: { last: 'id' }, message: { text: '"after " & $ticket.last' } },
    ])
    const out = await engine.routeWebhook(post({ ticket: 'T1', id: 'm2' }), { ticketValues: async () => ({ last: 'm1' }) })
    expect(out.kind === 'events' && out.events.map((e) => [e.message?.text, e.ticket])).toEqual([['after m1', { last: 'm2' }]])
  })

  it('rules that do not read $ticket never load it', async () => {
    const engine = webhookEngine([{ when: 'true', emit: 'solved', ticketId: 'id' }])
    let calls = 0
    const out = await engine.routeWebhook(post({ id: 1 }), {
      ticketValues: async () => {
        calls++
        return {}
      },
    })
    expect(out.kind === 'events' && out.events.length).toBe(1)
    expect(calls).toBe(0)
  })

  it('a rule reading $ticket whose ticketId depends on $steps is refused, naming the field', () => {
    const text = yamlOf(
      mappingObject({
        webhook: {
          verify: 'none',
          events: [{ when: '$ticket.x', emit: 'solved', steps: [{ id: 'l', request: { method: 'GET', path: '/x' } }], ticketId: '$steps.l.body.id' }],
        },
      }),
    )
    expect(problemsOf(text).map((p) => p.message)).toEqual([expect.stringMatching(/reads \$ticket, so its ticketId must not depend on \$steps/)])
  })
})

describe('paginate', () => {
  const lookup = (paginate: Record<string, unknown>) =>
    mappingObject({
      operations: {
        register: {
          steps: [{ id: 'hooks', request: { method: 'GET', path: '/hooks', query: { per: '2' } }, paginate }],
          result: { found: '$steps.hooks.pages.body.items[url = $webhookUrl].id', pages: '$count($steps.hooks.pages)' },
        },
      },
    })

  it('follows next links (a URL used as is) until none is left', async () => {
    stub.enqueue(
      { body: { items: [{ id: 1, url: 'a' }], next: `${stub.url}/api/hooks?page=2&per=2` } },
      { body: { items: [{ id: 2, url: 'https://wh.example/x' }] } },
    )
    const engine = engineOf(lookup({ next: 'body.next', maxPages: 5 }), settings())
    expect(await engine.register('https://wh.example/x')).toEqual({ found: 2, pages: 2 })
    expect(stub.requests.map((r) => r.query)).toEqual([{ per: '2' }, { page: '2', per: '2' }])
  })

  it('an object from next sets query parameters; until stops once the item is found', async () => {
    stub.enqueue(
      { body: { items: [{ id: 1, url: 'a' }], cursor: 'c2' } },
      { body: { items: [{ id: 2, url: 'https://wh.example/x' }], cursor: 'c3' } },
      { body: { items: [] } },
    )
    const engine = engineOf(
      lookup({ next: 'body.cursor ? {"cursor": body.cursor}', until: '$count(body.items[url = $webhookUrl]) > 0', maxPages: 5 }),
      settings(),
    )
    expect(await engine.register('https://wh.example/x')).toEqual({ found: 2, pages: 2 })
    expect(stub.requests.map((r) => r.query)).toEqual([{ per: '2' }, { per: '2', cursor: 'c2' }])
  })

  it('stops at maxPages even when the vendor always has a next page', async () => {
    stub.route({ path: '/api/hooks', respond: (r) => ({ body: { items: [], next: `/hooks?page=${Number(r.query.page ?? 1) + 1}` } }) })
    const engine = engineOf(lookup({ next: 'body.next', maxPages: 3 }), settings())
    expect(await engine.register('https://wh.example/x')).toEqual({ pages: 3 })
    expect(stub.requests.map((r) => r.query.page)).toEqual([undefined, '2', '3'])
  })
})

describe('step retry', () => {
  const polling = (retry: Record<string, unknown>, method = 'GET') =>
    mappingObject({
      http: { baseUrl: '{{ $settings.baseUrl }}/api', timeoutMs: 5000, retry: { limit: 0 } },
      operations: { register: { steps: [{ id: 'm', request: { method, path: '/messages/1' }, retry }], result: { id: '$steps.m.body.id' } } },
    })

  it('re-sends while until is false, then gives the response that satisfied it', async () => {
    stub.enqueue({ body: {} }, { body: {} }, { body: { id: 'm1' } })
    expect(await engineOf(polling({ until: '$exists(body.id)', limit: 4, delayMs: 1 }), settings()).register('https://wh')).toEqual({ id: 'm1' })
    expect(stub.requests).toHaveLength(3)
  })

  it('fails naming the condition when until is still false after the last try', async () => {
    const e = await rejection(engineOf(polling({ until: '$exists(body.id)', limit: 2, delayMs: 1 }), settings()).register('https://wh'))
    expect(e).toBeInstanceOf(StepControlError)
    expect(e.message).toBe('register step "m": retry.until ($exists(body.id)) still false after 3 tries')
    expect(stub.requests).toHaveLength(3)
  })

  it('statusCodes retry even a POST (the step says so), overriding http.retry', async () => {
    stub.enqueue({ status: 409, body: { message: 'busy' } }, { status: 201, body: { id: 'm2' } })
    expect(await engineOf(polling({ statusCodes: [409], limit: 1, delayMs: 1 }, 'POST'), settings()).register('https://wh')).toEqual({ id: 'm2' })
    expect(stub.requests.map((r) => r.method)).toEqual(['POST', 'POST'])
  })

  it('a status outside statusCodes is not retried (http.retry is replaced, not added to)', async () => {
    stub.enqueue({ status: 503, body: { message: 'down' } }, { body: { id: 'never' } })
    const mapping = polling({ statusCodes: [409], limit: 2, delayMs: 1 })
    mapping.http.retry = { limit: 2 }
    const e = await rejection(engineOf(mapping, settings()).register('https://wh'))
    expect(e).toBeInstanceOf(VendorRequestError)
    expect(stub.requests).toHaveLength(1)
  })

  it('a retry with neither statusCodes nor until is refused', () => {
    expect(problemsOf(yamlOf(polling({ limit: 2 }))).map((p) => p.message)).toEqual([expect.stringMatching(/retry needs statusCodes, until or both/)])
  })
})

describe('onError', () => {
  const resuming = mappingObject({
    operations: {
      sendMessage: {
        text: {
          steps: [
            {
              id: 'send',
              request: { method: 'POST', path: '/chats/{{ ticketId }}/messages', body: '{"text": text}' },
              onError: {
                when: 'status = 422 and body.type = "chat_inactive"',
                steps: [{ id: 'resume', request: { method: 'POST', path: '/chats/{{ ticketId }}/resume', body: '{"why": $error.body.type}' } }],
              },
            },
          ],
          result: { messageId: '$steps.send.body.id' },
        },
      },
    },
  })
  const inactive = { status: 422, body: { type: 'chat_inactive', message: 'chat is inactive' } }

  it('runs the recovery steps, then sends the step once more', async () => {
    stub.enqueue(inactive, { status: 200, body: { ok: true } }, { status: 201, body: { id: 'msg1' } })
    const ids = await engineOf(resuming, settings()).sendMessage({ ticketId: 'C1', type: 'text', payload: { text: 'hi' } })
    expect(ids).toEqual(['msg1'])
    expect(stub.requests.map((r) => [r.path, r.body])).toEqual([
      ['/api/chats/C1/messages', { text: 'hi' }],
      ['/api/chats/C1/resume', { why: 'chat_inactive' }],
      ['/api/chats/C1/messages', { text: 'hi' }],
    ])
  })

  it('a second failure is the error: recovery runs once, never in a loop', async () => {
    stub.route({ path: '/api/chats/C1/messages', respond: () => inactive })
    const e = await rejection(engineOf(resuming, settings()).sendMessage({ ticketId: 'C1', type: 'text', payload: { text: 'hi' } }))
    expect(e).toBeInstanceOf(VendorRequestError)
    expect(e.message).toMatch(/answered 422: chat is inactive/)
    expect(stub.requests.map((r) => r.path)).toEqual(['/api/chats/C1/messages', '/api/chats/C1/resume', '/api/chats/C1/messages'])
  })

  it('an error its when does not match fails at once, without recovery', async () => {
    stub.enqueue({ status: 400, body: { type: 'bad', message: 'bad request' } })
    const e = await rejection(engineOf(resuming, settings()).sendMessage({ ticketId: 'C1', type: 'text', payload: { text: 'hi' } }))
    expect(e.message).toMatch(/answered 400/)
    expect(stub.requests).toHaveLength(1)
  })
})

describe('agent attachments', () => {
  it('a rule returns attachments beside the text; the type comes from type, else the content type, else file', async () => {
    const engine = webhookEngine([
      {
        when: 'true',
        emit: 'newMessage',
        ticketId: 'ticket',
        message: { text: 'text' },
        attachments: 'files.{"url": link, "name": name, "contentType": mime, "type": kind}',
      },
    ])
    const body = {
      ticket: 1,
      text: 'See attached',
      files: [
        { link: 'https://cdn.desk.example/a.png', name: 'a.png', mime: 'image/png' },
        { link: 'https://cdn.desk.example/b.pdf', name: 'b.pdf', mime: 'application/pdf' },
        { link: 'https://cdn.desk.example/c', kind: 'video' },
        { name: 'no url is dropped' },
      ],
    }
    const out = await engine.routeWebhook(post(body))
    expect(out.kind === 'events' && out.events[0]).toEqual({
      type: 'newMessage',
      ticketId: '1',
      message: { type: 'text', text: 'See attached' },
      attachments: [
        { type: 'image', url: 'https://cdn.desk.example/a.png', name: 'a.png', contentType: 'image/png' },
        { type: 'file', url: 'https://cdn.desk.example/b.pdf', name: 'b.pdf', contentType: 'application/pdf' },
        { type: 'video', url: 'https://cdn.desk.example/c' },
      ],
      rule: 'webhook rule 1',
    })
  })
})
