import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acmeMapping, acmeSettings, signedAcmeDelivery, startStack } from './support/harness'
import { replaceOnce } from './engine/helpers'

type Stack = Awaited<ReturnType<typeof startStack>>

// The Acme mapping with the agent's files read from the reply.
const mapping = replaceOnce(
  acmeMapping,
  `      message: { type: 'message.attachment ? "image" : "text"', text: message.text, url: message.attachment }\n`,
  `      message: { text: message.text }\n      attachments: 'message.files.{"url": url, "name": name, "contentType": type}'\n`,
)

/** An agent reply with files: the text, then one Botpress media message per file, all from the agent. */
describe('conformance: agent attachments become Botpress media messages', () => {
  let s: Stack
  let bp: Stack['bp']
  let conversationId: string
  const TICKET = 'T-300'

  beforeAll(async () => {
    s = await startStack()
    bp = s.withConfiguration({ mapping, settings: acmeSettings(s.helpdesk.url) })
    s.helpdesk.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: 'c_1' } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: TICKET } } }) })
    const userId = (await bp.action('createUser', { name: 'Jane Doe', email: 'jane@example.com' })).json.output.userId
    conversationId = (await bp.action('startHitl', { userId, title: 'Help', messageHistory: [] })).json.output.conversationId
  })
  afterAll(async () => s?.stop())

  const reply = (id: string, text: string, files: unknown[]) => ({ event: 'message.created', ticket: { id: TICKET }, message: { id, text, files, author: { type: 'agent', id: 'a_7', name: 'Alice Agent' } } })

  it('text first, then each file as its own message type, keyed id, id#1, id#2 (a redelivery finds them)', async () => {
    s.emulator.clearCalls()
    const files = [
      { url: 'https://cdn.acme.example/f/label.png', name: 'label.png', type: 'image/png' },
      { url: 'https://cdn.acme.example/f/terms.pdf', name: 'terms.pdf', type: 'application/pdf' },
    ]
    expect((await bp.webhook(signedAcmeDelivery(reply('m_a1', 'Here you go', files)))).status).toBe(200)
    const created = s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create').map((c) => c.body as { type: string; payload: unknown; tags: unknown; userId: string })
    expect(created.map(({ type, payload, tags }) => ({ type, payload, tags }))).toEqual([
      { type: 'text', payload: { text: 'Here you go' }, tags: { id: 'm_a1' } },
      { type: 'image', payload: { imageUrl: files[0]!.url, title: 'label.png' }, tags: { id: 'm_a1#1' } },
      { type: 'file', payload: { fileUrl: files[1]!.url, title: 'terms.pdf' }, tags: { id: 'm_a1#2' } },
    ])
    expect(new Set(created.map((c) => c.userId)).size).toBe(1)
    const author = s.emulator.data.users.get(created[0]!.userId)!
    expect(author.tags).toMatchObject({ id: 'a_7', role: 'agent' })
    expect(created.every((c) => (c as unknown as { conversationId: string }).conversationId === conversationId)).toBe(true)
    // The helpdesk delivers it again: every message is found, none is created twice.
    const count = () => [...s.emulator.data.messages.values()].filter((m) => m.conversationId === conversationId).length
    const before = count()
    expect((await bp.webhook(signedAcmeDelivery(reply('m_a1', 'Here you go', files)))).status).toBe(200)
    expect(count()).toBe(before)
  })

  it('a reply with only a file gives only the file message', async () => {
    s.emulator.clearCalls()
    expect((await bp.webhook(signedAcmeDelivery(reply('m_a2', '', [{ url: 'https://cdn.acme.example/f/x.mp3', name: 'x.mp3', type: 'audio/mpeg' }])))).status).toBe(200)
    expect(s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create').map((c) => (c.body as { type: string }).type)).toEqual(['audio'])
  })
})
