// Hand-off sessions and users as this worker knows them (see workerCache.ts for why per worker and bounded).
import { fitName, fitPictureUrl, tagKey } from './botpressLimits'
import type { Client, Logger } from './types'
import { BoundedCache } from './workerCache'

// A ticket's conversation id never changes once created. 10,000 open tickets per worker is far more than a
// busy bot has at once; an entry is two short ids (~150 bytes), so the cap is ~2 MB at worst.
const TICKETS_KEPT = 10_000
const conversationOfTicket = new BoundedCache<string, string>(TICKETS_KEPT)
const ticketOfConversation = new BoundedCache<string, string>(TICKETS_KEPT)

export function rememberSession(ticketId: string, conversationId: string) {
  conversationOfTicket.set(ticketId, conversationId)
  ticketOfConversation.set(conversationId, ticketId)
}

/** The ticket of a conversation this worker has seen (startHitl, a delivery), else undefined. */
export const knownTicketOf = (conversationId: string) => ticketOfConversation.get(conversationId)

/**
 * The hitl conversation of a ticket, or undefined when it is not one of this bot's hand-offs. Only found
 * conversations are kept: "not ours" is never cached, since another worker may open that ticket's
 * conversation the next moment.
 */
export async function findSession(client: Client, ticketId: string): Promise<string | undefined> {
  const known = conversationOfTicket.get(ticketId)
  if (known) return known
  const { conversations } = await client.listConversations({ channel: 'hitl', tags: { id: ticketId } })
  const found = conversations[0]?.id
  if (found) rememberSession(ticketId, found)
  return found
}

// Botpress user → helpdesk user id (and name, which mappings show as the author). Same bound and reason as
// tickets: one entry per end user in a hand-off, a few short strings each.
const USERS_KEPT = 10_000
/** What the hand-off needs of a Botpress end user. */
export type EndUser = { id: string; name?: string; pictureUrl?: string; tags: { id?: string; email?: string; helpdesk?: string } }
const endUsers = new BoundedCache<string, EndUser>(USERS_KEPT)

/** Kept only once linked (tags.id set): an unlinked user is looked up again, so a later link is seen. */
export function rememberUser(user: EndUser): EndUser {
  const kept: EndUser = {
    id: user.id,
    name: user.name,
    pictureUrl: user.pictureUrl,
    tags: { id: user.tags.id, email: user.tags.email, helpdesk: user.tags.helpdesk },
  }
  if (kept.tags.id) endUsers.set(user.id, kept)
  else endUsers.delete(user.id)
  return kept
}

/** The end user as this worker last saw it, else read (getUser). */
export async function endUserOf(client: Client, userId: string): Promise<EndUser> {
  return endUsers.get(userId) ?? rememberUser((await client.getUser({ id: userId })).user)
}

// Agent id → their Botpress user, as last written. Helpdesks have tens to hundreds of agents; 1,000 covers a
// large one. Name and avatar are rewritten only when a delivery shows a change.
const AGENTS_KEPT = 1_000
type AgentUser = { id: string; name?: string; pictureUrl?: string }
const agentUsers = new BoundedCache<string, AgentUser>(AGENTS_KEPT)

export type Agent = { id?: string; name?: string; avatarUrl?: string }

export async function agentUserOf(client: Client, logger: Logger, agent: Agent | undefined): Promise<AgentUser> {
  const id = tagKey(agent?.id ?? 'unknown-agent')
  // Within the runtime API's limits: a long name cut, an over-long picture URL left out (botpressLimits.ts).
  const name = fitName(agent?.name)
  const pictureUrl = fitPictureUrl(agent?.avatarUrl)
  let known = agentUsers.get(id)
  if (!known) {
    const { user } = await client.getOrCreateUser({ tags: { id, role: 'agent' }, discriminateByTags: ['id', 'role'], name: name ?? 'Agent', pictureUrl })
    known = { id: user.id, name: user.name, pictureUrl: user.pictureUrl }
  }
  // Agents rename themselves and change photos: keep the Botpress user current (the plugin shows its name).
  const renamed = name !== undefined && name !== known.name
  const newPicture = pictureUrl !== undefined && pictureUrl !== known.pictureUrl
  if (renamed || newPicture) {
    const { user } = await client.updateUser({ id: known.id, name: name ?? known.name, pictureUrl: pictureUrl ?? known.pictureUrl })
    logger.forBot().debug(`webhook: agent ${id} is now ${user.name ?? '(no name)'}`)
    known = { id: user.id, name: user.name, pictureUrl: user.pictureUrl }
  }
  agentUsers.set(id, known)
  return known
}

// Vendor ids of the parts of messages this worker sent as several vendor messages (a bloc sent item by item):
// only the last part's id is on the Botpress message (the ack), so the others are recognised from here when
// the helpdesk echoes them. 5,000: the parts sent in the last hours of a busy worker; an id is ~30 bytes.
const SENT_PARTS_KEPT = 5_000
const sentParts = new BoundedCache<string, true>(SENT_PARTS_KEPT)

export function rememberSentParts(conversationId: string, ids: string[]) {
  for (const id of ids) sentParts.set(`${conversationId}\u0000${id}`, true)
}

export const isSentPart = (conversationId: string, id: string) => sentParts.get(`${conversationId}\u0000${id}`) === true
