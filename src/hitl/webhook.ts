import * as sdk from '@botpress/sdk'
import type { WebhookEvent } from '../webhook/routeWebhook'
import { fitName, fitPictureUrl, tagKey } from './botpressLimits'
import { engineFor } from './engineFor'
import type { Client, Logger, Props } from './types'

const DEDUPE_TTL_MS = 7 * 24 * 3600 * 1000
const json = (status: number, body: unknown) => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/**
 * handshake → verify (401, nothing else) → parse → events → per event: our conversation? → duplicate? → echo?
 * → Botpress calls. A failing Botpress or vendor call answers 5xx so the vendor delivers again.
 */
export const handleWebhook: Props['handler'] = async ({ ctx, client, req, logger }) => {
  let engine
  try {
    engine = await engineFor(ctx, client)
  } catch (e) {
    logger.forBot().error(`webhook: configuration problem: ${(e as Error).message}`)
    return json(503, { error: 'integration misconfigured' })
  }
  let outcome
  try {
    outcome = await engine.routeWebhook({ method: req.method, path: req.path, query: req.query, headers: req.headers as Record<string, string>, body: req.body })
  } catch (e) {
    logger.forBot().error(`webhook: ${engine.redactor.text((e as Error).message)}`)
    return json(502, { error: 'could not process the delivery' })
  }
  switch (outcome.kind) {
    case 'handshake':
      return { status: outcome.status, headers: outcome.headers, body: outcome.body ?? '' }
    case 'rejected':
      logger.forBot().warn(`webhook rejected: ${outcome.reason}`)
      return json(401, { error: 'unauthorized' })
    case 'invalid':
      logger.forBot().warn(`webhook body refused: ${outcome.reason}`)
      return json(outcome.status, { error: outcome.reason })
  }
  for (const reason of outcome.skipped) logger.forBot().warn(`webhook: event skipped: ${reason}`)
  let handled = 0
  try {
    for (const event of outcome.events) if (await applyEvent(client, logger, event)) handled++
  } catch (e) {
    logger.forBot().error(`webhook: Botpress call failed, asking the helpdesk to retry: ${engine.redactor.text((e as Error).message)}`)
    return json(503, { error: 'temporarily unavailable' })
  }
  return json(200, { received: outcome.events.length, handled })
}

async function findConversation(client: Client, ticketId: string) {
  const { conversations } = await client.listConversations({ channel: 'hitl', tags: { id: ticketId } })
  return conversations[0]
}

async function seenDeliveries(client: Client, conversationId: string): Promise<Record<string, number>> {
  try {
    return (await client.getState({ type: 'conversation', id: conversationId, name: 'deliveries' })).state.payload.seen ?? {}
  } catch (e) {
    if (sdk.isApiError(e) && e.type === 'ResourceNotFound') return {}
    throw e
  }
}

async function isOwnOrKnownMessage(client: Client, conversationId: string, messageId: string): Promise<boolean> {
  const { messages } = await client.listMessages({ conversationId, tags: { id: tagKey(messageId) } })
  if (messages.length > 0) return true
  try {
    const { state } = await client.getState({ type: 'conversation', id: conversationId, name: 'sentMessages' })
    return state.payload.ids.includes(messageId)
  } catch (e) {
    if (sdk.isApiError(e) && e.type === 'ResourceNotFound') return false
    throw e
  }
}

async function agentUser(client: Client, agent: WebhookEvent['agent']) {
  const id = tagKey(agent?.id ?? 'unknown-agent')
  const name = fitName(agent?.name ?? 'Agent')
  const pictureUrl = fitPictureUrl(agent?.avatarUrl)
  const { user } = await client.getOrCreateUser({ tags: { id, role: 'agent' }, discriminateByTags: ['id', 'role'], name, pictureUrl })
  // Agents rename themselves and change photos: keep the Botpress user current (the plugin shows its name).
  if ((agent?.name && user.name !== name) || (pictureUrl && user.pictureUrl !== pictureUrl)) {
    await client.updateUser({ id: user.id, name: name ?? user.name, pictureUrl: pictureUrl ?? user.pictureUrl })
  }
  return user
}

function botpressMessage(m: NonNullable<WebhookEvent['message']>): { type: string; payload: Record<string, unknown> } {
  const mediaKey = { image: 'imageUrl', audio: 'audioUrl', video: 'videoUrl', file: 'fileUrl' }[m.type]
  if (mediaKey && m.url) return { type: m.type, payload: { [mediaKey]: m.url, ...(m.title ? { title: m.title } : {}) } }
  const text = m.text ?? (m.url ? `${m.title ? `${m.title}: ` : ''}${m.url}` : '')
  return { type: 'text', payload: { text } }
}

/** Returns whether the event did something. Throws on Botpress failures (the caller answers 5xx). */
async function applyEvent(client: Client, logger: Logger, event: WebhookEvent): Promise<boolean> {
  const conversation = await findConversation(client, event.ticketId)
  if (!conversation) {
    logger.forBot().info(`webhook: ticket ${event.ticketId} is not a hand-off session of this bot; ignored (${event.rule})`)
    return false
  }
  let seen: Record<string, number> | undefined
  if (event.dedupeKey) {
    seen = await seenDeliveries(client, conversation.id)
    if ((seen[event.dedupeKey] ?? 0) > Date.now()) {
      logger.forBot().info(`webhook: delivery ${event.dedupeKey} already handled; ignored`)
      return false
    }
  }
  switch (event.type) {
    case 'newMessage': {
      if (event.messageId && (await isOwnOrKnownMessage(client, conversation.id, event.messageId))) {
        logger.forBot().debug(`webhook: message ${event.messageId} is ours or already delivered; ignored`)
        return false
      }
      const message = botpressMessage(event.message ?? { type: 'text' })
      if (message.type === 'text' && !message.payload.text) {
        logger.forBot().info(`webhook: empty agent message on ticket ${event.ticketId}; ignored`)
        return false
      }
      const agent = await agentUser(client, event.agent)
      await client.createMessage({
        conversationId: conversation.id,
        userId: agent.id,
        type: message.type as 'text',
        payload: message.payload as { text: string },
        tags: event.messageId ? { id: tagKey(event.messageId) } : {},
      })
      break
    }
    case 'assigned': {
      const agent = await agentUser(client, event.agent)
      await client.createEvent({ type: 'hitlAssigned', conversationId: conversation.id, payload: { conversationId: conversation.id, userId: agent.id } })
      break
    }
    case 'solved':
      await client.createEvent({ type: 'hitlStopped', conversationId: conversation.id, payload: { conversationId: conversation.id } })
      break
  }
  if (event.dedupeKey && seen) {
    const now = Date.now()
    const kept = Object.fromEntries(Object.entries(seen).filter(([, until]) => until > now))
    kept[event.dedupeKey] = now + DEDUPE_TTL_MS
    await client.setState({ type: 'conversation', id: conversation.id, name: 'deliveries', payload: { seen: kept }, expiry: DEDUPE_TTL_MS })
  }
  return true
}
