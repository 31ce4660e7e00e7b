import * as sdk from '@botpress/sdk'
import type { Client } from './types'

// Per-ticket values (`$ticket`) live in one tag of the hitl conversation, as JSON. The conversation is read
// anyway (a webhook finds it by ticket id, a channel message and stopHitl are handed it), so reading `$ticket`
// costs no Botpress call; a delivery whose rules `set:` new values costs one updateConversation per ticket.

/** The conversation tag holding the values (declared in integration.definition.ts). */
export const TICKET_VALUES_TAG = 'ticket'
/** The runtime's limit on a tag value: the JSON of a ticket's values must fit in it. */
export const MAX_TICKET_VALUES_CHARS = 500

type Conversation = { id: string; tags: Record<string, string | undefined> }

export class TicketValuesTooLargeError extends sdk.RuntimeError {}

/** The tags that store `values` (none when there are none), or an error naming the limit. */
export function ticketValuesTags(values: Record<string, unknown>): Record<string, string> {
  if (Object.keys(values).length === 0) return {}
  const json = JSON.stringify(values)
  if (json.length > MAX_TICKET_VALUES_CHARS) {
    throw new TicketValuesTooLargeError(
      `the ticket's values (${Object.keys(values).join(', ')}) take ${json.length} characters as JSON; at most ${MAX_TICKET_VALUES_CHARS} fit with the conversation: keep ids and short strings only`,
    )
  }
  return { [TICKET_VALUES_TAG]: json }
}

/** `$ticket` of a conversation: {} when it has none (or the tag is not JSON, which this module never writes). */
export function ticketValuesOf(conversation: Conversation | undefined): Record<string, unknown> {
  const raw = conversation?.tags[TICKET_VALUES_TAG]
  if (!raw) return {}
  try {
    const v = JSON.parse(raw)
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {}
  } catch {
    return {}
  }
}

/** One delivery's view of hand-off conversations by ticket id: each looked up once, shared by routing and applying. */
export function deliveryConversations(client: Client) {
  const found = new Map<string, Promise<Conversation | undefined>>()
  const find = (ticketId: string): Promise<Conversation | undefined> => {
    let c = found.get(ticketId)
    if (!c) {
      c = client.listConversations({ channel: 'hitl', tags: { id: ticketId } }).then((r) => r.conversations[0] as Conversation | undefined)
      found.set(ticketId, c)
      c.catch(() => found.delete(ticketId)) // a failed lookup is retried by the next caller
    }
    return c
  }
  return {
    find,
    values: async (ticketId: string) => ticketValuesOf(await find(ticketId)),
    /**
     * Stores the values the delivery's `set:`s left, one call per conversation (only when something changed).
     * Values that do not fit are not stored and are returned as problems: a mapping's mistake, which a retried
     * delivery would repeat, so it must not fail the delivery.
     */
    async save(changed: Map<string, Record<string, unknown>>): Promise<string[]> {
      const problems: string[] = []
      for (const [ticketId, values] of changed) {
        const conversation = await find(ticketId)
        if (!conversation) continue
        let tags: Record<string, string>
        try {
          tags = ticketValuesTags(values)
        } catch (e) {
          if (!(e instanceof TicketValuesTooLargeError)) throw e
          problems.push(`ticket ${ticketId}: ${e.message}; the previous values are kept`)
          continue
        }
        const json = tags[TICKET_VALUES_TAG] ?? '{}'
        await client.updateConversation({ id: conversation.id, tags: { [TICKET_VALUES_TAG]: json } })
        conversation.tags[TICKET_VALUES_TAG] = json
      }
      return problems
    },
  }
}
