import * as sdk from '@botpress/sdk'
import { findSession } from './sessions'
import type { Client } from './types'

// Per-ticket values (`$ticket`) live in one tag of the hitl conversation, as JSON: kept by the call that creates
// the conversation, free to read where the conversation is handed over (channel messages), one getConversation
// where it is not (a delivery whose rules read `$ticket`, stopHitl of a mapping whose closeTicket reads it), and
// one updateConversation for a delivery whose `set:` changed them. A mapping without `$ticket` pays nothing.

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

/**
 * One delivery's `$ticket`: loaded when a rule reads it (one getConversation per ticket; the session lookup is
 * the one applying the events needs anyway, cached per worker), and the values the rules' `set:` left stored
 * after the events (one updateConversation per ticket whose values changed).
 */
export function deliveryTicketValues(client: Client) {
  const read = new Map<string, Promise<Record<string, unknown> | undefined>>()
  const load = (ticketId: string): Promise<Record<string, unknown> | undefined> => {
    let v = read.get(ticketId)
    if (!v) {
      v = findSession(client, ticketId).then(async (conversationId) =>
        conversationId ? ticketValuesOf((await client.getConversation({ id: conversationId })).conversation) : undefined,
      )
      read.set(ticketId, v)
      v.catch(() => read.delete(ticketId)) // a failed read is retried by the next rule (the delivery then fails)
    }
    return v
  }
  return {
    load,
    /**
     * Stores what the events' `set:`s left, per ticket the last values. Values that do not fit are not stored
     * and are returned as problems: a mapping's mistake, which a retried delivery would repeat, so it must not
     * fail the delivery.
     */
    async save(events: { ticketId: string; ticket?: Record<string, unknown> }[]): Promise<string[]> {
      const changed = new Map<string, Record<string, unknown>>()
      for (const e of events) if (e.ticket) changed.set(e.ticketId, e.ticket)
      const problems: string[] = []
      for (const [ticketId, values] of changed) {
        const conversationId = await findSession(client, ticketId)
        if (!conversationId) continue
        let tags: Record<string, string>
        try {
          tags = ticketValuesTags(values)
        } catch (e) {
          if (!(e instanceof TicketValuesTooLargeError)) throw e
          problems.push(`ticket ${ticketId}: ${e.message}; the previous values are kept`)
          continue
        }
        await client.updateConversation({ id: conversationId, tags: { [TICKET_VALUES_TAG]: tags[TICKET_VALUES_TAG] ?? '{}' } })
      }
      return problems
    },
  }
}

export type DeliveryTicketValues = ReturnType<typeof deliveryTicketValues>

/** Whether an operation on an existing ticket reads `$ticket` (then its conversation's tags are needed). */
export const readsTicketValues = (operation: unknown) => JSON.stringify(operation ?? null).includes('$ticket')
