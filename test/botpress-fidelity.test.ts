import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { actionOutput } from '../src/sandbox/integrationServer'
import { acmeMapping, acmeSettings, startStack } from './support/harness'

type Stack = Awaited<ReturnType<typeof startStack>>

/**
 * What the real plugin and runtime API do that a kinder local world would hide: placeholder e-mails, users
 * linked under another configuration, stopHitl without a ticket, messages without a vendor id, hitl 2.1.0's
 * additionalData, and the runtime API's length limits. Through the built bundle behind the real SDK server.
 */
describe('Botpress fidelity', () => {
  let s: Stack
  let seq = 0
  const placeholder = (userId: string) => `${userId}@no-reply.bot-conformance-000000000000001.botpress.com`

  beforeAll(async () => {
    s = await startStack()
  })
  afterAll(async () => s?.stop())
  beforeEach(() => {
    s.helpdesk.reset()
    s.helpdesk.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: `c_${++seq}` } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: `T-${++seq}` } } }) })
    s.helpdesk.route({ method: 'POST', path: /^\/api\/tickets\/[^/]+\/messages$/, respond: () => ({ status: 201, body: { message: { id: `m_${++seq}` } } }) })
  })

  const contactRequests = () => s.helpdesk.requests.filter((r) => r.path === '/api/contacts')

  describe('users', () => {
    it("the plugin's placeholder e-mail reaches neither createUser nor the ticket", async () => {
      const email = placeholder('user_01JPLACEHOLDER0000000000001')
      const r = await s.bp.action('createUser', { name: 'Jane Doe', email })
      expect(r.status, r.body).toBe(200)
      expect(contactRequests()[0]!.body).toEqual({ name: 'Jane Doe', externalId: actionOutput(r, 'userId') })
      const started = await s.bp.action('startHitl', { userId: actionOutput(r, 'userId'), title: 'Help', messageHistory: [] })
      expect(started.status, started.body).toBe(200)
      expect(JSON.stringify(s.helpdesk.requests)).not.toContain('no-reply')
      // The Botpress user is still found again by it: a repeated createUser does not duplicate it.
      const again = await s.bp.action('createUser', { name: 'Jane Doe', email })
      expect(actionOutput(again, 'userId')).toBe(actionOutput(r, 'userId'))
    })

    it('a mapping with placeholderEmail: keep gets it as given', async () => {
      const keeping = acmeMapping.replace('  createUser:\n', '  createUser:\n    placeholderEmail: keep\n')
      expect(keeping).not.toBe(acmeMapping)
      const bp = s.withConfiguration({ mapping: keeping, settings: acmeSettings(s.helpdesk.url) })
      const email = placeholder('user_01JPLACEHOLDER0000000000002')
      const r = await bp.action('createUser', { name: 'Jo', email })
      expect(r.status, r.body).toBe(200)
      expect(contactRequests()[0]!.body).toMatchObject({ email })
    })

    it('a real e-mail is passed on', async () => {
      const r = await s.bp.action('createUser', { name: 'Ann', email: 'ann@example.com' })
      expect(r.status, r.body).toBe(200)
      expect(contactRequests()[0]!.body).toMatchObject({ email: 'ann@example.com' })
    })

    it('a user linked under another helpdesk account is re-linked by startHitl before the ticket opens', async () => {
      const created = await s.bp.action('createUser', { name: 'Max', email: 'max@example.com' })
      const userId = actionOutput(created, 'userId')
      const first = s.emulator.data.users.get(userId)!.tags
      expect(first).toMatchObject({ id: expect.stringMatching(/^c_/), helpdesk: expect.stringMatching(/^[0-9a-f]{16}$/) })

      // The same stub, reached under another base URL: to the integration, another account.
      const otherAccount = s.withConfiguration({ mapping: acmeMapping, settings: acmeSettings(s.helpdesk.url.replace('127.0.0.1', 'localhost')) })
      s.helpdesk.requests.length = 0
      const r = await otherAccount.action('startHitl', { userId, title: 'Moved', messageHistory: [] })
      expect(r.status, r.body).toBe(200)
      expect(s.helpdesk.requests.map((q) => q.path)).toEqual(['/api/contacts', '/api/tickets'])
      const relinked = s.emulator.data.users.get(userId)!.tags
      expect(relinked.id).not.toBe(first.id)
      expect(relinked.helpdesk).not.toBe(first.helpdesk)
      expect((s.helpdesk.requests[1]!.body as { contactId: string }).contactId).toBe(relinked.id)

      // Under the configuration it is now linked to, no second link.
      s.helpdesk.requests.length = 0
      expect((await otherAccount.action('startHitl', { userId, title: 'Again', messageHistory: [] })).status).toBe(200)
      expect(s.helpdesk.requests.map((q) => q.path)).toEqual(['/api/tickets'])
    })

    it('a user name over the runtime limit (200) is cut, not refused', async () => {
      const r = await s.bp.action('createUser', { name: 'N'.repeat(250), email: 'long@example.com' })
      expect(r.status, r.body).toBe(200)
      const user = s.emulator.data.users.get(actionOutput(r, 'userId'))!
      expect(user.name).toHaveLength(200)
      expect(user.name!.endsWith('…')).toBe(true)
      // The helpdesk gets the whole name: the limit is Botpress's.
      expect((contactRequests()[0]!.body as { name: string }).name).toHaveLength(250)
    })

    it('a ticket id too long for a tag is refused with a message saying why, and the ticket is closed', async () => {
      const created = await s.bp.action('createUser', { name: 'Kim', email: 'kim@example.com' })
      s.helpdesk.reset()
      const longId = 'T'.repeat(600)
      s.helpdesk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: longId } } }) })
      const r = await s.bp.action('startHitl', { userId: actionOutput(created, 'userId'), title: 'x', messageHistory: [] })
      expect(r.status).toBe(400)
      expect(r.json?.message).toMatch(/ticket id .* is 600 characters long; a Botpress tag holds at most 500/)
      expect(s.helpdesk.requests.map((q) => `${q.method} ${q.path}`)).toContain(`PUT /api/tickets/${longId}`)
    })
  })

  describe('lifecycle and channel', () => {
    it('stopHitl on a conversation without a ticket tag answers {} and logs a warning', async () => {
      const { conversation } = await s.botClient.createConversation({ channel: 'hitl', tags: {} })
      const before = s.integration.output.length
      const r = await s.bp.action('stopHitl', { conversationId: conversation.id })
      expect(r.status, r.body).toBe(200)
      expect(r.json?.output).toEqual({})
      expect(s.integration.output.slice(before).join('\n')).toMatch(/stopHitl: conversation .* has no ticket id tag; nothing to close/)
      expect(s.helpdesk.requests).toHaveLength(0)
    })

    async function sessionMessage(bp: Stack['bp'], payload: Record<string, unknown>) {
      const created = await bp.action('createUser', { name: 'Lee', email: `lee${++seq}@example.com` })
      const userId = actionOutput(created, 'userId')
      const started = await bp.action('startHitl', { userId, title: 't', messageHistory: [] })
      const conversationId = actionOutput(started, 'conversationId')
      const { message } = await s.botClient.createMessage({
        conversationId,
        userId: s.identity.botUserId,
        type: 'text',
        payload: { ...payload, userId },
        tags: {},
      })
      const { conversation } = await s.botClient.getConversation({ id: conversationId })
      const { user } = await s.botClient.getUser({ id: s.identity.botUserId })
      s.emulator.clearCalls()
      s.helpdesk.requests.length = 0
      const r = await bp.messageCreated({ type: 'text', payload: { ...payload, userId }, conversation, message, user })
      return { r, message }
    }

    it('a message the helpdesk gives no id for is still acked', async () => {
      const noIds = acmeMapping.replace('      result: { messageId: $steps.post.body.message.id }\n    image:', '    image:')
      expect(noIds).not.toBe(acmeMapping)
      const { r, message } = await sessionMessage(s.withConfiguration({ mapping: noIds, settings: acmeSettings(s.helpdesk.url) }), { text: 'hello' })
      expect(r.status, r.body).toBe(200)
      const acks = s.emulator.callsTo('PUT', `/v1/chat/messages/${message.id}`)
      expect(acks).toHaveLength(1)
      expect(acks[0]!.body).toEqual({ tags: {} })
    })

    it('hitl 2.1.0: additionalData reaches sendMessage as input, not as message content', async () => {
      const withNote = acmeMapping.replace(
        `body: '{"text": text, "author": fromUser ? externalUserId : "system"}'\n      result: { messageId: $steps.post.body.message.id }\n    image:`,
        `body: '{"text": text, "note": additionalData, "author": fromUser ? externalUserId : "system"}'\n      result: { messageId: $steps.post.body.message.id }\n    image:`,
      )
      expect(withNote).not.toBe(acmeMapping)
      const { r } = await sessionMessage(s.withConfiguration({ mapping: withNote, settings: acmeSettings(s.helpdesk.url) }), {
        text: 'order 42',
        additionalData: '{"orderId":42}',
      })
      expect(r.status, r.body).toBe(200)
      expect(s.helpdesk.requests.at(-1)!.body).toMatchObject({ text: 'order 42', note: '{"orderId":42}' })
    })
  })
})
