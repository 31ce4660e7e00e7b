import * as sdk from '@botpress/sdk'
import { engineFor, withRuntimeErrors } from './engineFor'
import { ticketValuesOf, ticketValuesTags } from './ticketValues'
import type { Props } from './types'

type Actions = Props['actions']

/** createUser: the vendor's end user first, then the Botpress user tagged with the vendor id. */
export const createUser: Actions['createUser'] = async ({ ctx, client, input, logger }) =>
  withRuntimeErrors(async () => {
    const engine = await engineFor(ctx, client)
    // The Botpress user comes first so the mapping can hand its id to the vendor (external_id, identifier).
    // With an email it is found again on a repeated call instead of duplicated.
    const { user } = input.email
      ? await client.getOrCreateUser({ tags: { email: input.email }, discriminateByTags: ['email'], name: input.name, pictureUrl: input.pictureUrl })
      : await client.createUser({ tags: {}, name: input.name, pictureUrl: input.pictureUrl })
    const externalUserId = await engine.createUser({ userId: user.id, name: input.name, email: input.email, pictureUrl: input.pictureUrl })
    if (user.tags.id !== externalUserId) await client.updateUser({ id: user.id, tags: { id: externalUserId } })
    logger.forBot().info(`createUser: Botpress user ${user.id} is helpdesk user ${externalUserId}`)
    return { userId: user.id }
  })

/** startHitl: open the ticket (history as the mapping says), then the `hitl` conversation tagged with it. */
export const startHitl: Actions['startHitl'] = async ({ ctx, client, input, logger }) =>
  withRuntimeErrors(async () => {
    const engine = await engineFor(ctx, client)
    const { user } = await client.getUser({ id: input.userId })
    let externalUserId = user.tags.id
    if (!externalUserId) {
      // A user created outside createUser (or before a mapping change): link it now rather than fail.
      externalUserId = await engine.createUser({ userId: user.id, name: user.name ?? 'User', email: user.tags.email, pictureUrl: user.pictureUrl })
      await client.updateUser({ id: user.id, tags: { id: externalUserId } })
    }
    const { ticketId, ticket } = await engine.openTicket({
      userId: user.id,
      externalUserId,
      user: { name: user.name, email: user.tags.email, pictureUrl: user.pictureUrl },
      title: input.title,
      description: input.description,
      hitlSession: input.hitlSession ?? {},
      messageHistory: input.messageHistory ?? [],
    })
    try {
      // The ticket's own values ($ticket) ride along in a tag: no extra call now, none to read them later.
      const tags = { id: ticketId, ...ticketValuesTags(ticket) }
      const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags, discriminateByTags: ['id'] })
      logger.forBot().info(`startHitl: ticket ${ticketId} is conversation ${conversation.id}`)
      return { conversationId: conversation.id }
    } catch (e) {
      // Without a conversation nobody can answer this ticket: close it rather than leave an orphan behind.
      await engine.closeTicket({ ticketId }).catch((closeError) => logger.forBot().warn(`startHitl: could not close orphan ticket ${ticketId}: ${closeError.message}`))
      throw e
    }
  })

/** stopHitl: close the ticket of the conversation (a mapping may accept "already closed" with okStatus). */
export const stopHitl: Actions['stopHitl'] = async ({ ctx, client, input, logger }) =>
  withRuntimeErrors(async () => {
    const engine = await engineFor(ctx, client)
    const { conversation } = await client.getConversation({ id: input.conversationId })
    const ticketId = conversation.tags.id
    if (!ticketId) throw new sdk.RuntimeError(`conversation ${input.conversationId} has no ticket id tag; it is not a hand-off session`)
    await engine.closeTicket({ ticketId, conversationId: conversation.id, ticket: ticketValuesOf(conversation) })
    logger.forBot().info(`stopHitl: ticket ${ticketId} closed`)
    return {}
  })
