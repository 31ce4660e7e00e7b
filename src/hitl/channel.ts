import * as sdk from '@botpress/sdk'
import { tagKey } from './botpressLimits'
import { engineFor, withRuntimeErrors } from './engineFor'
import type { Client, Props } from './types'

type MessageHandler = Props['channels']['hitl']['messages']['text']
const SENT_IDS_KEPT = 200

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
    const engine = await engineFor(ctx, client)
    const userId = typeof payload.userId === 'string' && payload.userId ? payload.userId : undefined
    let externalUserId: string | undefined
    let userName: string | undefined
    if (userId) {
      const { user } = await client.getUser({ id: userId })
      externalUserId = user.tags.id
      userName = user.name
    }
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
    })
    // Every message is acked, also when the helpdesk gave no id for it (then with no tag).
    await ack({ tags: ids.length > 0 ? { id: tagKey(ids[ids.length - 1]!) } : {} })
    if (ids.length > 1) await rememberSent(client, conversation.id, ids)
    logger.forBot().debug(`hitl message ${message.id} (${message.type}) sent to ticket ${ticketId} as ${ids.join(', ') || '(no id)'}`)
  })

/** Messages split into several vendor messages (blocs): all their ids, for echo suppression. */
async function rememberSent(client: Client, conversationId: string, ids: string[]) {
  let previous: string[] = []
  try {
    previous = (await client.getState({ type: 'conversation', id: conversationId, name: 'sentMessages' })).state.payload.ids
  } catch (e) {
    if (!(sdk.isApiError(e) && e.type === 'ResourceNotFound')) throw e
  }
  const next = [...previous, ...ids].slice(-SENT_IDS_KEPT)
  await client.setState({ type: 'conversation', id: conversationId, name: 'sentMessages', payload: { ids: next } })
}

export const hitlChannel = {
  messages: { text: sendToHelpdesk, image: sendToHelpdesk, audio: sendToHelpdesk, video: sendToHelpdesk, file: sendToHelpdesk, bloc: sendToHelpdesk },
} as unknown as Props['channels']['hitl']
