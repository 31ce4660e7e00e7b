import * as sdk from '@botpress/sdk'
import { tagKey } from './botpressLimits'
import { engineFor, withRuntimeErrors } from './engineFor'
import { endUserOf, rememberSentParts, rememberSession } from './sessions'
import { ticketValuesOf } from './ticketValues'
import type { Props } from './types'

type MessageHandler = Props['channels']['hitl']['messages']['text']

/**
 * Every hitl message type: sent through the mapping, acked with the vendor message id so the webhook side
 * recognises it when the vendor echoes it back. `payload.userId` is the end user; absent = a bot notice.
 */
export const sendToHelpdesk: MessageHandler = async (props) =>
  withRuntimeErrors(async () => {
    const { ctx, client, conversation, message, ack, logger } = props
    const payload = props.payload as Record<string, unknown>
    const ticketId = conversation.tags.id
    if (!ticketId) throw new sdk.RuntimeError(`conversation ${conversation.id} has no ticket id tag; it is not a hand-off session`)
    rememberSession(ticketId, conversation.id)
    const engine = await engineFor(ctx, client)
    const userId = typeof payload.userId === 'string' && payload.userId ? payload.userId : undefined
    const user = userId ? await endUserOf(client, userId) : undefined
    const externalUserId = user?.tags.id
    const userName = user?.name
    // hitl 2.1.0: `additionalData` is the bot's note on the message, not content: it reaches the mapping on its own.
    const { userId: _drop, type: _type, additionalData, ...content } = payload
    const ids = await engine.sendMessage({
      ticketId,
      conversationId: conversation.id,
      botpressMessageId: message.id,
      type: message.type,
      payload: content,
      userId,
      externalUserId,
      userName,
      additionalData: typeof additionalData === 'string' ? additionalData : undefined,
      ticket: ticketValuesOf(conversation),
    })
    // Every part but the last is known to this worker only; the last one is on the message itself (the ack).
    if (ids.length > 1) rememberSentParts(conversation.id, ids.slice(0, -1).map(tagKey))
    // Every message is acked, also when the helpdesk gave no id for it (then with no tag).
    await ack({ tags: ids.length > 0 ? { id: tagKey(ids[ids.length - 1]!) } : {} })
    logger.forBot().debug(`hitl message ${message.id} (${message.type}) sent to ticket ${ticketId} as ${ids.join(', ') || '(no id)'}`)
  })

export const hitlChannel = {
  messages: { text: sendToHelpdesk, image: sendToHelpdesk, audio: sendToHelpdesk, video: sendToHelpdesk, file: sendToHelpdesk, bloc: sendToHelpdesk },
} as unknown as Props['channels']['hitl']
