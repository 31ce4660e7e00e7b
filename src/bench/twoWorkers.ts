// The residual case of the dedupe guarantees: the same delivery reaching two workers at the same moment.
// Two integration processes share one runtime emulator; each trial opens a session and sends one delivery to
// both at once. Agent messages are keyed by the vendor id in one atomic call (expected 0 duplicates);
// assigned / solved are checked then written, so two workers can both see "not yet" (the measured rate).
import type { Client } from '@botpress/client'
import type { BotpressCaller } from '../sandbox/integrationServer'
import type { RuntimeEmulator } from '../sandbox/runtime-emulator'

export type TwoWorkerRates = { trials: number; agentMessage: number; assigned: number; solved: number }

export async function duplicateRatesOnTwoWorkers(opts: {
  emulator: RuntimeEmulator
  workers: [BotpressCaller, BotpressCaller]
  worker: Client
  trials: number
  deliveries: { message: (ticketId: string, id: string) => unknown; assigned: (ticketId: string) => unknown; solved: (ticketId: string) => unknown }
}): Promise<TwoWorkerRates> {
  const duplicated = { agentMessage: 0, assigned: 0, solved: 0 }
  const countIn = (conversationId: string, pick: 'messages' | 'events', type?: string) =>
    [...opts.emulator.data[pick].values()].filter((r) => r.conversationId === conversationId && (type === undefined || r.type === type)).length
  for (let i = 0; i < opts.trials; i++) {
    const ticketId = `tkt_two_${i}_${Date.now()}`
    const { conversation } = await opts.worker.createConversation({ channel: 'hitl', tags: { id: ticketId } })
    const both = async (delivery: unknown) => {
      const answers = await Promise.all(opts.workers.map((w) => w.webhook(delivery as never)))
      for (const a of answers) if (a.status !== 200) throw new Error(`two workers: ${a.status} ${a.body}`)
    }
    await both(opts.deliveries.message(ticketId, `m_two_${i}`))
    if (countIn(conversation.id, 'messages') > 1) duplicated.agentMessage++
    await both(opts.deliveries.assigned(ticketId))
    if (countIn(conversation.id, 'events', 'hitlAssigned') > 1) duplicated.assigned++
    await both(opts.deliveries.solved(ticketId))
    if (countIn(conversation.id, 'events', 'hitlStopped') > 1) duplicated.solved++
  }
  const rate = (n: number) => n / opts.trials
  return { trials: opts.trials, agentMessage: rate(duplicated.agentMessage), assigned: rate(duplicated.assigned), solved: rate(duplicated.solved) }
}
