import type { User } from '@botpress/client'
import type { Engine } from '../engine/createEngine'
import { MAX_TAG_VALUE_LENGTH } from '../definition/runtimeApiLimits'
import { fitName, fitPictureUrl, tagValue } from './botpressLimits'
import { engineFor, withRuntimeErrors } from './engineFor'
import { helpdeskEmail, helpdeskFingerprint } from './identity'
import { endUserOf, knownTicketOf, rememberSession, rememberUser, type EndUser } from './sessions'
import { readsTicketValues, ticketValuesOf, ticketValuesTags } from './ticketValues'
import type { Client, Props } from './types'

type Actions = Props['actions']

/** createUser: the vendor's end user first, then the Botpress user tagged with the vendor id. */
export const createUser: Actions['createUser'] = async ({ ctx, client, input, logger }) =>
  withRuntimeErrors(async () => {
    const engine = await engineFor(ctx, client)
    const name = fitName(input.name)
    const pictureUrl = fitPictureUrl(input.pictureUrl)
    // The Botpress user comes first so the mapping can hand its id to the vendor (external_id, identifier).
    // With an email (the plugin's placeholder included: it names one Botpress user) it is found again on a
    // repeated call instead of duplicated.
    const emailTag = input.email && input.email.length <= MAX_TAG_VALUE_LENGTH ? input.email : undefined
    const { user } = emailTag
      ? await client.getOrCreateUser({ tags: { email: emailTag }, discriminateByTags: ['email'], name, pictureUrl })
      : await client.createUser({ tags: {}, name, pictureUrl })
    const externalUserId = await linkHelpdeskUser(engine, client, user, { name: input.name, email: input.email, pictureUrl: input.pictureUrl })
    logger.forBot().info(`createUser: Botpress user ${user.id} is helpdesk user ${externalUserId}`)
    return { userId: user.id }
  })

/**
 * The mapping's createUser, then the Botpress user's `id` tag (the helpdesk's id) and `helpdesk` tag (which
 * configuration that id belongs to). The plugin's placeholder e-mail is not passed on unless the mapping keeps it.
 */
async function linkHelpdeskUser(
  engine: Engine,
  client: Client,
  user: User | EndUser,
  who: { name: string; email?: string; pictureUrl?: string },
): Promise<string> {
  const id = await engine.createUser({ userId: user.id, name: who.name, email: helpdeskEmail(engine, who.email), pictureUrl: who.pictureUrl })
  const externalUserId = tagValue('The helpdesk user id', id)
  const helpdesk = await helpdeskFingerprint(engine)
  if (user.tags.id !== externalUserId || user.tags.helpdesk !== helpdesk) await client.updateUser({ id: user.id, tags: { id: externalUserId, helpdesk } })
  rememberUser({ ...user, tags: { ...user.tags, id: externalUserId, helpdesk } })
  return externalUserId
}

/** startHitl: open the ticket (history as the mapping says), then the `hitl` conversation tagged with it. */
export const startHitl: Actions['startHitl'] = async ({ ctx, client, input, logger }) =>
  withRuntimeErrors(async () => {
    const engine = await engineFor(ctx, client)
    const user = await endUserOf(client, input.userId)
    let externalUserId = user.tags.id
    // A user created outside createUser, or linked under another helpdesk or account (the plugin never calls
    // createUser again once a user is linked): link it to this configuration's helpdesk now.
    if (!externalUserId || user.tags.helpdesk !== (await helpdeskFingerprint(engine))) {
      externalUserId = await linkHelpdeskUser(engine, client, user, { name: user.name ?? 'User', email: user.tags.email, pictureUrl: user.pictureUrl })
      logger.forBot().info(`startHitl: Botpress user ${user.id} linked to helpdesk user ${externalUserId} of this configuration`)
    }
    const { ticketId: rawTicketId, ticket } = await engine.openTicket({
      userId: user.id,
      externalUserId,
      user: { name: user.name, email: helpdeskEmail(engine, user.tags.email), pictureUrl: user.pictureUrl },
      title: input.title,
      description: input.description,
      hitlSession: input.hitlSession ?? {},
      messageHistory: input.messageHistory ?? [],
    })
    try {
      const ticketId = tagValue('The helpdesk ticket id', rawTicketId)
      // The ticket's own values ($ticket) ride along in a tag: no extra call now, none to read them later.
      const tags = { id: ticketId, ...ticketValuesTags(ticket) }
      const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags, discriminateByTags: ['id'] })
      rememberSession(ticketId, conversation.id)
      logger.forBot().info(`startHitl: ticket ${ticketId} is conversation ${conversation.id}`)
      return { conversationId: conversation.id }
    } catch (e) {
      // Without a conversation nobody can answer this ticket: close it rather than leave an orphan behind.
      await engine
        .closeTicket({ ticketId: rawTicketId })
        .catch((closeError) => logger.forBot().warn(`startHitl: could not close orphan ticket ${rawTicketId}: ${closeError.message}`))
      throw e
    }
  })

/** stopHitl: close the ticket of the conversation (a mapping may accept "already closed" with okStatus). */
export const stopHitl: Actions['stopHitl'] = async ({ ctx, client, input, logger }) =>
  withRuntimeErrors(async () => {
    const engine = await engineFor(ctx, client)
    // The ticket of a conversation never changes: known to this worker when it started or served the session.
    const ticketId = knownTicketOf(input.conversationId) ?? (await client.getConversation({ id: input.conversationId })).conversation.tags.id
    if (!ticketId) {
      // The plugin has already ended its session; like the official HITL integrations, answer {} (no ticket to close).
      logger.forBot().warn(`stopHitl: conversation ${input.conversationId} has no ticket id tag; nothing to close`)
      return {}
    }
    // $ticket lives in the conversation's tags: read them only when closeTicket uses it.
    const ticket = readsTicketValues(engine.mapping.file.operations.closeTicket)
      ? ticketValuesOf((await client.getConversation({ id: input.conversationId })).conversation)
      : undefined
    await engine.closeTicket({ ticketId, conversationId: input.conversationId, ticket })
    logger.forBot().info(`stopHitl: ticket ${ticketId} closed`)
    return {}
  })
