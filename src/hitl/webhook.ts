import { describeError, withCode } from '../diagnostics/codes'
import type { Engine } from '../engine/createEngine'
import { MEDIA_URL_KEYS } from '../operations/renderMessage'
import { refusalCode, type Attachment, type WebhookEvent, type WebhookOutcome } from '../webhook/routeWebhook'
import { FileNotAttached } from '../attachments/downloadFile'
import { engineFor, engineWithOrigin } from './engineFor'
import { tagKey } from './botpressLimits'
import { agentUserOf, findSession, isSentPart } from './sessions'
import { readState } from './states'
import { deliveryTicketValues, type DeliveryTicketValues } from './ticketValues'
import type { Client, Logger, Props, TIntegration } from './types'
import { singleFlight } from './workerCache'

const json = (status: number, body: unknown) => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

// The ledger for agent messages that carry no vendor message id (the only events left without a natural
// key): a fixed number of recent delivery keys per conversation, so reading and rewriting it costs the same
// however long the hand-off runs, and it stays far below Botpress's state size limit.
const LEDGER_KEYS_KEPT = 100
// Vendors retry failed deliveries for hours to a few days (Zendesk: 24 h, Chatwoot: none, RT: none); a week
// covers every retry schedule we know of.
const LEDGER_TTL_MS = 7 * 24 * 3600 * 1000

/**
 * handshake → verify (401, nothing else) → parse → events → per event: our conversation? → already done?
 * → Botpress calls. A failing Botpress or vendor call answers 5xx so the vendor delivers again, and every
 * Botpress write is idempotent or checked first, so that redelivery creates nothing twice.
 */
export const handleWebhook: Props['handler'] = async ({ ctx, client, req, logger }) => {
  let engine: Engine
  let registrationFromMemory: boolean
  try {
    ;({ engine, cached: registrationFromMemory } = await engineWithOrigin(ctx, client))
  } catch (e) {
    logger.forBot().error(`webhook: configuration problem: ${(e as Error).message}`)
    return json(503, { error: 'integration misconfigured' })
  }
  const incoming = { method: req.method, path: req.path, query: req.query, headers: req.headers as Record<string, string>, body: req.body }
  let outcome: WebhookOutcome
  // `$ticket`: read only when a rule reads it (one Botpress call per delivery), stored after the events.
  const ticketValues = deliveryTicketValues(client)
  try {
    outcome = await engine.routeWebhook(incoming, { ticketValues: ticketValues.load })
    if (outcome.kind === 'rejected' && registrationFromMemory) {
      // The kept registration values may be old (another worker registered again): read them once more.
      engine = await engineFor(ctx, client, { fresh: true })
      outcome = await engine.routeWebhook(incoming, { ticketValues: ticketValues.load })
    }
  } catch (e) {
    logger.forBot().error(`webhook: ${engine.redactor.text(describeError(e))}`)
    return json(502, { error: 'could not process the delivery' })
  }
  switch (outcome.kind) {
    case 'handshake':
      return { status: outcome.status, headers: outcome.headers, body: outcome.body ?? '' }
    case 'rejected':
      logger.forBot().warn(`webhook rejected: ${withCode(refusalCode(outcome), outcome.reason)}`)
      return json(401, { error: 'unauthorized' })
    case 'invalid':
      logger.forBot().warn(`webhook body refused: ${withCode(refusalCode(outcome), outcome.reason)}`)
      return json(outcome.status, { error: outcome.reason })
    case 'events':
      return applyEvents(client, logger, engine, outcome, ticketValues)
    default:
      return unhandled(outcome, 'webhook outcome')
  }
}

function unhandled(value: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`)
}

async function applyEvents(
  client: Client,
  logger: Logger,
  engine: Engine,
  outcome: Extract<WebhookOutcome, { kind: 'events' }>,
  ticketValues: DeliveryTicketValues,
) {
  for (const reason of outcome.skipped) logger.forBot().warn(`webhook: event skipped: ${reason}`)
  let handled = 0
  try {
    for (const event of outcome.events) if (await applyEvent(client, logger, engine, event)) handled++
    // After the events: a failure before this leaves the old values, so the helpdesk's retry sees them again.
    for (const problem of await ticketValues.save(outcome.events)) logger.forBot().error(`webhook: ${problem}`)
  } catch (e) {
    logger.forBot().error(`webhook: Botpress call failed, asking the helpdesk to retry: ${engine.redactor.text((e as Error).message)}`)
    return json(503, { error: 'temporarily unavailable' })
  }
  return json(200, { received: outcome.events.length, handled })
}

/** Concurrent duplicates reaching this worker share one run (see singleFlight). */
const once = singleFlight<boolean>()

/** Returns whether the event did something. Throws on Botpress failures (the caller answers 5xx). */
async function applyEvent(client: Client, logger: Logger, engine: Engine, event: WebhookEvent): Promise<boolean> {
  const conversationId = await findSession(client, event.ticketId)
  if (!conversationId) {
    logger.forBot().info(`webhook: ticket ${event.ticketId} is not a hand-off session of this bot; ignored (${event.rule})`)
    return false
  }
  const type = event.type
  switch (type) {
    case 'newMessage': {
      const key = event.messageId ?? event.dedupeKey
      const deliver = () => deliverAgentMessage(client, logger, engine, conversationId, event)
      return key ? once(`message\u0000${conversationId}\u0000${key}`, deliver) : deliver()
    }
    case 'assigned':
    case 'solved':
      return once(`${type}\u0000${conversationId}\u0000${event.agent?.id ?? ''}`, () => announce(client, logger, conversationId, event, type))
    default:
      // A new event type must be handled here before anything counts it as done.
      return unhandled(type, 'event type')
  }
}

type MediaType = keyof typeof MEDIA_URL_KEYS
type MediaMessage = { [T in MediaType]: { type: T; payload: Record<(typeof MEDIA_URL_KEYS)[T], string> & { title?: string } } }[MediaType]
type AgentMessage = { type: 'text'; payload: { text: string } } | MediaMessage

const isMediaType = (type: string): type is MediaType => Object.hasOwn(MEDIA_URL_KEYS, type)

/** The Botpress message for an agent's: media as its own type when the mapping gives a URL, else text. */
function botpressMessage(m: NonNullable<WebhookEvent['message']>): AgentMessage | undefined {
  if (isMediaType(m.type) && m.url) {
    // Computed key: TypeScript cannot see that it is the one MediaMessage pairs with m.type.
    return { type: m.type, payload: { [MEDIA_URL_KEYS[m.type]]: m.url, ...(m.title ? { title: m.title } : {}) } } as MediaMessage
  }
  const text = m.text ?? (m.url ? `${m.title ? `${m.title}: ` : ''}${m.url}` : '')
  return text ? { type: 'text', payload: { text } } : undefined
}

/**
 * An agent's message as Botpress messages: the text (if any), then one media message per attachment. The
 * first is ready at once; the rest are made only when asked (`rest`), so our own message echoed back or a
 * delivery already in the ledger downloads and re-hosts nothing. (A redelivery with a message id re-uploads
 * to the same file key: the same Botpress file, no second message.)
 */
async function agentMessages(client: Client, logger: Logger, engine: Engine, conversationId: string, event: WebhookEvent) {
  const attachments = event.attachments ?? []
  const fileMessage = (a: Attachment, i: number) =>
    a.rehost
      ? rehosted(client, logger, engine, `${conversationId}/${event.messageId ?? event.dedupeKey ?? Date.now()}/${i + 1}`, a)
      : Promise.resolve(botpressMessage({ type: a.type, url: a.url, title: a.name }))
  const text = botpressMessage(event.message ?? { type: 'text' })
  const firstFile = text ? 0 : 1
  const first = text ?? (attachments[0] ? await fileMessage(attachments[0], 0) : undefined)
  const rest = async () => {
    const out: AgentMessage[] = []
    for (const [i, a] of attachments.entries()) {
      if (i < firstFile) continue
      const m = await fileMessage(a, i)
      if (m) out.push(m)
    }
    return out
  }
  return { first, rest }
}

/**
 * A file only the helpdesk's credentials can download: fetched with the mapping's auth and uploaded through
 * the Botpress Files API, so the end user gets a Botpress URL. Any failure becomes a text message naming the
 * file and why (the agent's file is not lost silently). `key` keeps a redelivery's upload on the same file.
 */
async function rehosted(client: Client, logger: Logger, engine: Engine, key: string, a: Attachment): Promise<AgentMessage | undefined> {
  const name = a.name ?? (decodeURIComponent(new URL(a.url, 'http://x').pathname.split('/').pop() ?? '') || 'file')
  try {
    const content = await engine.downloadAgentFile({ url: a.url, name, contentType: a.contentType }, a.rehost)
    const { file } = await client.uploadFile({
      key: `universal-hitl/${key}/${name}`,
      content: content.bytes,
      contentType: content.contentType,
      accessPolicies: ['public_content'],
    })
    return botpressMessage({ type: a.type, url: file.url, title: name })
  } catch (e) {
    const why = engine.redactor.text(e instanceof FileNotAttached ? e.note : (e as Error).message)
    logger.forBot().warn(`webhook: agent file ${name} not re-hosted: ${why}`)
    return { type: 'text', payload: { text: `${name} (file not delivered: ${why})` } }
  }
}

/**
 * One call on a warm worker: getOrCreateMessage keyed by the vendor message id. A redelivery (concurrent or
 * not, on any worker) finds the message it created; our own message echoed back finds the message acked with
 * that id. Either way nothing is created.
 */
async function deliverAgentMessage(client: Client, logger: Logger, engine: Engine, conversationId: string, event: WebhookEvent): Promise<boolean> {
  // The text, then the agent's files (`attachments`), each its own Botpress message.
  const { first: message, rest } = await agentMessages(client, logger, engine, conversationId, event)
  if (!message) {
    logger.forBot().info(`webhook: empty agent message on ticket ${event.ticketId}; ignored`)
    return false
  }
  if (event.messageId && isSentPart(conversationId, tagKey(event.messageId))) {
    logger.forBot().debug(`webhook: message ${event.messageId} is part of one we sent; ignored`)
    return false
  }
  const agent = await agentUserOf(client, logger, event.agent)
  if (event.messageId) {
    const { message: found } = await client.getOrCreateMessage({
      conversationId,
      userId: agent.id,
      ...message,
      tags: { id: tagKey(event.messageId) },
      discriminateByTags: ['id'],
    })
    const created = found.userId === agent.id && found.type === message.type
    if (!created) logger.forBot().debug(`webhook: message ${event.messageId} is ours or already delivered; ignored`)
    // Keyed id#1, id#2…: a redelivery finds them too.
    else
      for (const [i, file] of (await rest()).entries())
        await client.getOrCreateMessage({
          conversationId,
          userId: agent.id,
          ...file,
          tags: { id: tagKey(`${event.messageId}#${i + 1}`) },
          discriminateByTags: ['id'],
        })
    return created
  }
  if (!event.dedupeKey) {
    logger
      .forBot()
      .warn(
        `webhook: agent message on ticket ${event.ticketId} has no message id and the mapping no dedupeKey: a redelivery would show it twice (${event.rule})`,
      )
    for (const m of [message, ...(await rest())]) await client.createMessage({ conversationId, userId: agent.id, ...m, tags: {} })
    return true
  }
  logger.forBot().info(`webhook: agent message on ticket ${event.ticketId} has no message id; deduplicated by delivery ${event.dedupeKey} (${event.rule})`)
  const seen = (await readState(client, 'conversation', conversationId, 'deliveries'))?.seen ?? {}
  const now = Date.now()
  if ((seen[event.dedupeKey] ?? 0) > now) return false
  for (const m of [message, ...(await rest())]) await client.createMessage({ conversationId, userId: agent.id, ...m, tags: {} })
  const kept = Object.entries(seen)
    .filter(([, until]) => until > now)
    .slice(-(LEDGER_KEYS_KEPT - 1))
  await client.setState({
    type: 'conversation',
    id: conversationId,
    name: 'deliveries',
    payload: { seen: { ...Object.fromEntries(kept), [event.dedupeKey]: now + LEDGER_TTL_MS } },
    expiry: LEDGER_TTL_MS,
  })
  return true
}

type HitlEvent = keyof TIntegration['events']

/** The newest hand-off event of a conversation (bot-side views prefix types with the alias: accept both). */
async function latestHandoffEvent(client: Client, conversationId: string) {
  const { events } = await client.listEvents({ conversationId })
  const isOurs = (type: string, name: HitlEvent) => type === name || type.endsWith(`:${name}`)
  const handoff = events.filter((e) => isOurs(e.type, 'hitlAssigned') || isOurs(e.type, 'hitlStopped'))
  const newest = handoff.reduce<(typeof handoff)[number] | undefined>((a, e) => (!a || e.createdAt > a.createdAt ? e : a), undefined)
  if (!newest) return undefined
  return {
    type: isOurs(newest.type, 'hitlAssigned') ? ('hitlAssigned' as const) : ('hitlStopped' as const),
    userId: (newest.payload as { userId?: string }).userId,
  }
}

/**
 * assigned / solved have no natural key: "already done" is read from the conversation's own events, written
 * by the very call that announces them. So a redelivery after any failure (even a write whose answer was
 * lost) announces nothing twice, and a failure before the write loses nothing: the retry writes it.
 * The same agent assigned again after a stop, or another agent, is a new assignment.
 */
async function announce(client: Client, logger: Logger, conversationId: string, event: WebhookEvent, type: 'assigned' | 'solved'): Promise<boolean> {
  const agent = type === 'assigned' ? await agentUserOf(client, logger, event.agent) : undefined
  const latest = await latestHandoffEvent(client, conversationId)
  if (agent ? latest?.type === 'hitlAssigned' && latest.userId === agent.id : latest?.type === 'hitlStopped') {
    logger.forBot().info(`webhook: ticket ${event.ticketId} is already ${type}; ignored (${event.rule})`)
    return false
  }
  if (agent) await client.createEvent({ type: 'hitlAssigned', conversationId, payload: { conversationId, userId: agent.id } })
  else await client.createEvent({ type: 'hitlStopped', conversationId, payload: { conversationId } })
  return true
}
