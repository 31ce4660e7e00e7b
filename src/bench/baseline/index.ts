// The benchmark's baseline: a minimal hand-written HITL integration for the Demo Desk, written the way the
// Botpress guide "Connect a live agent platform" shows (per agent message: getOrCreateUser by the agent's tag,
// getOrCreateConversation by the ticket tag, createMessage; per assigned/solved: the same two lookups and
// createEvent). No mapping, no deduplication, no caches beyond the webhook secret. Bundled like ours by
// scripts/build.mjs; never shipped.
import { createHmac, timingSafeEqual } from 'node:crypto'
import * as sdk from '@botpress/sdk'
import type { Props, TIntegration } from '../../hitl/types'
import type { DeskApiAnswer } from '../../sandbox/demo-desk/types'

type Settings = { baseUrl: string; apiToken: string }

/** The bench's settings text is `key: "value"` lines. */
function settingsOf(ctx: { configuration: { settings?: unknown } }): Settings {
  const text = typeof ctx.configuration.settings === 'string' ? ctx.configuration.settings : ''
  const values: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line.trim())
    if (m) values[m[1]!] = m[2]!.startsWith('"') ? JSON.parse(m[2]!) : m[2]!
  }
  return { baseUrl: values.baseUrl!.replace(/\/+$/, ''), apiToken: values.apiToken! }
}

async function desk(s: Settings, method: string, path: string, body?: unknown): Promise<DeskApiAnswer> {
  const res = await fetch(`${s.baseUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${s.apiToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new sdk.RuntimeError(`Demo Desk answered ${res.status} to ${method} ${path}`)
  return (await res.json()) as DeskApiAnswer
}

let webhookSecret: string | undefined

/** The fields of a hitl message payload this baseline reads (any message type). */
type AnyPayload = { text?: string; imageUrl?: string; audioUrl?: string; videoUrl?: string; fileUrl?: string; userId?: string }

const textOf = (type: string, payload: AnyPayload) => payload.text ?? payload.imageUrl ?? payload.audioUrl ?? payload.videoUrl ?? payload.fileUrl ?? `[${type}]`

const sendMessage = (async ({ ctx, conversation, payload, type, ack }) => {
  const p = payload as AnyPayload
  const { message } = await desk(settingsOf(ctx), 'POST', `/tickets/${conversation.tags.id}/messages`, {
    text: textOf(type, p),
    authorType: p.userId ? 'contact' : 'system',
  })
  await ack({ tags: { id: message.id } })
}) as Props['channels']['hitl']['messages']['text']

const integration = new sdk.Integration<TIntegration>({
  register: async ({ ctx, client, webhookUrl }) => {
    const { webhook } = await desk(settingsOf(ctx), 'POST', '/webhooks', { url: webhookUrl, events: ['message.created', 'ticket.assigned', 'ticket.solved'] })
    webhookSecret = webhook.secret
    await client.setState({
      type: 'integration',
      id: ctx.integrationId,
      name: 'registration',
      payload: { values: { webhookId: webhook.id, webhookSecret: webhook.secret }, configHash: '', webhookUrl },
    })
  },
  unregister: async () => {},
  actions: {
    createUser: async ({ ctx, client, input }) => {
      const { contact } = await desk(settingsOf(ctx), 'POST', '/contacts', { name: input.name, email: input.email })
      const { user } = await client.createUser({ tags: { id: contact.id, email: input.email }, name: input.name, pictureUrl: input.pictureUrl })
      return { userId: user.id }
    },
    startHitl: async ({ ctx, client, input }) => {
      const { user } = await client.getUser({ id: input.userId })
      const { ticket } = await desk(settingsOf(ctx), 'POST', '/tickets', {
        contactId: user.tags.id,
        subject: input.title ?? 'Conversation',
        description: input.description,
      })
      const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: ticket.id }, discriminateByTags: ['id'] })
      return { conversationId: conversation.id }
    },
    stopHitl: async ({ ctx, client, input }) => {
      const { conversation } = await client.getConversation({ id: input.conversationId })
      await desk(settingsOf(ctx), 'POST', `/tickets/${conversation.tags.id}/close`)
      return {}
    },
  },
  channels: {
    hitl: {
      messages: { text: sendMessage, image: sendMessage, audio: sendMessage, video: sendMessage, file: sendMessage, bloc: sendMessage },
    } as unknown as Props['channels']['hitl'],
  },
  handler: async ({ ctx, client, req }) => {
    if (!webhookSecret) {
      const { state } = await client.getState({ type: 'integration', id: ctx.integrationId, name: 'registration' })
      webhookSecret = String(state.payload.values.webhookSecret)
    }
    const headers = req.headers as Record<string, string>
    const expected = `sha256=${createHmac('sha256', webhookSecret).update(`${headers['x-desk-timestamp']}.${req.body}`).digest('hex')}`
    const given = headers['x-desk-signature'] ?? ''
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) return { status: 401 }
    const body = JSON.parse(req.body ?? '{}')
    const agentUser = async () =>
      (
        await client.getOrCreateUser({
          tags: { id: String(body.agent?.id ?? 'unknown'), role: 'agent' },
          discriminateByTags: ['id', 'role'],
          name: body.agent?.name,
          pictureUrl: body.agent?.avatarUrl,
        })
      ).user
    const conversation = async () =>
      (await client.getOrCreateConversation({ channel: 'hitl', tags: { id: String(body.ticket.id) }, discriminateByTags: ['id'] })).conversation
    if (body.event === 'message.created' && body.message?.authorType === 'agent') {
      const [user, conv] = [await agentUser(), await conversation()]
      await client.createMessage({
        conversationId: conv.id,
        userId: user.id,
        type: 'text',
        payload: { text: body.message.text },
        tags: { id: String(body.message.id) },
      })
    } else if (body.event === 'ticket.assigned') {
      const [user, conv] = [await agentUser(), await conversation()]
      await client.createEvent({ type: 'hitlAssigned', conversationId: conv.id, payload: { conversationId: conv.id, userId: user.id } })
    } else if (body.event === 'ticket.solved') {
      const [, conv] = [await agentUser(), await conversation()]
      await client.createEvent({ type: 'hitlStopped', conversationId: conv.id, payload: { conversationId: conv.id } })
    }
    return { status: 200 }
  },
})

export default integration
