import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actionOutput } from '../src/sandbox/integrationServer'
import { acmeMapping, acmeSettings, signedAcmeDelivery, startStack } from './support/harness'
import { replaceOnce } from './engine/helpers'

type Stack = Awaited<ReturnType<typeof startStack>>

// The Acme mapping, plus a thread key kept with the ticket ($ticket.threadRef, from createTicket's result) and
// change detection on the assignee ($ticket.assignee, updated with set:) in one delivery that assigns and replies.
let mapping = replaceOnce(
  acmeMapping,
  'result: { ticketId: $steps.ticket.body.ticket.id }',
  'result: { ticketId: $steps.ticket.body.ticket.id, threadRef: $steps.ticket.body.ticket.thread }',
)
mapping = replaceOnce(
  mapping,
  `body: '{"text": text, "author": fromUser ? externalUserId : "system"}'
      result: { messageId: $steps.post.body.message.id }
    image:`,
  `body: '{"text": text, "author": fromUser ? externalUserId : "system", "thread": $ticket.threadRef}'
      result: { messageId: $steps.post.body.message.id }
    image:`,
)
mapping = replaceOnce(mapping, `body: '{"status": "closed"}', okStatus: [404]`, `body: '{"status": "closed", "thread": $ticket.threadRef}', okStatus: [404]`)
mapping = replaceOnce(
  mapping,
  '  events:\n',
  `  events:
    - name: reassigned
      # Not \`assignee.id != $ticket.assignee\`: with no assignee stored yet, \`!=\` on a missing value is false.
      when: event = "ticket.updated" and $not(assignee.id = $ticket.assignee)
      emit: assigned
      continue: true
      ticketId: ticket.id
      agent: { id: assignee.id, name: assignee.name }
      set: { assignee: assignee.id }
    - name: update reply
      when: event = "ticket.updated" and reply
      emit: newMessage
      ticketId: ticket.id
      messageId: reply.id
      agent: { id: reply.author.id, name: reply.author.name }
      message: { text: 'reply.text & " [" & $ticket.threadRef & "]"' }
`,
)

/** $ticket through a whole hand-off: kept at startHitl, read by sendMessage, webhooks and stopHitl, updated by set:. */
describe('conformance: per-ticket values ($ticket) through a hand-off', () => {
  let s: Stack
  let bp: Stack['bp']
  let userId: string
  let conversationId: string
  const TICKET = 'T-200'

  beforeAll(async () => {
    s = await startStack()
    bp = s.withConfiguration({ mapping, settings: acmeSettings(s.helpdesk.url) })
    let seq = 0
    s.helpdesk.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: 'c_1' } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: TICKET, thread: 'thr-42' } } }) })
    s.helpdesk.route({ method: 'POST', path: /^\/api\/tickets\/[^/]+\/messages$/, respond: () => ({ status: 201, body: { message: { id: `m_${++seq}` } } }) })
    s.helpdesk.route({ method: 'PUT', path: `/api/tickets/${TICKET}`, respond: () => ({ body: {} }) })
    s.helpdesk.route({ method: 'POST', path: '/api/webhooks', respond: () => ({ status: 201, body: { webhook: { id: 'wh_1' } } }) })
    expect((await bp.register()).status).toBe(200)
    userId = actionOutput(await bp.action('createUser', { name: 'Jane Doe', email: 'jane@example.com' }), 'userId')
  })
  afterAll(async () => s?.stop())

  it('startHitl keeps the values with the conversation, in the same call that creates it', async () => {
    s.emulator.clearCalls()
    const r = await bp.action('startHitl', { userId, title: 'Help', messageHistory: [] })
    expect(r.status).toBe(200)
    conversationId = actionOutput(r, 'conversationId')
    expect(s.emulator.data.conversations.get(conversationId)!.tags).toEqual({ id: TICKET, ticket: '{"threadRef":"thr-42"}' })
    expect(s.emulator.calls.filter((c) => c.path.startsWith('/v1/chat/conversations')).map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /v1/chat/conversations/get-or-create',
    ])
  })

  it('a user message reads $ticket from the conversation it is handed (no extra call)', async () => {
    const { message } = await s.botClient.createMessage({
      conversationId,
      userId: s.identity.botUserId,
      type: 'text',
      payload: { text: 'Hi', userId },
      tags: {},
    })
    const { conversation } = await s.botClient.getConversation({ id: conversationId })
    const { user } = await s.botClient.getUser({ id: userId })
    s.emulator.clearCalls()
    expect((await bp.messageCreated({ type: 'text', payload: { text: 'Hi', userId }, conversation, message, user })).status).toBe(200)
    expect(s.helpdesk.requests.at(-1)!.body).toEqual({ text: 'Hi', author: 'c_1', thread: 'thr-42' })
    // Only the ack: the end user is known to this worker, and $ticket comes with the conversation.
    expect(s.emulator.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`PUT /v1/chat/messages/${message.id}`])
  })

  const update = (assignee: string, replyId: string, text: string) => ({
    event: 'ticket.updated',
    ticket: { id: TICKET },
    assignee: { id: assignee, name: `Agent ${assignee}` },
    reply: { id: replyId, text, author: { id: assignee, name: `Agent ${assignee}` } },
  })

  it('one delivery that assigns and replies gives hitlAssigned, then the message; $ticket costs one read, the new assignee one write', async () => {
    s.emulator.clearCalls()
    expect((await bp.webhook(signedAcmeDelivery(update('a_7', 'r_1', 'On it'), { delivery: 'dlv-a' }))).status).toBe(200)
    const writes = s.emulator.calls.filter(
      (c) => c.method === 'POST' && ['/v1/chat/events', '/v1/chat/messages', '/v1/chat/messages/get-or-create'].includes(c.path),
    )
    expect(writes.map((c) => (c.body as { type: string }).type)).toEqual(['hitlAssigned', 'text'])
    expect((writes[1]!.body as { payload: unknown }).payload).toEqual({ text: 'On it [thr-42]' })
    // The values are read once for both rules (the session itself is known to this worker).
    expect(s.emulator.callsTo('GET', `/v1/chat/conversations/${conversationId}`)).toHaveLength(1)
    expect(s.emulator.callsTo('GET', '/v1/chat/conversations')).toHaveLength(0)
    const updates = s.emulator.callsTo('PUT', `/v1/chat/conversations/${conversationId}`)
    expect(updates.map((c) => c.body)).toEqual([{ tags: { ticket: '{"threadRef":"thr-42","assignee":"a_7"}' } }])
  })

  it('the same assignee again: no hitlAssigned (the previous one is known), only the reply, and nothing stored', async () => {
    s.emulator.clearCalls()
    expect((await bp.webhook(signedAcmeDelivery(update('a_7', 'r_2', 'Done'), { delivery: 'dlv-b' }))).status).toBe(200)
    expect(s.emulator.callsTo('POST', '/v1/chat/events')).toHaveLength(0)
    expect(s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create').map((c) => (c.body as { payload: unknown }).payload)).toEqual([
      { text: 'Done [thr-42]' },
    ])
    expect(s.emulator.callsTo('PUT', `/v1/chat/conversations/${conversationId}`)).toHaveLength(0)
  })

  it('values that no longer fit are not stored, but the delivery is still applied (200, not retried forever)', async () => {
    s.emulator.clearCalls()
    // An assignee key of 600 characters (the agent user itself is tagged with a short id): the JSON is over 500.
    const body = { ...update('a_8', 'r_3', 'Big'), assignee: { id: 'a_8', name: 'Agent a_8', key: 'x'.repeat(600) } }
    const big = replaceOnce(mapping, 'set: { assignee: assignee.id }', 'set: { assignee: assignee.id, key: assignee.key }')
    const bigBp = s.withConfiguration({ mapping: big, settings: acmeSettings(s.helpdesk.url) })
    expect((await bigBp.webhook(signedAcmeDelivery(body, { delivery: 'dlv-c' }))).status).toBe(200)
    expect(s.emulator.callsTo('POST', '/v1/chat/events').map((c) => (c.body as { type: string }).type)).toEqual(['hitlAssigned'])
    expect(s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create')).toHaveLength(1)
    expect(s.emulator.callsTo('PUT', `/v1/chat/conversations/${conversationId}`)).toHaveLength(0)
    expect(s.emulator.data.conversations.get(conversationId)!.tags.ticket).toBe('{"threadRef":"thr-42","assignee":"a_7"}')
  })

  it('stopHitl reads $ticket from the conversation', async () => {
    expect((await bp.action('stopHitl', { conversationId })).status).toBe(200)
    expect(s.helpdesk.requests.at(-1)).toMatchObject({ method: 'PUT', path: `/api/tickets/${TICKET}`, body: { status: 'closed', thread: 'thr-42' } })
  })
})
