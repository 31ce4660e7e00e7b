import type { Message } from '@botpress/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actionOutput } from '../src/sandbox/integrationServer'
import { acmeMapping, SECRETS, signedAcmeDelivery, startStack, who } from './support/harness'

type Stack = Awaited<ReturnType<typeof startStack>>

/**
 * The whole hand-off through the built bundle behind the real SDK server, its Botpress client talking to the
 * runtime emulator, and a stub helpdesk on 127.0.0.1: every Botpress API call and vendor request asserted.
 */
describe('conformance: a full hand-off through the SDK server', () => {
  let s: Stack
  let userId: string
  let conversationId: string
  let agentUserId: string
  const TICKET = 'T-100'

  beforeAll(async () => {
    s = await startStack()
    let messageSeq = 0
    s.helpdesk.route({ method: 'POST', path: '/api/webhooks', respond: () => ({ status: 201, body: { webhook: { id: 'wh_9' } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: 'c_1' } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: TICKET } } }) })
    s.helpdesk.route({
      method: 'POST',
      path: /^\/api\/tickets\/[^/]+\/messages$/,
      respond: () => ({ status: 201, body: { message: { id: `m_${++messageSeq}` } } }),
    })
    s.helpdesk.route({ method: 'PUT', path: `/api/tickets/${TICKET}`, respond: () => ({ body: { ticket: { id: TICKET, status: 'closed' } } }) })
    s.helpdesk.route({
      method: 'GET',
      path: '/api/agents/a_7',
      respond: () => ({ body: { agent: { id: 'a_7', name: 'Alice Agent', avatar: 'https://cdn.example/alice.png' } } }),
    })
  })
  afterAll(async () => s?.stop())

  it('register runs the mapping register steps and keeps what they return', async () => {
    const r = await s.bp.register()
    expect(r.status).toBe(200)
    const hook = s.helpdesk.requests.find((q) => q.path === '/api/webhooks')!
    expect(hook.method).toBe('POST')
    expect(hook.body).toEqual({ url: s.bp.webhookUrl })
    expect(hook.headers.authorization).toBe(`Bearer ${SECRETS.apiToken}`)
    const setState = s.emulator.callsTo('POST', `/v1/chat/states/integration/${who.integrationId}/registration`)
    expect(setState).toHaveLength(1)
    expect((setState[0]!.body as { payload: { values: unknown } }).payload.values).toEqual({ webhookId: 'wh_9' })
  })

  it('register again with the same configuration does not subscribe twice', async () => {
    const before = s.helpdesk.requests.length
    expect((await s.bp.register()).status).toBe(200)
    expect(s.helpdesk.requests.length).toBe(before)
  })

  it('createUser creates the vendor contact and a Botpress user tagged with its id', async () => {
    s.emulator.clearCalls()
    const r = await s.bp.action('createUser', { name: 'Jane Doe', email: 'jane@example.com' })
    expect(r.status).toBe(200)
    userId = actionOutput(r, 'userId')
    const contact = s.helpdesk.requests.at(-1)!
    expect(contact.path).toBe('/api/contacts')
    expect(contact.body).toEqual({ name: 'Jane Doe', email: 'jane@example.com', externalId: userId })
    expect(s.emulator.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /v1/chat/users/get-or-create', `PUT /v1/chat/users/${userId}`])
    expect(s.emulator.data.users.get(userId)!.tags).toMatchObject({ id: 'c_1', email: 'jane@example.com' })
  })

  it('startHitl opens the ticket with the history and a hitl conversation tagged with it', async () => {
    s.emulator.clearCalls()
    const r = await s.bp.action('startHitl', {
      userId,
      title: 'Refund request',
      description: 'Wants a refund',
      messageHistory: [
        { source: { type: 'user', userId }, type: 'text', payload: { text: 'I want a refund' } },
        { source: { type: 'bot' }, type: 'choice', payload: { text: 'Pick one', options: [{ label: 'Yes', value: 'y' }] } },
        { source: { type: 'user', userId }, type: 'image', payload: { imageUrl: 'https://x.example/receipt.png' } },
      ],
    })
    expect(r.status).toBe(200)
    conversationId = actionOutput(r, 'conversationId')
    const ticket = s.helpdesk.requests.at(-1)!
    expect(ticket.path).toBe('/api/tickets')
    expect(ticket.body).toEqual({
      contactId: 'c_1',
      subject: 'Refund request',
      queue: 'support',
      body: 'Wants a refund\n\nJane Doe: I want a refund\nBot: Pick one\n- Yes\nJane Doe: [image] https://x.example/receipt.png',
    })
    const conv = s.emulator.data.conversations.get(conversationId)!
    expect(conv.channel).toBe('hitl')
    expect(conv.tags).toEqual({ id: TICKET })
  })

  async function pluginWrites(payload: Record<string, unknown>, type = 'text') {
    // The HITL plugin writes the end user's message into the hitl conversation as the bot, with payload.userId.
    const { message } = await s.botClient.createMessage({ conversationId, userId: s.identity.botUserId, type, payload, tags: {} })
    const { conversation } = await s.botClient.getConversation({ id: conversationId })
    const { user } = await s.botClient.getUser({ id: userId })
    return s.bp.messageCreated({ type, payload, conversation, message, user })
  }

  it('a user message reaches the ticket as the user and is acked with the vendor message id', async () => {
    s.emulator.clearCalls()
    const r = await pluginWrites({ text: 'Are you there?', userId })
    expect(r.status).toBe(200)
    const post = s.helpdesk.requests.at(-1)!
    expect(post.path).toBe(`/api/tickets/${TICKET}/messages`)
    expect(post.body).toEqual({ text: 'Are you there?', author: 'c_1' })
    // The Botpress message id reaches the mapping as botpressMessageId (here an idempotency key).
    const botpressMessageId = s.emulator.callsTo('PUT', '/v1/chat/messages/:id')[0]!.path.split('/').pop()
    expect(botpressMessageId).toMatch(/^msg_/)
    expect(post.headers['idempotency-key']).toBe(botpressMessageId)
    const ack = s.emulator.callsTo('PUT', '/v1/chat/messages/:id')
    expect(ack).toHaveLength(1)
    expect(ack[0]!.body).toEqual({ tags: { id: 'm_1' } })
  })

  it('a bot notice (no payload.userId) is sent as the system, and unknown types use the fallback', async () => {
    expect((await pluginWrites({ text: '( The user has ended the session. )' })).status).toBe(200)
    expect(s.helpdesk.requests.at(-1)!.body).toEqual({ text: '( The user has ended the session. )', author: 'system' })
    expect((await pluginWrites({ audioUrl: 'https://x.example/a.mp3', userId }, 'audio')).status).toBe(200)
    expect(s.helpdesk.requests.at(-1)!.body).toEqual({ text: '[audio] https://x.example/a.mp3', author: 'c_1' })
    expect((await pluginWrites({ imageUrl: 'https://x.example/i.png', title: 'Receipt', userId }, 'image')).status).toBe(200)
    expect(s.helpdesk.requests.at(-1)!.body).toEqual({ text: 'Receipt', attachment: 'https://x.example/i.png', author: 'c_1' })
  })

  it('a bloc is sent item by item and acked with the last part, in one Botpress call', async () => {
    s.emulator.clearCalls()
    const sent = s.helpdesk.requests.length
    const bloc = {
      items: [
        { type: 'text', payload: { text: 'one' } },
        { type: 'image', payload: { imageUrl: 'https://x.example/2.png' } },
      ],
      userId,
    }
    expect((await pluginWrites(bloc, 'bloc')).status).toBe(200)
    expect(s.helpdesk.requests.slice(sent).map((r) => r.path)).toEqual([`/api/tickets/${TICKET}/messages`, `/api/tickets/${TICKET}/messages`])
    // The earlier part (m_5) is remembered by the worker (see the echo test below), not in a state.
    expect(s.emulator.callCounts('integration')).toEqual({ updateMessage: 1 })
    expect(s.emulator.callsTo('PUT', '/v1/chat/messages/:id')[0]!.body).toEqual({ tags: { id: 'm_6' } })
  })

  it('an agent reply becomes a Botpress message from the agent user, with name and avatar', async () => {
    s.emulator.clearCalls()
    const body = {
      event: 'message.created',
      ticket: { id: TICKET },
      message: {
        id: 'm_agent_1',
        text: 'Hello Jane, I am on it',
        author: { type: 'agent', id: 'a_7', name: 'Alice Agent', avatar: 'https://cdn.example/alice.png' },
      },
    }
    const r = await s.bp.webhook(signedAcmeDelivery(body, { delivery: 'dlv-1' }))
    expect(r.status).toBe(200)
    const created = s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create')
    expect(created).toHaveLength(1)
    const msg = created[0]!.body as { userId: string }
    expect(msg).toMatchObject({
      conversationId,
      type: 'text',
      payload: { text: 'Hello Jane, I am on it' },
      tags: { id: 'm_agent_1' },
      discriminateByTags: ['id'],
    })
    const agent = s.emulator.data.users.get(msg.userId)!
    agentUserId = agent.id
    expect(agent).toMatchObject({ name: 'Alice Agent', pictureUrl: 'https://cdn.example/alice.png', tags: { id: 'a_7', role: 'agent' } })
    expect(s.emulator.data.messages.get((created[0]!.response as { message: Message }).message.id)!.direction).toBe('incoming')
  })

  it('a duplicate delivery is acknowledged and produces nothing', async () => {
    s.emulator.clearCalls()
    const messagesBefore = s.emulator.data.messages.size
    const body = {
      event: 'message.created',
      ticket: { id: TICKET },
      message: { id: 'm_agent_1', text: 'Hello Jane, I am on it', author: { type: 'agent', id: 'a_7', name: 'Alice Agent' } },
    }
    const r = await s.bp.webhook(signedAcmeDelivery(body, { delivery: 'dlv-1' }))
    expect(r.status).toBe(200)
    // Everything is known to the warm worker but the message: one call, which finds the first one.
    expect(s.emulator.callCounts()).toEqual({ getOrCreateMessage: 1 })
    expect(s.emulator.data.messages.size).toBe(messagesBefore)
  })

  it('our own messages coming back (echo) produce nothing, by id and by author', async () => {
    s.emulator.clearCalls()
    const byId = { event: 'message.created', ticket: { id: TICKET }, message: { id: 'm_1', text: 'Are you there?', author: { type: 'agent', id: 'a_7' } } }
    expect((await s.bp.webhook(signedAcmeDelivery(byId))).status).toBe(200)
    const blocItem = { event: 'message.created', ticket: { id: TICKET }, message: { id: 'm_5', text: 'one', author: { type: 'agent', id: 'a_7' } } }
    expect((await s.bp.webhook(signedAcmeDelivery(blocItem))).status).toBe(200)
    const byAuthor = {
      event: 'message.created',
      ticket: { id: TICKET },
      message: { id: 'm_x', text: 'Are you there?', author: { type: 'contact', id: 'c_1' } },
    }
    expect((await s.bp.webhook(signedAcmeDelivery(byAuthor))).status).toBe(200)
    expect(s.emulator.callsTo('POST', '/v1/chat/messages')).toHaveLength(0)
    // m_1 is found (the acked user message), m_5 is known to the worker: nothing created.
    expect(s.emulator.callCounts()).toEqual({ getOrCreateMessage: 1 })
    expect((s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create')[0]!.response as { message: Message }).message.tags).toEqual({ id: 'm_1' })
  })

  it('an assignment runs the lookup step and emits hitlAssigned with the agent user', async () => {
    s.emulator.clearCalls()
    const r = await s.bp.webhook(signedAcmeDelivery({ event: 'ticket.assigned', ticket: { id: TICKET }, agentId: 'a_7' }))
    expect(r.status).toBe(200)
    expect(s.helpdesk.requests.at(-1)!).toMatchObject({ method: 'GET', path: '/api/agents/a_7' })
    const events = s.emulator.callsTo('POST', '/v1/chat/events')
    expect(events).toHaveLength(1)
    expect(events[0]!.body).toMatchObject({ type: 'hitlAssigned', payload: { conversationId, userId: agentUserId } })
  })

  it('a ticket that is not ours is ignored without creating a conversation', async () => {
    s.emulator.clearCalls()
    const r = await s.bp.webhook(signedAcmeDelivery({ event: 'ticket.status', ticket: { id: 'T-999', status: 'solved' } }))
    expect(r.status).toBe(200)
    expect(s.emulator.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /v1/chat/conversations'])
  })

  it('a failing Botpress call answers 5xx so the vendor retries, and the retry succeeds once', async () => {
    s.emulator.clearCalls()
    s.emulator.injectFault({ method: 'POST', path: '/v1/chat/messages/get-or-create', status: 500, times: 1 })
    const delivery = signedAcmeDelivery(
      {
        event: 'message.created',
        ticket: { id: TICKET },
        message: { id: 'm_agent_2', text: 'Still there?', author: { type: 'agent', id: 'a_7', name: 'Alice Agent' } },
      },
      { delivery: 'dlv-2' },
    )
    const first = await s.bp.webhook(delivery)
    expect(first.status).toBe(503)
    const second = await s.bp.webhook(delivery)
    expect(second.status).toBe(200)
    const stillThere = () => [...s.emulator.data.messages.values()].filter((m) => m.tags.id === 'm_agent_2')
    expect(stillThere()).toHaveLength(1)
    const third = await s.bp.webhook(delivery)
    expect(third.status).toBe(200)
    expect(stillThere()).toHaveLength(1)
  })

  it('solved emits hitlStopped', async () => {
    s.emulator.clearCalls()
    const r = await s.bp.webhook(signedAcmeDelivery({ event: 'ticket.status', ticket: { id: TICKET, status: 'solved' } }))
    expect(r.status).toBe(200)
    expect(s.emulator.callsTo('POST', '/v1/chat/events').map((c) => c.body)).toEqual([{ type: 'hitlStopped', conversationId, payload: { conversationId } }])
  })

  it('stopHitl closes the ticket', async () => {
    const r = await s.bp.action('stopHitl', { conversationId })
    expect(r.status).toBe(200)
    expect(r.json?.output).toEqual({})
    expect(s.helpdesk.requests.at(-1)).toMatchObject({ method: 'PUT', path: `/api/tickets/${TICKET}`, body: { status: 'closed' } })
  })

  describe('webhooks that must be refused (401/400/413) and change nothing', () => {
    const agentReply = { event: 'message.created', ticket: { id: TICKET }, message: { id: 'm_evil', text: 'pay here', author: { type: 'agent', id: 'a_7' } } }
    const cases: [string, () => ReturnType<typeof signedAcmeDelivery>, number][] = [
      ['missing signature', () => signedAcmeDelivery(agentReply, { signature: null }), 401],
      ['forged signature', () => signedAcmeDelivery(agentReply, { secret: 'not-the-secret' }), 401],
      ['expired timestamp', () => signedAcmeDelivery(agentReply, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), 401],
      ['non-JSON body', () => signedAcmeDelivery('event=message.created'), 400],
      ['oversized body', () => signedAcmeDelivery({ ...agentReply, padding: 'x'.repeat(1024 * 1024) }), 413],
    ]
    for (const [name, make, status] of cases) {
      it(name, async () => {
        s.emulator.clearCalls()
        const r = await s.bp.webhook(make())
        expect(r.status).toBe(status)
        expect(s.emulator.calls.filter((c) => c.method !== 'GET')).toEqual([])
      })
    }
  })

  describe('bad configuration fails at save time with every problem placed', () => {
    it('a mapping with a schema error and a JSONata error', async () => {
      const broken = acmeMapping
        .replace('emit: solved', 'emit: closed')
        .replace('result: { ticketId: $steps.ticket.body.ticket.id }', 'result: { ticketId: $steps.ticket.body.( }')
      const r = await s.withConfiguration({ mapping: broken, settings: 'baseUrl: http://x\napiToken: a\nwebhookSecret: b' }).register()
      expect(r.status).toBe(400)
      expect(r.json?.type).toBe('Runtime')
      expect(r.json?.message).toMatch(/^mapping:\d+:\d+: webhook\.events\[2\]\.emit: UH-E007 must be one of: "newMessage", "assigned", "solved"/m)
    })
    it('an unknown shipped mapping name', async () => {
      const r = await s.withConfiguration({ mapping: 'freshdesk-typo' }).register()
      expect(r.status).toBe(400)
      expect(r.json?.message).toMatch(/"freshdesk-typo" is not a shipped mapping; shipped: .*chatwoot/)
    })
    it('missing and extra settings', async () => {
      const r = await s.withConfiguration({ mapping: acmeMapping, settings: `baseUrl: http://x\napiTokn: a\n` }).register()
      expect(r.status).toBe(400)
      expect(r.json?.message).toContain('settings:2:1: apiTokn: UH-E026 unknown setting "apiTokn"')
      expect(r.json?.message).toContain('missing required setting "apiToken"')
      expect(r.json?.message).toContain('missing required setting "webhookSecret"')
    })
  })

  it('a message type the mapping lacks fails with a message naming it', async () => {
    const noFallback = acmeMapping.replace(/ {4}fallback:\n( {6}.*\n)+/, '')
    const bp = s.withConfiguration({
      mapping: noFallback,
      settings: `baseUrl: ${s.helpdesk.url}\napiToken: ${SECRETS.apiToken}\nwebhookSecret: ${SECRETS.webhookSecret}`,
    })
    const { conversation } = await s.botClient.getConversation({ id: conversationId })
    const { user } = await s.botClient.getUser({ id: userId })
    const message = {
      id: 'msg_x',
      type: 'video',
      payload: {},
      conversationId,
      userId: s.identity.botUserId,
      tags: {},
      direction: 'outgoing',
      createdAt: '',
      updatedAt: '',
    }
    const r = await bp.messageCreated({ type: 'video', payload: { videoUrl: 'https://x.example/v.mp4', userId }, conversation, message, user })
    expect(r.status).toBe(400)
    expect(r.json?.message).toContain('the mapping has no sendMessage.video and no sendMessage.fallback')
  })

  it("a user message the helpdesk keeps refusing fails, after the retries, with the step and the vendor's words", async () => {
    const before = s.helpdesk.requests.length
    const busy = { status: 429, headers: { 'retry-after': '0' }, body: { message: 'rate limited, slow down' } }
    s.helpdesk.enqueue(busy, busy, busy)
    const r = await pluginWrites({ text: 'anyone?', userId })
    expect(r.status).toBe(400)
    expect(r.json?.message).toBe(`UH-E035 sendMessage.text step "post": POST /api/tickets/${TICKET}/messages answered 429: rate limited, slow down`)
    // A 429 says the helpdesk did nothing: the POST was sent again, up to the mapping's retry limit (2).
    expect(s.helpdesk.requests.length - before).toBe(3)
  })

  it('register said where requests may go', () => {
    expect(s.integration.output.join('\n')).toContain(
      'register: Acme Desk mapping ready; requests go to 127.0.0.1 only; webhook URL https://webhook.botpress.cloud/',
    )
  })

  it('no secret ever reached the integration logs', () => {
    const log = s.integration.output.join('\n')
    expect(log.length).toBeGreaterThan(0)
    expect(log).not.toContain(SECRETS.apiToken)
    expect(log).not.toContain(SECRETS.webhookSecret)
  })
})
