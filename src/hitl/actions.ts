import * as sdk from '@botpress/sdk'
import { engineFor, withRuntimeErrors } from './engineFor'
import { endUserOf, knownTicketOf, rememberSession, rememberUser } from './sessions'
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
    rememberUser({ ...user, tags: { ...user.tags, id: externalUserId } })
    logger.forBot().info(`createUser: Botpress user ${user.id} is helpdesk user ${externalUserId}`)
    return { userId: user.id }
  })

/** startHitl: open the ticket (history as the mapping says), then the `hitl` conversation tagged with it. */
export const startHitl: Actions['startHitl'] = async ({ ctx, client, input, logger }) =>
  withRuntimeErrors(async () => {
    const engine = await engineFor(ctx, client)
    const user = await endUserOf(client, input.userId)
    let externalUserId = user.tags.id
    if (!externalUserId) {
      // A user created outside createUser (or before a mapping change): link it now rather than fail.
      externalUserId = await engine.createUser({ userId: user.id, name: user.name ?? 'User', email: user.tags.email, pictureUrl: user.pictureUrl })
      await client.updateUser({ id: user.id, tags: { id: externalUserId } })
      rememberUser({ ...user, tags: { ...user.tags, id: externalUserId } })
    }
    const ticketId = await engine.createTicket({
      userId: user.id,
      externalUserId,
      user: { name: user.name, email: user.tags.email, pictureUrl: user.pictureUrl },
      title: input.title,
      description: input.description,
      hitlSession: input.hitlSession ?? {},
      messageHistory: input.messageHistory ?? [],
    })
    try {
      const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: ticketId }, discriminateByTags: ['id'] })
      rememberSession(ticketId, conversation.id)
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
    // The ticket of a conversation never changes: known to this worker when it started or served the session.
    const ticketId = knownTicketOf(input.conversationId) ?? (await client.getConversation({ id: input.conversationId })).conversation.tags.id
    if (!ticketId) throw new sdk.RuntimeError(`conversation ${input.conversationId} has no ticket id tag; it is not a hand-off session`)
    await engine.closeTicket({ ticketId, conversationId: input.conversationId })
    logger.forBot().info(`stopHitl: ticket ${ticketId} closed`)
    return {}
  })
