// The Botpress side of a hand-off, played the way the HITL plugin (plugins/hitl 1.4.x) plays it, so the
// integration can be exercised end to end without Botpress Cloud:
// - the integration is reached ONLY through `botpressCaller` (real SDK server, Botpress Cloud's headers);
// - the runtime API (the emulator) is reached through `@botpress/client`: as the bot (no integration id) for
//   everything the plugin writes, and as a stand-in "webchat" integration for what the end user writes upstream
//   (so the user's messages are `incoming`, as they are in Botpress, and the history can be built by direction);
// - what the integration writes (agent replies, hitlAssigned, hitlStopped) is observed through the emulator's
//   `onMessageCreated` / `onEventCreated`, which is where Botpress would run the plugin's hooks.
// See /work/shared/reference/hitl-plugin-and-peers.md §2 for the behaviour reproduced here.
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { Client, type Conversation, type Event, type Message, type User } from '@botpress/client'
import { actionOutput, type BotpressCaller, type CallResult } from './integrationServer'
import type { RuntimeEmulator } from './runtime-emulator'

/** The plugin's default texts (plugins/hitl definition). */
export const PLUGIN_MESSAGES = {
  handoff: 'I have escalated this conversation to a human agent. They should be with you shortly.',
  assigned: 'A human agent has joined the conversation.',
  stopped: 'The human agent closed the conversation. I will continue assisting you.',
  userCancelled: '( The user has ended the session. )',
  userClosed: 'You have ended the session with the human agent. I will continue assisting you.',
  incompatibleType: 'Sorry, the user can only receive text messages. Please resend your message as a text message.',
}
export type PluginMessages = typeof PLUGIN_MESSAGES & {
  /** To the user when no agent was assigned in time; the plugin has no default text and sends it only when configured. */
  agentAssignedTimeout?: string | null
}

/** Message types the plugin relays in either direction. */
const RELAYED_TYPES = new Set(['text', 'image', 'audio', 'video', 'file', 'bloc'])

export type HistoryItem = { source: { type: 'bot' } | { type: 'user'; userId: string }; type: string; payload: Record<string, unknown> }

/** A line of the end user's conversation, as the user would see it. */
export type UpstreamLine = {
  at: Date
  /** `user`: the end user; `bot`: the bot (plugin notices included); `agent`: an agent's message relayed by the bot. */
  from: 'user' | 'bot' | 'agent'
  /** The agent's name for `agent` lines. */
  name?: string
  type: string
  text: string
  /** The message's payload (media: its URL and title). */
  payload: Record<string, unknown>
  messageId: string
}

export type AgentMessage = {
  at: Date
  type: string
  text: string
  payload: Record<string, unknown>
  agentUserId: string
  agentName: string
  /** The incoming message in the hitl conversation, and the copy the bot wrote upstream. */
  downstreamMessageId: string
  upstreamMessageId: string
}

export type DriverEvents = {
  upstream: UpstreamLine
  agentMessage: AgentMessage
  assigned: { at: Date; agentUserId: string; agentName: string; conversationId: string }
  stopped: { at: Date; conversationId: string; reason: 'agent-closed-ticket' }
  ended: { at: Date; conversationId: string; reason: EndReason }
  /** Something the plugin would drop (inactive session, unsupported type); for logs. */
  dropped: { at: Date; what: string; reason: string }
  /** A failure while reacting to something the integration wrote (the script decides what to do with it). */
  error: { at: Date; error: Error }
}
export type DriverEventName = keyof DriverEvents

export type EndReason = 'patient-used-termination-command' | 'close-action-called' | 'agent-assignment-timeout'

export type HitlSession = {
  conversationId: string
  downstreamUserId: string
  ticketId?: string
  messageHistory: HistoryItem[]
  humanAgentId?: string
  humanAgentName?: string
  active: boolean
  endReason?: EndReason | 'agent-closed-ticket'
}

export type HitlDriverOptions = {
  /** The runtime emulator: its URL for the clients, its listeners for what the integration writes. */
  emulator: Pick<RuntimeEmulator, 'url' | 'onMessageCreated' | 'onEventCreated'>
  /** Bearer token the emulator expects (if any). */
  token: string
  botId: string
  /** The bot's own user (created beforehand; also what `caller` sends as x-bot-user-id). */
  botUserId: string
  caller: Pick<BotpressCaller, 'action' | 'messageCreated'>
  endUser?: { name?: string; email?: string; pictureUrl?: string }
  /** Override the plugin's texts; `null` suppresses one (like the plugin's literal `NULL`). */
  messages?: Partial<{ [K in keyof PluginMessages]: string | null }>
  /** The integration's alias, written in user tags like the plugin does. */
  integrationAlias?: string
  /** The upstream channel's stand-in integration id (default `intg_webchat_sandbox`). */
  webchatIntegrationId?: string
  /**
   * The plugin's `agentAssignedTimeoutSeconds` (0 or absent: disabled): when no agent is assigned in time, the
   * session ends as the plugin ends it (cancel notice to the agent, both sides inactive, stopHitl, then the user).
   */
  agentAssignedTimeoutSeconds?: number
}

/** An integration call that did not answer 200: operation, status and the integration's message. */
export class IntegrationCallError extends Error {
  constructor(
    readonly operation: string,
    readonly result: CallResult,
  ) {
    const detail =
      typeof result.json?.message === 'string' ? result.json.message : typeof result.json?.error === 'string' ? result.json.error : result.body.slice(0, 500)
    super(`${operation} answered ${result.status}: ${result.advice ?? detail}`)
  }
}

export class TimeoutError extends Error {}

const ok = (operation: string, result: CallResult) => {
  if (result.status !== 200) throw new IntegrationCallError(operation, result)
  return result
}

/** The fields of a message payload (of any type) that its readable text is made of. */
type PayloadText = { text?: unknown; title?: string; imageUrl?: string; audioUrl?: string; videoUrl?: string; fileUrl?: string; items?: unknown }
type BlocItem = { type: string; payload?: PayloadText }

/** A readable text for a message of any type (transcripts, logs). */
export function messageText(type: string, payload: PayloadText): string {
  if (typeof payload?.text === 'string' && payload.text) return payload.text
  if (type === 'bloc' && Array.isArray(payload?.items)) return (payload.items as BlocItem[]).map((i) => messageText(i.type, i.payload ?? {})).join(' | ')
  const url = payload?.imageUrl ?? payload?.audioUrl ?? payload?.videoUrl ?? payload?.fileUrl
  if (url) return `[${type}] ${payload.title ? `${payload.title}: ` : ''}${url}`
  return `[${type}]`
}

const isEvent = (e: Event, name: string) => e.type === name || e.type.endsWith(`:${name}`)

export type HitlDriver = Awaited<ReturnType<typeof startHitlDriver>>

export async function startHitlDriver(opts: HitlDriverOptions) {
  const messages: { [K in keyof PluginMessages]-?: string | null } = { agentAssignedTimeout: null, ...PLUGIN_MESSAGES, ...opts.messages }
  const bot = new Client({ apiUrl: opts.emulator.url, botId: opts.botId, token: opts.token })
  const webchatId = opts.webchatIntegrationId ?? 'intg_webchat_sandbox'
  const webchat = new Client({ apiUrl: opts.emulator.url, botId: opts.botId, token: opts.token, integrationId: webchatId, integrationAlias: 'webchat' })
  const alias = opts.integrationAlias ?? 'universal-hitl'

  const endUserName = opts.endUser?.name ?? 'Jane Doe'
  const { user: upstreamUser } = await webchat.createUser({ tags: {}, name: endUserName, pictureUrl: opts.endUser?.pictureUrl })
  const { conversation: upstreamConversation } = await webchat.createConversation({ channel: 'channel', tags: {} })

  const emitter = new EventEmitter()
  emitter.on('error', () => {}) // 'error' is an ordinary event here; never throw from emit
  const buffers = new Map<DriverEventName, unknown[]>()
  const waiters = new Map<DriverEventName, ((v: unknown) => void)[]>()
  const transcript: UpstreamLine[] = []
  const agentMessages: AgentMessage[] = []
  const sessions: HitlSession[] = []
  let session: HitlSession | undefined
  let downstreamUserId: string | undefined
  const mirrorUsers = new Map<string, string>()
  let closed = false

  function emit<E extends DriverEventName>(name: E, value: DriverEvents[E]) {
    const waiting = waiters.get(name)
    if (waiting?.length) waiting.shift()!(value)
    else {
      const buffer = buffers.get(name) ?? []
      buffer.push(value)
      buffers.set(name, buffer)
    }
    emitter.emit(name, value)
  }

  /** Work triggered by the emulator's listeners runs one at a time, in the order things happened. */
  let work: Promise<void> = Promise.resolve()
  const enqueue = (what: string, fn: () => Promise<void>) => {
    work = work.then(fn).catch((e: unknown) => {
      const error = e instanceof Error ? e : new Error(String(e))
      error.message = `${what}: ${error.message}`
      emit('error', { at: new Date(), error })
    })
  }

  const record = (m: Message, from: UpstreamLine['from'], name?: string) => {
    const line: UpstreamLine = {
      at: new Date(m.createdAt),
      from,
      name,
      type: m.type,
      text: messageText(m.type, m.payload),
      payload: m.payload,
      messageId: m.id,
    }
    transcript.push(line)
    emit('upstream', line)
  }

  /** The bot writes in the user's conversation (outgoing). */
  async function botSays(
    text: string | null,
    extra: { payload?: Record<string, unknown>; tags?: Record<string, string>; type?: string; from?: UpstreamLine['from']; name?: string } = {},
  ) {
    if (text === null && !extra.payload) return undefined
    const type = extra.type ?? 'text'
    const payload = extra.payload ?? { text }
    const { message } = await bot.createMessage({ conversationId: upstreamConversation.id, userId: opts.botUserId, type, payload, tags: extra.tags ?? {} })
    record(message, extra.from ?? 'bot', extra.name)
    return message
  }

  async function setActive(s: HitlSession, active: boolean) {
    s.active = active
    for (const id of [upstreamConversation.id, s.conversationId]) {
      await bot.setState({ type: 'conversation', id, name: 'hitl', payload: { hitlActive: active } })
    }
  }

  /** The bot writes in the hitl conversation (outgoing) and Botpress calls the integration's channel handler. */
  async function writeDownstream(s: HitlSession, type: string, payload: Record<string, unknown>, tags: Record<string, string> = {}) {
    const { message } = await bot.createMessage({ conversationId: s.conversationId, userId: opts.botUserId, type, payload, tags })
    const { conversation } = await bot.getConversation({ id: s.conversationId })
    const { user } = await bot.getUser({ id: opts.botUserId })
    const result = ok('message_created', await opts.caller.messageCreated({ type, payload, conversation, message, user }))
    return { message, result }
  }

  /** Plugin's createUser step (UserLinker): reuse the linked downstream user, else the integration's createUser. */
  async function linkUser(user: User): Promise<string> {
    const linked = user.tags.downstream
    if (linked && user.tags.integrationAlias === alias) {
      try {
        await bot.getUser({ id: linked })
        return linked
      } catch {
        // the linked user is gone: create it again
      }
    }
    // The plugin's placeholder when the bot has no e-mail (underscores of the bot id become dashes).
    const email = user.tags.email || opts.endUser?.email || `${user.id}@no-reply.${opts.botId.replace(/_/g, '-')}.botpress.com`
    const input: Record<string, unknown> = { name: user.tags.name || user.name || 'Unknown User', email }
    if (user.pictureUrl) input.pictureUrl = user.pictureUrl
    const r = ok('createUser', await opts.caller.action('createUser', input))
    const id = actionOutput(r, 'userId')
    await bot.updateUser({ id: user.id, tags: { downstream: id, integrationName: alias, integrationAlias: alias } })
    await bot.updateUser({ id, tags: { upstream: user.id, integrationName: alias, integrationAlias: alias } })
    return id
  }

  /** The plugin reads the agent user (it must exist: a missing one fails the event) and shows its name. */
  async function assignAgent(s: HitlSession, agentUserId: string) {
    const { user } = await bot.getUser({ id: agentUserId }).catch((e: Error) => {
      throw new Error(`the agent user ${agentUserId} of hitlAssigned does not exist (${e.message})`)
    })
    const agentName = user.name || 'A Human Agent'
    s.humanAgentId = agentUserId
    s.humanAgentName = agentName
    for (const id of [upstreamConversation.id, s.conversationId]) {
      await bot.updateConversation({ id, tags: { humanAgentId: agentUserId, humanAgentName: agentName } })
    }
    await botSays(messages.assigned)
    emit('assigned', { at: new Date(), agentUserId, agentName, conversationId: s.conversationId })
  }

  /** webchat's getOrCreateUser for the agent (useHumanAgentInfo): the user sees the agent's name and picture. */
  async function mirrorUser(agent: User): Promise<string> {
    const known = mirrorUsers.get(agent.id)
    if (known) return known
    const { user } = await webchat.getOrCreateUser({
      tags: { humanAgentId: agent.id },
      discriminateByTags: ['humanAgentId'],
      name: agent.name ?? 'A Human Agent',
      pictureUrl: agent.pictureUrl,
    })
    mirrorUsers.set(agent.id, user.id)
    return user.id
  }

  // --- what the integration writes -------------------------------------------------------------------
  const offMessage = opts.emulator.onMessageCreated((m) => {
    if (closed || m.direction !== 'incoming') return
    const s = sessions.find((x) => x.conversationId === m.conversationId)
    if (!s) return
    enqueue(`relaying agent message ${m.id}`, async () => {
      if (!s.active) return void emit('dropped', { at: new Date(), what: `agent message ${m.id}`, reason: 'the hand-off session is not active' })
      if (!RELAYED_TYPES.has(m.type)) {
        emit('dropped', { at: new Date(), what: `agent message ${m.id}`, reason: `type ${m.type} is not supported` })
        if (messages.incompatibleType !== null) await writeDownstream(s, 'text', { text: messages.incompatibleType })
        return
      }
      // The first author of an incoming message becomes the agent when no assignment came (plugin PR #14660).
      if (!s.humanAgentId) await assignAgent(s, m.userId)
      const { user: agent } = await bot.getUser({ id: m.userId })
      const agentName = agent.name ?? 'A Human Agent'
      const payload: Record<string, unknown> = { ...m.payload, userId: await mirrorUser(agent) }
      const tags: Record<string, string> = { downstream: m.id }
      if (typeof m.payload.additionalData === 'string') tags.additionalData = m.payload.additionalData
      const up = await botSays(null, { type: m.type, payload, tags, from: 'agent', name: agentName })
      const am: AgentMessage = {
        at: new Date(),
        type: m.type,
        text: messageText(m.type, m.payload),
        payload: m.payload,
        agentUserId: m.userId,
        agentName,
        downstreamMessageId: m.id,
        upstreamMessageId: up!.id,
      }
      agentMessages.push(am)
      emit('agentMessage', am)
    })
  })

  const offEvent = opts.emulator.onEventCreated((e) => {
    if (closed) return
    // The plugin reads the session from the payload only (the event's own conversationId is not consulted).
    const conversationId = (e.payload as { conversationId?: unknown })?.conversationId
    const s = sessions.find((x) => x.conversationId === conversationId)
    if (!s) {
      if (conversationId === undefined && isEvent(e, 'hitlAssigned') && sessions.some((x) => x.conversationId === e.conversationId)) {
        emit('error', { at: new Date(), error: new Error(`hitlAssigned ${e.id}: payload.conversationId is missing; the plugin cannot find the session`) })
      }
      return
    }
    if (isEvent(e, 'hitlAssigned')) {
      enqueue(`hitlAssigned ${e.id}`, async () => {
        if (!s.active) return void emit('dropped', { at: new Date(), what: `hitlAssigned ${e.id}`, reason: 'the hand-off session is not active' })
        await assignAgent(s, String((e.payload as { userId?: string }).userId))
      })
    } else if (isEvent(e, 'hitlStopped')) {
      enqueue(`hitlStopped ${e.id}`, async () => {
        if (!s.active) return void emit('dropped', { at: new Date(), what: `hitlStopped ${e.id}`, reason: 'the hand-off session is not active' })
        await botSays(messages.stopped)
        await setActive(s, false)
        s.endReason = 'agent-closed-ticket'
        for (const id of [upstreamConversation.id, s.conversationId]) await bot.updateConversation({ id, tags: { hitlEndReason: 'agent-closed-ticket' } })
        emit('stopped', { at: new Date(), conversationId: s.conversationId, reason: 'agent-closed-ticket' })
      })
    }
  })

  // --- what the script does ---------------------------------------------------------------------------
  const driver = {
    bot,
    upstreamConversationId: upstreamConversation.id,
    endUserId: upstreamUser.id,
    endUserName,
    transcript,
    agentMessages,
    sessions,
    get session(): HitlSession | undefined {
      return session
    },
    get active(): boolean {
      return !!session?.active
    },
    get downstreamUserId(): string | undefined {
      return downstreamUserId
    },

    /** The bot talks to the user (outgoing message upstream). */
    botSays: (text: string) => botSays(text) as Promise<Message>,

    /**
     * The end user writes (an incoming message upstream, as webchat would create it). During an active session
     * the plugin relays it to the hitl conversation; `/end` (any case, trimmed) ends the session instead.
     */
    async userSends(type: string, payload: Record<string, unknown>) {
      const { message } = await webchat.createMessage({ conversationId: upstreamConversation.id, userId: upstreamUser.id, type, payload, tags: {} })
      record(message, 'user')
      const s = session
      if (!s?.active) return { upstream: message }
      if (type === 'text' && typeof payload.text === 'string' && payload.text.trim().toLowerCase() === '/end') {
        await endSession('patient-used-termination-command')
        return { upstream: message, ended: true }
      }
      if (!RELAYED_TYPES.has(type)) {
        await botSays(`Sorry, I can only forward ${[...RELAYED_TYPES].join(', ')} messages to the agent.`)
        return { upstream: message }
      }
      const relayed = await writeDownstream(s, type, { ...message.payload, type, userId: s.downstreamUserId }, { upstream: message.id })
      return { upstream: message, relayed }
    },
    userSays(text: string) {
      return driver.userSends('text', { text })
    },

    /**
     * The end user attaches a file, the way webchat uploads it: `upsertFile` (public content), then a PUT of the
     * bytes to the answered upload URL. Resolves with the Botpress file; a message then carries its `url`.
     */
    async userUploads(f: { name: string; contentType: string; bytes: Buffer }) {
      const { file } = await webchat.upsertFile({
        key: `webchat/${upstreamConversation.id}/${randomUUID()}/${f.name}`,
        size: f.bytes.length,
        contentType: f.contentType,
        accessPolicies: ['public_content'],
      })
      const put = await fetch(file.uploadUrl, { method: 'PUT', headers: { 'content-type': f.contentType }, body: new Uint8Array(f.bytes) })
      if (!put.ok) throw new Error(`uploading ${f.name} to its upload URL answered ${put.status}: ${(await put.text()).slice(0, 300)}`)
      return file
    },

    /**
     * Plugin `startHitl`: handoff notice to the user, createUser, history from the first page of the user's
     * conversation (oldest first), the integration's startHitl, then links and marks both sides active.
     */
    async escalate(input: { title: string; description?: string; hitlSession?: Record<string, unknown> }) {
      if (session?.active) throw new Error('a hand-off session is already active on this conversation')
      await botSays(messages.handoff)
      const { user } = await bot.getUser({ id: upstreamUser.id })
      downstreamUserId = await linkUser(user)
      const { messages: page } = await bot.listMessages({ conversationId: upstreamConversation.id })
      const known = new Map<string, string>([[upstreamUser.id, downstreamUserId]])
      const messageHistory: HistoryItem[] = []
      for (const m of [...page].reverse()) {
        if (m.direction === 'outgoing') {
          messageHistory.push({ source: { type: 'bot' }, type: m.type, payload: m.payload })
          continue
        }
        let author = known.get(m.userId)
        if (!author) {
          author = await linkUser((await bot.getUser({ id: m.userId })).user)
          known.set(m.userId, author)
        }
        messageHistory.push({ source: { type: 'user', userId: author }, type: m.type, payload: m.payload })
      }
      const startInput: Record<string, unknown> = { userId: downstreamUserId, title: input.title, description: input.description, messageHistory }
      if (input.hitlSession) startInput.hitlSession = input.hitlSession
      const r = ok('startHitl', await opts.caller.action('startHitl', startInput))
      const conversationId = actionOutput(r, 'conversationId')
      // The plugin fetches it: the integration must have created it before answering.
      const { conversation } = await bot.getConversation({ id: conversationId })
      const s: HitlSession = { conversationId, downstreamUserId, ticketId: conversation.tags.id, messageHistory, active: false }
      await bot.updateConversation({
        id: upstreamConversation.id,
        tags: { downstream: conversationId, humanAgentId: '', humanAgentName: '', hitlEndReason: '' },
      })
      await bot.updateConversation({ id: conversationId, tags: { upstream: upstreamConversation.id } })
      sessions.push(s)
      session = s
      await setActive(s, true)
      scheduleAssignmentTimeout(s)
      return { conversationId, downstreamUserId, messageHistory, conversation: conversation as Conversation }
    },

    /** The bot (a flow) posts a notice to the agent in the hitl conversation: a message with no end user. */
    async botNotice(text: string) {
      if (!session?.active) throw new Error('no active hand-off session to send a bot notice to')
      return writeDownstream(session, 'text', { text })
    },

    /** Plugin `stopHitl` (the bot or flow ends the session): cancel notice to the agent, then the integration's stopHitl. */
    endSession: (reason: EndReason = 'close-action-called') => endSession(reason),

    on<E extends DriverEventName>(name: E, listener: (v: DriverEvents[E]) => void) {
      emitter.on(name, listener)
      return () => void emitter.off(name, listener)
    },

    /** The oldest not yet consumed event of that kind (those that happened before the call count), or waits for one. */
    next<E extends DriverEventName>(name: E, timeoutMs = 15_000): Promise<DriverEvents[E]> {
      const buffer = buffers.get(name)
      if (buffer?.length) return Promise.resolve(buffer.shift() as DriverEvents[E])
      return new Promise((resolve, reject) => {
        const list = waiters.get(name) ?? []
        const waiter = (v: unknown) => {
          clearTimeout(timer)
          resolve(v as DriverEvents[E])
        }
        const timer = setTimeout(() => {
          const i = list.indexOf(waiter)
          if (i >= 0) list.splice(i, 1)
          reject(new TimeoutError(`no ${name} within ${Math.round(timeoutMs / 100) / 10} s`))
        }, timeoutMs)
        list.push(waiter)
        waiters.set(name, list)
      })
    },

    /** Resolves when the work triggered by the integration so far is done. */
    idle: () => work,

    close() {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      offMessage()
      offEvent()
    },
  }

  /** The plugin's scheduled humanAgentAssignedTimeout event: ignored if an agent came or the session ended. */
  const timers = new Set<NodeJS.Timeout>()
  function scheduleAssignmentTimeout(s: HitlSession) {
    if (!opts.agentAssignedTimeoutSeconds) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      enqueue('agent assignment timeout', async () => {
        if (closed || !s.active || s.humanAgentId) return
        await endSession('agent-assignment-timeout', s)
      })
    }, opts.agentAssignedTimeoutSeconds * 1000)
    timers.add(timer)
  }

  /**
   * The plugin's order: cancel notice to the agent, both sides inactive, the integration's stopHitl, and only
   * then the user is told (so a failing stopHitl leaves the user untold, as in Botpress).
   */
  async function endSession(reason: EndReason, s = session) {
    if (!s?.active) return false
    if (messages.userCancelled !== null) await writeDownstream(s, 'text', { text: messages.userCancelled })
    await setActive(s, false)
    s.endReason = reason
    for (const id of [upstreamConversation.id, s.conversationId]) await bot.updateConversation({ id, tags: { hitlEndReason: reason } })
    ok('stopHitl', await opts.caller.action('stopHitl', { conversationId: s.conversationId }))
    if (reason === 'patient-used-termination-command') await botSays(messages.userClosed)
    if (reason === 'agent-assignment-timeout') await botSays(messages.agentAssignedTimeout)
    emit('ended', { at: new Date(), conversationId: s.conversationId, reason })
    return true
  }

  return driver
}
