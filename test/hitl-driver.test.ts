import { join } from 'node:path'
import { Client } from '@botpress/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoDesk, type DemoDesk, type DeskApiAnswer } from '../src/sandbox/demo-desk'
import { PLUGIN_MESSAGES, startHitlDriver, type HitlDriver } from '../src/sandbox/hitlDriver'
import { botpressCaller, startIntegrationServer, type BotpressCaller, type IntegrationServer } from '../src/sandbox/integrationServer'
import definition from '../integration.definition'
import { declaredTagsOf, startRuntimeEmulator, type RuntimeEmulator } from '../src/sandbox/runtime-emulator'
import { startWebhookRelay, type WebhookRelay } from '../src/sandbox/webhookRelay'

const root = join(__dirname, '..')
const bundle = join(root, '.botpress', 'dist', 'index.cjs')
const TOKEN = 'bp-token-driver'
const who = { botId: 'bot_driver_test', integrationId: 'intg_universal_hitl_driver', integrationAlias: 'universal-hitl', webhookId: 'wh_driver_test' }

/**
 * The driver plays the HITL plugin against the real integration bundle (SDK server, Botpress Cloud headers), the
 * runtime emulator and the Demo Desk, whose webhooks reach the integration through the webhook relay.
 */
describe('HITL driver: the plugin side of a hand-off', () => {
  let emulator: RuntimeEmulator
  let desk: DemoDesk
  let integration: IntegrationServer
  let relay: WebhookRelay
  let driver: HitlDriver
  let bot: Client
  let botUserId: string
  /** What the driver asked of the integration (actions and channel messages). */
  const actions: { type: string; input: Record<string, unknown> }[] = []
  const channelCalls: { type: string; payload: unknown; user: { id: string }; message: { id: string } }[] = []
  let raw: BotpressCaller
  /** Integration calls and what the end user sees, in the order they happened. */
  const order: string[] = []

  const deskApi = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${desk.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${desk.apiToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    expect(res.status, `${method} ${path}`).toBeLessThan(300)
    return (await res.json()) as DeskApiAnswer
  }
  const messagesOf = async (conversationId: string) => (await bot.listMessages({ conversationId })).messages.reverse()

  beforeAll(async () => {
    emulator = await startRuntimeEmulator({ token: TOKEN, integrationTags: { [who.integrationId]: declaredTagsOf(definition) } })
    desk = await startDemoDesk({ retryDelaysMs: [50, 100] })
    integration = await startIntegrationServer({ bundle, apiUrl: emulator.url, token: TOKEN })
    bot = new Client({ apiUrl: emulator.url, botId: who.botId, token: TOKEN })
    botUserId = (await bot.createUser({ tags: {}, name: 'Bot' })).user.id
    raw = botpressCaller(integration.url, { ...who, botUserId }, { mapping: 'demo-desk', settings: `baseUrl: ${desk.url}\napiToken: ${desk.apiToken}\n` })
    relay = await startWebhookRelay({ webhookId: who.webhookId, forward: (req) => raw.webhook(req) })
    const registered = await raw.call('register', { webhookUrl: relay.url })
    expect(registered.status, registered.body).toBe(200)
    const caller: Pick<BotpressCaller, 'action' | 'messageCreated'> = {
      action: (type, input) => {
        actions.push({ type, input: structuredClone(input) as Record<string, unknown> })
        order.push(`action ${type}`)
        return raw.action(type, input)
      },
      messageCreated: (body) => {
        channelCalls.push(structuredClone(body) as (typeof channelCalls)[number])
        return raw.messageCreated(body)
      },
    }
    driver = await startHitlDriver({ emulator, token: TOKEN, botId: who.botId, botUserId, caller, endUser: { name: 'Jane Doe', email: 'jane@example.com' } })
    driver.on('upstream', (line) => order.push(`${line.from}: ${line.text}`))
  })
  afterAll(async () => {
    driver?.close()
    await integration?.stop()
    await relay?.close()
    await desk?.close()
    await emulator?.close()
  })

  let downstreamUserId: string
  let conversationId: string
  let ticketId: string

  it('escalate: createUser with the end user, then startHitl with the plugin-shaped history, oldest first', async () => {
    await driver.userSays('My parcel is late')
    await driver.botSays('Let me find someone for you')
    const r = await driver.escalate({ title: 'Late parcel', description: 'Escalated by the bot' })
    downstreamUserId = r.downstreamUserId
    conversationId = r.conversationId
    ticketId = r.conversation.tags.id!

    expect(actions.map((a) => a.type)).toEqual(['createUser', 'startHitl'])
    expect(actions[0]!.input).toEqual({ name: 'Jane Doe', email: 'jane@example.com' })
    expect(actions[1]!.input).toEqual({
      userId: downstreamUserId,
      title: 'Late parcel',
      description: 'Escalated by the bot',
      messageHistory: [
        { source: { type: 'user', userId: downstreamUserId }, type: 'text', payload: { text: 'My parcel is late' } },
        { source: { type: 'bot' }, type: 'text', payload: { text: 'Let me find someone for you' } },
        { source: { type: 'bot' }, type: 'text', payload: { text: PLUGIN_MESSAGES.handoff } },
      ],
    })
    expect(r.conversation.channel).toBe('hitl')
    expect(driver.active).toBe(true)
    // Linked like the plugin links them.
    expect((await bot.getUser({ id: driver.endUserId })).user.tags.downstream).toBe(downstreamUserId)
    expect((await bot.getConversation({ id: driver.upstreamConversationId })).conversation.tags.downstream).toBe(conversationId)
    // And the history reached the ticket.
    const { ticket } = await deskApi('GET', `/tickets/${ticketId}`)
    expect(ticket.messages.filter((m) => m.history).map((m) => [m.authorType, m.text])).toEqual([
      ['contact', 'My parcel is late'],
      ['bot', 'Let me find someone for you'],
      ['bot', PLUGIN_MESSAGES.handoff],
    ])
  })

  it('userSays: an outgoing bot message in the hitl conversation with payload.userId, then message_created', async () => {
    const r = await driver.userSays('Are you there?')
    expect(r.relayed!.result.status).toBe(200)
    const last = (await messagesOf(conversationId)).at(-1)!
    expect(last).toMatchObject({
      direction: 'outgoing',
      userId: botUserId,
      type: 'text',
      payload: { text: 'Are you there?', type: 'text', userId: downstreamUserId },
    })
    const call = channelCalls.at(-1)!
    expect(call.type).toBe('text')
    expect(call.payload).toEqual({ text: 'Are you there?', type: 'text', userId: downstreamUserId })
    expect(call.user.id).toBe(botUserId)
    expect(call.message.id).toBe(last.id)
    const { ticket } = await deskApi('GET', `/tickets/${ticketId}`)
    expect(ticket.messages.at(-1)).toMatchObject({ authorType: 'contact', text: 'Are you there?', history: false })
  })

  it('hitlAssigned: the agent name from getUser, "agent joined" upstream, conversations tagged', async () => {
    await deskApi('POST', `/tickets/${ticketId}/assign`, { agentId: 'agt_1' })
    const a = await driver.next('assigned', 15_000)
    expect(a).toMatchObject({ agentName: 'Alice Agent', conversationId })
    const upstream = (await messagesOf(driver.upstreamConversationId)).at(-1)!
    expect(upstream).toMatchObject({ direction: 'outgoing', payload: { text: PLUGIN_MESSAGES.assigned } })
    expect((await bot.getConversation({ id: driver.upstreamConversationId })).conversation.tags).toMatchObject({
      humanAgentId: a.agentUserId,
      humanAgentName: 'Alice Agent',
    })
  })

  it("an agent reply comes back upstream as a bot message shown with the agent's name", async () => {
    await deskApi('POST', `/tickets/${ticketId}/reply`, { agentId: 'agt_1', text: 'Hello Jane, checking now' })
    const m = await driver.next('agentMessage', 15_000)
    expect(m).toMatchObject({ text: 'Hello Jane, checking now', agentName: 'Alice Agent' })
    const incoming = (await bot.getMessage({ id: m.downstreamMessageId })).message
    expect(incoming).toMatchObject({ direction: 'incoming', conversationId, userId: m.agentUserId })
    const upstream = (await bot.getMessage({ id: m.upstreamMessageId })).message
    expect(upstream).toMatchObject({
      direction: 'outgoing',
      conversationId: driver.upstreamConversationId,
      userId: botUserId,
      payload: { text: 'Hello Jane, checking now' },
      tags: { downstream: m.downstreamMessageId },
    })
    // webchat's mirror user for the agent carries the name the user sees.
    expect((await bot.getUser({ id: upstream.payload.userId })).user.name).toBe('Alice Agent')
    expect(driver.transcript.at(-1)).toMatchObject({ from: 'agent', name: 'Alice Agent', text: 'Hello Jane, checking now' })
    // The user's own message was not echoed back as an agent message.
    expect(driver.agentMessages).toHaveLength(1)
  })

  it('botNotice: a bot message in the hitl conversation without payload.userId, sent as the system', async () => {
    const r = await driver.botNotice('[Bot] tracking page shown')
    expect(r.result.status).toBe(200)
    expect(channelCalls.at(-1)!.payload).toEqual({ text: '[Bot] tracking page shown' })
    const { ticket } = await deskApi('GET', `/tickets/${ticketId}`)
    expect(ticket.messages.at(-1)).toMatchObject({ authorType: 'system', text: '[Bot] tracking page shown' })
    expect((await bot.getMessage({ id: r.message.id })).message.tags.id).toBe(ticket.messages.at(-1)?.id)
  })

  it('endSession: the cancel notice is a bot notice (no userId), then stopHitl closes the ticket', async () => {
    const before = channelCalls.length
    expect(await driver.endSession()).toBe(true)
    const notice = channelCalls.slice(before)
    expect(notice).toHaveLength(1)
    expect(notice[0]!.payload).toEqual({ text: PLUGIN_MESSAGES.userCancelled })
    expect(notice[0]!.payload).not.toHaveProperty('userId')
    expect(actions.at(-1)).toEqual({ type: 'stopHitl', input: { conversationId } })
    expect(driver.active).toBe(false)
    expect(await driver.next('ended', 1000)).toMatchObject({ conversationId, reason: 'close-action-called' })
    const { ticket } = await deskApi('GET', `/tickets/${ticketId}`)
    expect(ticket.status).toBe('closed')
    expect(ticket.messages.at(-1)).toMatchObject({ authorType: 'system', text: PLUGIN_MESSAGES.userCancelled })
    // Once inactive, user messages stay with the bot.
    expect((await driver.userSays('thanks')).relayed).toBeUndefined()
  })

  it('a second session: a first agent message assigns its author; solving emits hitlStopped', async () => {
    const r = await driver.escalate({ title: 'Again' })
    expect(r.conversationId).not.toBe(conversationId)
    expect(r.downstreamUserId).toBe(downstreamUserId) // the linked user is reused, createUser is not called again
    expect(actions.slice(-1).map((a) => a.type)).toEqual(['startHitl'])
    const t2 = r.conversation.tags.id!
    await deskApi('POST', `/tickets/${t2}/reply`, { agentId: 'agt_2', text: 'Bob here' })
    expect(await driver.next('assigned', 15_000)).toMatchObject({ agentName: 'Bob Builder', conversationId: r.conversationId })
    expect(await driver.next('agentMessage', 15_000)).toMatchObject({ agentName: 'Bob Builder', text: 'Bob here' })
    await deskApi('POST', `/tickets/${t2}/solve`, { agentId: 'agt_2' })
    expect(await driver.next('stopped', 15_000)).toMatchObject({ conversationId: r.conversationId, reason: 'agent-closed-ticket' })
    expect(driver.active).toBe(false)
    expect(driver.transcript.at(-1)).toMatchObject({ from: 'bot', text: PLUGIN_MESSAGES.stopped })
    // The plugin does not call stopHitl when the agent closed the ticket.
    expect(actions.at(-1)!.type).toBe('startHitl')
  })

  it('/end typed by the user: cancel notice to the agent, stopHitl, and only then the close message to the user', async () => {
    const r = await driver.escalate({ title: 'Third' })
    const before = channelCalls.length
    order.length = 0
    const ended = await driver.userSays('/end')
    expect(ended.ended).toBe(true)
    expect(channelCalls.slice(before).map((c) => c.payload)).toEqual([{ text: PLUGIN_MESSAGES.userCancelled }])
    expect(actions.at(-1)).toEqual({ type: 'stopHitl', input: { conversationId: r.conversationId } })
    expect(order).toEqual(['user: /end', 'action stopHitl', `bot: ${PLUGIN_MESSAGES.userClosed}`])
    expect(await driver.next('ended', 1000)).toMatchObject({ reason: 'patient-used-termination-command' })
  })

  describe("the plugin's timeout and its checks on hitlAssigned", () => {
    let second: HitlDriver
    let integrationClient: Client
    const timeoutText = 'No agent is free right now; I will keep helping you.'
    beforeAll(async () => {
      second = await startHitlDriver({
        emulator,
        token: TOKEN,
        botId: who.botId,
        botUserId,
        caller: {
          action: (type, input) => {
            actions.push({ type, input: structuredClone(input) as Record<string, unknown> })
            order.push(`action ${type}`)
            return raw.action(type, input)
          },
          messageCreated: (body) => raw.messageCreated(body),
        },
        endUser: { name: 'Tim Out' }, // no e-mail: the plugin makes one up
        agentAssignedTimeoutSeconds: 0.5,
        messages: { agentAssignedTimeout: timeoutText },
      })
      second.on('upstream', (line) => order.push(`${line.from}: ${line.text}`))
      integrationClient = new Client({
        apiUrl: emulator.url,
        botId: who.botId,
        token: TOKEN,
        integrationId: who.integrationId,
        integrationAlias: who.integrationAlias,
      })
    })
    afterAll(() => second?.close())

    it('no agent in time: cancel notice to the agent, session inactive, stopHitl, then the timeout message', async () => {
      await second.userSays('Anyone?')
      const r = await second.escalate({ title: 'Nobody comes' })
      order.length = 0
      // createUser got the plugin's placeholder; the helpdesk contact got no e-mail.
      const placeholder = [...actions].reverse().find((a) => a.type === 'createUser')!.input.email
      expect(placeholder).toMatch(/^user_\w+@no-reply\.bot-driver-test\.botpress\.com$/)
      const { contacts } = await deskApi('GET', '/contacts')
      const contact = contacts.find((c) => c.name === 'Tim Out')
      expect(contact).toBeDefined()
      expect(contact?.email ?? null).toBeNull()
      const ended = await second.next('ended', 10_000)
      expect(ended).toMatchObject({ conversationId: r.conversationId, reason: 'agent-assignment-timeout' })
      expect(second.active).toBe(false)
      expect(order).toEqual(['action stopHitl', `bot: ${timeoutText}`])
      const { ticket } = await deskApi('GET', `/tickets/${r.conversation.tags.id}`)
      expect(ticket.status).toBe('closed')
      expect(ticket.messages.at(-1)).toMatchObject({ authorType: 'system', text: PLUGIN_MESSAGES.userCancelled })
      expect((await bot.getConversation({ id: r.conversationId })).conversation.tags.hitlEndReason).toBe('agent-assignment-timeout')
    })

    it('an agent assigned in time cancels the timeout', async () => {
      const r = await second.escalate({ title: 'Someone comes' })
      await deskApi('POST', `/tickets/${r.conversation.tags.id}/assign`, { agentId: 'agt_1' })
      await second.next('assigned', 10_000)
      await new Promise((done) => setTimeout(done, 800))
      await second.idle()
      expect(second.active).toBe(true)
      await second.endSession()
      expect(await second.next('ended', 5000)).toMatchObject({ reason: 'close-action-called' })
    })

    it('hitlAssigned without payload.conversationId, or for an agent user that does not exist, fails like in the plugin', async () => {
      const r = await second.escalate({ title: 'Checks' })
      const agent = (await integrationClient.getOrCreateUser({ tags: { id: 'agt_check', role: 'agent' }, name: 'Checker' })).user
      await integrationClient.createEvent({ type: 'hitlAssigned', conversationId: r.conversationId, payload: { userId: agent.id } })
      expect((await second.next('error', 5000)).error.message).toMatch(/payload\.conversationId is missing/)
      await integrationClient.createEvent({
        type: 'hitlAssigned',
        conversationId: r.conversationId,
        payload: { conversationId: r.conversationId, userId: 'user_01JNOSUCHAGENT000000000000' },
      })
      expect((await second.next('error', 5000)).error.message).toMatch(/agent user user_01JNOSUCHAGENT000000000000 of hitlAssigned does not exist/)
      expect(second.session?.humanAgentId).toBeUndefined()
      // A well-formed one still assigns.
      await integrationClient.createEvent({
        type: 'hitlAssigned',
        conversationId: r.conversationId,
        payload: { conversationId: r.conversationId, userId: agent.id },
      })
      expect(await second.next('assigned', 5000)).toMatchObject({ agentName: 'Checker' })
      await second.endSession()
    })
  })

  it('next() times out with a clear message', async () => {
    await expect(driver.next('assigned', 50)).rejects.toThrow('no assigned within 0.1 s')
  })

  it('nothing went wrong while relaying', async () => {
    await driver.idle()
    const errors: unknown[] = []
    while (true) {
      const e = await driver.next('error', 1).catch(() => undefined)
      if (!e) break
      errors.push(e.error.message)
    }
    expect(errors).toEqual([])
  })
})
