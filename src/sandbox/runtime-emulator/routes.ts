// The runtime API operations: path + method, how the request is read into the client's own input type, and
// what the handler answers. Inputs/outputs are `ClientInputs[op]` / `ClientOutputs[op]`, so a change of the
// API in @botpress/client breaks type-checking here instead of drifting silently.
import type { ClientInputs, ClientOutputs, Conversation, Event, Message, State, User } from '@botpress/client'
import { invalidPayload, notFound } from './errors'
import {
  isObject,
  optAttributes,
  optEnum,
  optExpiry,
  optNullableObject,
  optNullableString,
  optObject,
  optSchedule,
  optString,
  optStringArray,
  optTags,
  queryArray,
  queryDate,
  queryEnum,
  queryString,
  queryTags,
  reqObject,
  reqString,
  reqTags,
  type Query,
} from './input'
import {
  STATE_TYPES,
  cleanTags,
  inDateRange,
  mergeTags,
  newId,
  now,
  paginate,
  sortByDate,
  stateKey,
  tagsFilter,
  tagsMatch,
  type StateType,
  type Store,
} from './store'

/** Who is calling, from the request headers. */
export type CallContext = { botId: string; integrationId?: string; integrationAlias?: string }

export type RouteRequest = { ctx: CallContext; params: Record<string, string>; query: Query; body: Record<string, unknown> }

type Op = keyof ClientInputs & keyof ClientOutputs
// Annotating each reader/handler with these (not just `define`'s generics) keeps excess-property checks on.
type In<K extends Op> = ClientInputs[K]
type Out<K extends Op> = ClientOutputs[K]

export type Route = {
  op: Op
  method: string
  pattern: RegExp
  paramNames: string[]
  status: number
  run: (r: RouteRequest) => unknown
}

export type RouteHooks = { messageCreated: (m: Message) => void; eventCreated: (e: Event) => void }

const define = <K extends Op>(
  op: K,
  method: string,
  path: string,
  read: (r: RouteRequest) => ClientInputs[K],
  handle: (input: ClientInputs[K], ctx: CallContext) => ClientOutputs[K],
  status = 200,
): Route => {
  const paramNames: string[] = []
  const source = path.replace(/:(\w+)/g, (_, name: string) => {
    paramNames.push(name)
    return '([^/]+)'
  })
  return { op, method, pattern: new RegExp(`^${source}$`), paramNames, status, run: (r) => handle(read(r), r.ctx) }
}

export type RouteMatch = { route: Route; params: Record<string, string> }

/** The route for `method path`, `'method-not-allowed'` when only the path is known, else undefined. */
export const matchRoute = (routes: Route[], method: string, path: string): RouteMatch | 'method-not-allowed' | undefined => {
  let pathKnown = false
  for (const route of routes) {
    const m = route.pattern.exec(path)
    if (!m) continue
    pathKnown = true
    if (route.method !== method) continue
    let params: Record<string, string>
    try {
      params = Object.fromEntries(route.paramNames.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]))
    } catch {
      throw invalidPayload(`malformed path ${path}`)
    }
    return { route, params }
  }
  return pathKnown ? 'method-not-allowed' : undefined
}

/** Drops `undefined` members so stored records and answers carry only the fields that are set. */
const compact = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

/**
 * The `integration` a record belongs to: the caller's alias (as the server sends it), else the body's
 * `integrationName` (bot callers), else the integration id.
 */
const integrationOf = (ctx: CallContext, integrationName?: string) => ctx.integrationAlias ?? integrationName ?? ctx.integrationId ?? ''

const sortDirection = ['asc', 'desc'] as const
const dateFields = ['createdAt', 'updatedAt'] as const
const eventStatuses = ['pending', 'ignored', 'processed', 'failed', 'scheduled'] as const

const stateParams = (r: RouteRequest) => {
  const type = r.params.type as StateType
  if (!STATE_TYPES.includes(type)) throw invalidPayload(`state type must be one of ${STATE_TYPES.join(', ')}`)
  return { type, id: r.params.id!, name: r.params.name! }
}

/** Where a file's bytes go and are served (the emulator's own file host, see fileHost.ts). */
export type FileUrls = (file: { id: string; key: string }, uploadToken: string) => { url: string; uploadUrl: string }

/** `size`: a whole number of bytes (the API refuses others). */
const reqSize = (b: Record<string, unknown>, key: string): number => {
  const v = b[key]
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidPayload(`"${key}" must be a whole number of bytes (got ${JSON.stringify(v)})`)
  return v
}

const accessPolicies = ['integrations', 'public_content'] as const

export const createRoutes = (store: Store, hooks: RouteHooks, pageSize: number, fileUrls: FileUrls): Route[] => {
  const list = <T>(items: T[], nextToken: string | undefined) => {
    const page = paginate(items, nextToken, pageSize)
    return { items: page.items, meta: compact({ nextToken: page.nextToken }) }
  }

  // --- users ---------------------------------------------------------------------------------------------

  const readUserBody = (b: Record<string, unknown>): In<'createUser'> => ({
    tags: reqTags(b, 'tags'),
    integrationName: optString(b, 'integrationName'),
    name: optString(b, 'name'),
    pictureUrl: optString(b, 'pictureUrl'),
    attributes: optTags(b, 'attributes'),
  })

  const createUser = (input: In<'createUser'>, ctx: CallContext): User => {
    const t = now()
    const user = compact<User>({
      id: newId('user'),
      createdAt: t,
      updatedAt: t,
      tags: cleanTags(input.tags),
      name: input.name,
      pictureUrl: input.pictureUrl,
      attributes: input.attributes && cleanTags(input.attributes),
    })
    store.userIntegration.set(user.id, integrationOf(ctx, input.integrationName))
    return store.add('users', user, ctx.botId)
  }

  // --- conversations -------------------------------------------------------------------------------------

  const createConversation = (input: In<'createConversation'>, ctx: CallContext): Conversation => {
    const t = now()
    const conversation: Conversation = {
      id: newId('conv'),
      createdAt: t,
      updatedAt: t,
      channel: input.channel,
      integration: integrationOf(ctx, input.integrationName),
      tags: cleanTags(input.tags),
    }
    return store.add('conversations', conversation, ctx.botId)
  }

  // --- messages ------------------------------------------------------------------------------------------

  const readMessageBody = (b: Record<string, unknown>): In<'createMessage'> => ({
    payload: reqObject(b, 'payload'),
    userId: reqString(b, 'userId'),
    conversationId: reqString(b, 'conversationId'),
    type: reqString(b, 'type'),
    tags: reqTags(b, 'tags'),
    schedule: optSchedule(b, 'schedule'),
    origin: optEnum(b, 'origin', ['synthetic'] as const),
  })

  /**
   * Direction, simplified: a message written by an integration (`x-integration-id` present) comes *into* the
   * bot (`incoming`, e.g. an agent's reply); one written by the bot goes out to the channel (`outgoing`).
   * `schedule` is accepted but the message is created at once.
   */
  const createMessage = (input: In<'createMessage'>, ctx: CallContext): Message => {
    store.get('conversations', input.conversationId, ctx.botId)
    store.get('users', input.userId, ctx.botId)
    const t = now()
    const message = compact<Message>({
      id: newId('msg'),
      createdAt: t,
      updatedAt: t,
      type: input.type,
      payload: input.payload,
      direction: ctx.integrationId !== undefined ? 'incoming' : 'outgoing',
      userId: input.userId,
      conversationId: input.conversationId,
      tags: cleanTags(input.tags),
      origin: input.origin,
    })
    store.add('messages', message, ctx.botId)
    store.addParticipant(message.conversationId, message.userId)
    hooks.messageCreated(message)
    return message
  }

  // --- states --------------------------------------------------------------------------------------------

  /**
   * Writes a state. `expiry` (ms): a positive number sets it, `null` or 0 removes it, absent keeps the current
   * one. Every write restarts the idle countdown; reads do not.
   */
  const writeState = (
    ctx: CallContext,
    p: { type: StateType; id: string; name: string },
    payload: Record<string, unknown>,
    expiry: number | null | undefined,
  ): State => {
    const key = stateKey(ctx.botId, p.type, p.id, p.name)
    const existing = store.liveState(key)
    const t = now()
    const state: State = existing
      ? { ...existing.state, payload, updatedAt: t }
      : compact<State>({
          id: newId('state'),
          createdAt: t,
          updatedAt: t,
          botId: ctx.botId,
          conversationId: p.type === 'conversation' ? p.id : undefined,
          userId: p.type === 'user' ? p.id : undefined,
          name: p.name,
          type: p.type,
          payload,
        })
    const kept = expiry === undefined ? (existing?.expiry ?? null) : expiry || null
    store.data.states.set(key, { state, expiry: kept, expiresAt: kept ? Date.now() + kept : null })
    return state
  }

  const liveStateOr404 = (ctx: CallContext, p: { type: string; id: string; name: string }) => {
    const entry = store.liveState(stateKey(ctx.botId, p.type, p.id, p.name))
    if (!entry) throw notFound(`State ${p.type}/${p.id}/${p.name} not found`)
    return entry
  }

  // --- the table -----------------------------------------------------------------------------------------

  return [
    define(
      'getOrCreateUser',
      'POST',
      '/v1/chat/users/get-or-create',
      (r): In<'getOrCreateUser'> => ({ ...readUserBody(r.body), discriminateByTags: optStringArray(r.body, 'discriminateByTags') }),
      (input, ctx): Out<'getOrCreateUser'> => {
        const integration = integrationOf(ctx, input.integrationName)
        const found = store
          .all('users', ctx.botId)
          .find((u) => store.userIntegration.get(u.id) === integration && tagsMatch(u.tags, input.tags, input.discriminateByTags))
        return { user: found ?? createUser(input, ctx) }
      },
    ),
    define(
      'createUser',
      'POST',
      '/v1/chat/users',
      (r): In<'createUser'> => readUserBody(r.body),
      (input, ctx): Out<'createUser'> => ({ user: createUser(input, ctx) }),
      201,
    ),
    define(
      'getUser',
      'GET',
      '/v1/chat/users/:id',
      (r): In<'getUser'> => ({ id: r.params.id! }),
      (input, ctx): Out<'getUser'> => ({ user: store.get('users', input.id, ctx.botId) }),
    ),
    define(
      'updateUser',
      'PUT',
      '/v1/chat/users/:id',
      (r): In<'updateUser'> => ({
        id: r.params.id!,
        tags: optTags(r.body, 'tags'),
        name: optNullableString(r.body, 'name'),
        pictureUrl: optNullableString(r.body, 'pictureUrl'),
        attributes: optAttributes(r.body, 'attributes'),
      }),
      (input, ctx): Out<'updateUser'> => {
        const user = store.get('users', input.id, ctx.botId)
        if (input.tags) user.tags = mergeTags(user.tags, input.tags)
        for (const field of ['name', 'pictureUrl'] as const) {
          const v = input[field]
          if (v === null) delete user[field]
          else if (v !== undefined) user[field] = v
        }
        if (input.attributes) {
          const attributes = { ...user.attributes }
          for (const [k, v] of Object.entries(input.attributes)) {
            if (v === null || v === '') delete attributes[k]
            else attributes[k] = v
          }
          user.attributes = attributes
        }
        user.updatedAt = now()
        return { user }
      },
    ),
    define(
      'listUsers',
      'GET',
      '/v1/chat/users',
      (r): In<'listUsers'> => ({
        nextToken: queryString(r.query, 'nextToken'),
        conversationId: queryString(r.query, 'conversationId'),
        tags: queryTags(r.query),
        afterDate: queryDate(r.query, 'afterDate'),
        beforeDate: queryDate(r.query, 'beforeDate'),
        rangeField: queryEnum(r.query, 'rangeField', dateFields),
        sortField: queryEnum(r.query, 'sortField', dateFields),
        sortDirection: queryEnum(r.query, 'sortDirection', sortDirection),
      }),
      (input, ctx): Out<'listUsers'> => {
        const members = input.conversationId !== undefined ? (store.participants.get(input.conversationId) ?? new Set()) : undefined
        const users = store
          .all('users', ctx.botId)
          .filter((u) => tagsFilter(u.tags, input.tags))
          .filter((u) => !members || members.has(u.id))
          .filter((u) => inDateRange(u[input.rangeField ?? 'createdAt'], input.afterDate, input.beforeDate))
        const sorted = sortByDate(users, (u) => u[input.sortField ?? 'createdAt'], input.sortDirection ?? 'desc')
        const { items, meta } = list(sorted, input.nextToken)
        return { users: items, meta }
      },
    ),
    define(
      'deleteUser',
      'DELETE',
      '/v1/chat/users/:id',
      (r): In<'deleteUser'> => ({ id: r.params.id! }),
      (input, ctx): Out<'deleteUser'> => {
        store.get('users', input.id, ctx.botId)
        store.remove('users', input.id)
        return {}
      },
    ),

    define(
      'getOrCreateConversation',
      'POST',
      '/v1/chat/conversations/get-or-create',
      (r): In<'getOrCreateConversation'> => ({
        channel: reqString(r.body, 'channel'),
        tags: reqTags(r.body, 'tags'),
        integrationName: optString(r.body, 'integrationName'),
        discriminateByTags: optStringArray(r.body, 'discriminateByTags'),
      }),
      (input, ctx): Out<'getOrCreateConversation'> => {
        const integration = integrationOf(ctx, input.integrationName)
        const found = store
          .all('conversations', ctx.botId)
          .find((c) => c.channel === input.channel && c.integration === integration && tagsMatch(c.tags, input.tags, input.discriminateByTags))
        return { conversation: found ?? createConversation(input, ctx) }
      },
    ),
    define(
      'createConversation',
      'POST',
      '/v1/chat/conversations',
      (r): In<'createConversation'> => ({
        channel: reqString(r.body, 'channel'),
        tags: reqTags(r.body, 'tags'),
        integrationName: optString(r.body, 'integrationName'),
      }),
      (input, ctx): Out<'createConversation'> => ({ conversation: createConversation(input, ctx) }),
      201,
    ),
    define(
      'getConversation',
      'GET',
      '/v1/chat/conversations/:id',
      (r): In<'getConversation'> => ({ id: r.params.id! }),
      (input, ctx): Out<'getConversation'> => ({ conversation: store.get('conversations', input.id, ctx.botId) }),
    ),
    define(
      'updateConversation',
      'PUT',
      '/v1/chat/conversations/:id',
      (r): In<'updateConversation'> => ({ id: r.params.id!, currentTaskId: optString(r.body, 'currentTaskId'), tags: optTags(r.body, 'tags') }),
      (input, ctx): Out<'updateConversation'> => {
        const conversation = store.get('conversations', input.id, ctx.botId)
        if (input.tags) conversation.tags = mergeTags(conversation.tags, input.tags)
        if (input.currentTaskId !== undefined) conversation.currentTaskId = input.currentTaskId
        conversation.updatedAt = now()
        return { conversation }
      },
    ),
    define(
      'listConversations',
      'GET',
      '/v1/chat/conversations',
      (r): In<'listConversations'> => ({
        nextToken: queryString(r.query, 'nextToken'),
        sortField: queryEnum(r.query, 'sortField', dateFields),
        sortDirection: queryEnum(r.query, 'sortDirection', sortDirection),
        tags: queryTags(r.query),
        participantIds: queryArray(r.query, 'participantIds'),
        integrationName: queryString(r.query, 'integrationName'),
        channel: queryString(r.query, 'channel'),
        afterDate: queryDate(r.query, 'afterDate'),
        beforeDate: queryDate(r.query, 'beforeDate'),
      }),
      (input, ctx): Out<'listConversations'> => {
        const conversations = store
          .all('conversations', ctx.botId)
          .filter((c) => tagsFilter(c.tags, input.tags))
          .filter((c) => input.channel === undefined || c.channel === input.channel)
          .filter((c) => input.integrationName === undefined || c.integration === input.integrationName)
          .filter((c) => (input.participantIds ?? []).every((id) => store.participants.get(c.id)?.has(id)))
          .filter((c) => inDateRange(c.createdAt, input.afterDate, input.beforeDate))
        const sorted = sortByDate(conversations, (c) => c[input.sortField ?? 'createdAt'], input.sortDirection ?? 'desc')
        const { items, meta } = list(sorted, input.nextToken)
        return { conversations: items, meta }
      },
    ),
    define(
      'deleteConversation',
      'DELETE',
      '/v1/chat/conversations/:id',
      (r): In<'deleteConversation'> => ({ id: r.params.id! }),
      (input, ctx): Out<'deleteConversation'> => {
        store.get('conversations', input.id, ctx.botId)
        store.remove('conversations', input.id)
        return {}
      },
    ),
    define(
      'listParticipants',
      'GET',
      '/v1/chat/conversations/:id/participants',
      (r): In<'listParticipants'> => ({ id: r.params.id!, nextToken: queryString(r.query, 'nextToken') }),
      (input, ctx): Out<'listParticipants'> => {
        store.get('conversations', input.id, ctx.botId)
        const ids = [...(store.participants.get(input.id) ?? [])]
        const users = ids.map((id) => store.find('users', id, ctx.botId)).filter((u): u is User => u !== undefined)
        const { items, meta } = list(users, input.nextToken)
        return { participants: items, meta }
      },
    ),

    define(
      'createMessage',
      'POST',
      '/v1/chat/messages',
      (r): In<'createMessage'> => readMessageBody(r.body),
      (input, ctx): Out<'createMessage'> => ({ message: createMessage(input, ctx) }),
      201,
    ),
    define(
      'getOrCreateMessage',
      'POST',
      '/v1/chat/messages/get-or-create',
      (r): In<'getOrCreateMessage'> => ({ ...readMessageBody(r.body), discriminateByTags: optStringArray(r.body, 'discriminateByTags') }),
      (input, ctx): Out<'getOrCreateMessage'> => {
        const found = store
          .all('messages', ctx.botId)
          .find((m) => m.conversationId === input.conversationId && tagsMatch(m.tags, input.tags, input.discriminateByTags))
        return { message: found ?? createMessage(input, ctx) }
      },
    ),
    define(
      'getMessage',
      'GET',
      '/v1/chat/messages/:id',
      (r): In<'getMessage'> => ({ id: r.params.id! }),
      (input, ctx): Out<'getMessage'> => ({ message: store.get('messages', input.id, ctx.botId) }),
    ),
    define(
      'updateMessage',
      'PUT',
      '/v1/chat/messages/:id',
      (r): In<'updateMessage'> => ({ id: r.params.id!, tags: reqTags(r.body, 'tags'), payload: optObject(r.body, 'payload') }),
      (input, ctx): Out<'updateMessage'> => {
        const message = store.get('messages', input.id, ctx.botId)
        message.tags = mergeTags(message.tags, input.tags)
        if (input.payload) message.payload = input.payload
        message.updatedAt = now()
        return { message }
      },
    ),
    define(
      'listMessages',
      'GET',
      '/v1/chat/messages',
      (r): In<'listMessages'> => ({
        nextToken: queryString(r.query, 'nextToken'),
        conversationId: queryString(r.query, 'conversationId'),
        tags: queryTags(r.query),
        afterDate: queryDate(r.query, 'afterDate'),
        beforeDate: queryDate(r.query, 'beforeDate'),
      }),
      (input, ctx): Out<'listMessages'> => {
        const messages = store
          .all('messages', ctx.botId)
          .filter((m) => input.conversationId === undefined || m.conversationId === input.conversationId)
          .filter((m) => tagsFilter(m.tags, input.tags))
          .filter((m) => inDateRange(m.createdAt, input.afterDate, input.beforeDate))
        const { items, meta } = list(
          sortByDate(messages, (m) => m.createdAt, 'desc'),
          input.nextToken,
        )
        return { messages: items, meta }
      },
    ),
    define(
      'deleteMessage',
      'DELETE',
      '/v1/chat/messages/:id',
      (r): In<'deleteMessage'> => ({ id: r.params.id! }),
      (input, ctx): Out<'deleteMessage'> => {
        store.get('messages', input.id, ctx.botId)
        store.remove('messages', input.id)
        return {}
      },
    ),

    define(
      'createEvent',
      'POST',
      '/v1/chat/events',
      (r): In<'createEvent'> => ({
        type: reqString(r.body, 'type'),
        payload: reqObject(r.body, 'payload'),
        schedule: optSchedule(r.body, 'schedule'),
        conversationId: optString(r.body, 'conversationId'),
        userId: optString(r.body, 'userId'),
        workflowId: optString(r.body, 'workflowId'),
        messageId: optString(r.body, 'messageId'),
      }),
      (input, ctx): Out<'createEvent'> => {
        if (input.conversationId !== undefined) store.get('conversations', input.conversationId, ctx.botId)
        if (input.userId !== undefined) store.get('users', input.userId, ctx.botId)
        if (input.messageId !== undefined) store.get('messages', input.messageId, ctx.botId)
        // Scheduled events are only marked as such: nothing delivers them later.
        const event = compact<Event>({
          id: newId('evt'),
          createdAt: now(),
          type: input.type,
          payload: input.payload,
          conversationId: input.conversationId,
          userId: input.userId,
          messageId: input.messageId,
          status: input.schedule ? 'scheduled' : 'pending',
          failureReason: null,
        })
        store.add('events', event, ctx.botId)
        hooks.eventCreated(event)
        return { event }
      },
      201,
    ),
    define(
      'getEvent',
      'GET',
      '/v1/chat/events/:id',
      (r): In<'getEvent'> => ({ id: r.params.id! }),
      (input, ctx): Out<'getEvent'> => ({ event: store.get('events', input.id, ctx.botId) }),
    ),
    define(
      'listEvents',
      'GET',
      '/v1/chat/events',
      (r): In<'listEvents'> => ({
        nextToken: queryString(r.query, 'nextToken'),
        type: queryString(r.query, 'type'),
        conversationId: queryString(r.query, 'conversationId'),
        userId: queryString(r.query, 'userId'),
        messageId: queryString(r.query, 'messageId'),
        workflowId: queryString(r.query, 'workflowId'),
        status: queryEnum(r.query, 'status', eventStatuses),
      }),
      (input, ctx): Out<'listEvents'> => {
        const events = store
          .all('events', ctx.botId)
          .filter((e) => input.type === undefined || e.type === input.type)
          .filter((e) => input.conversationId === undefined || e.conversationId === input.conversationId)
          .filter((e) => input.userId === undefined || e.userId === input.userId)
          .filter((e) => input.messageId === undefined || e.messageId === input.messageId)
          .filter((e) => input.status === undefined || e.status === input.status)
        const { items, meta } = list(
          sortByDate(events, (e) => e.createdAt, 'desc'),
          input.nextToken,
        )
        return { events: items, meta }
      },
    ),

    define(
      'getState',
      'GET',
      '/v1/chat/states/:type/:id/:name',
      (r): In<'getState'> => stateParams(r),
      (input, ctx): Out<'getState'> => ({ state: liveStateOr404(ctx, input).state, meta: { cached: false } }),
    ),
    define(
      'setState',
      'POST',
      '/v1/chat/states/:type/:id/:name',
      (r): In<'setState'> => {
        const payload = optNullableObject(r.body, 'payload')
        if (payload === undefined) throw invalidPayload('"payload" is required (an object, or null to delete the state)')
        return { ...stateParams(r), payload, expiry: optExpiry(r.body, 'expiry') }
      },
      (input, ctx): Out<'setState'> => {
        if (input.payload !== null) return { state: writeState(ctx, input, input.payload, input.expiry) }
        // `payload: null` deletes the state (what the sdk's state `delete` sends); answer what was removed.
        const key = stateKey(ctx.botId, input.type, input.id, input.name)
        const removed = store.liveState(key)
        store.data.states.delete(key)
        const t = now()
        const state: State = removed
          ? { ...removed.state, payload: {} }
          : compact<State>({ id: newId('state'), createdAt: t, updatedAt: t, botId: ctx.botId, name: input.name, type: input.type, payload: {} })
        return { state }
      },
    ),
    define(
      'getOrSetState',
      'POST',
      '/v1/chat/states/:type/:id/:name/get-or-set',
      (r): In<'getOrSetState'> => ({ ...stateParams(r), payload: reqObject(r.body, 'payload'), expiry: optExpiry(r.body, 'expiry') }),
      (input, ctx): Out<'getOrSetState'> => {
        const existing = store.liveState(stateKey(ctx.botId, input.type, input.id, input.name))
        return { state: existing?.state ?? writeState(ctx, input, input.payload, input.expiry), meta: { cached: false } }
      },
    ),
    define(
      'patchState',
      'PATCH',
      '/v1/chat/states/:type/:id/:name',
      (r): In<'patchState'> => ({ ...stateParams(r), payload: reqObject(r.body, 'payload') }),
      (input, ctx): Out<'patchState'> => {
        const entry = liveStateOr404(ctx, input)
        return { state: writeState(ctx, input, { ...entry.state.payload, ...input.payload }, undefined) }
      },
    ),
    define(
      'setStateExpiry',
      'POST',
      '/v1/chat/states/:type/:id/:name/expiry',
      (r): In<'setStateExpiry'> => {
        const expiry = optExpiry(r.body, 'expiry')
        if (expiry === undefined) throw invalidPayload('"expiry" is required (milliseconds, or null)')
        return { ...stateParams(r), expiry }
      },
      (input, ctx): Out<'setStateExpiry'> => {
        const entry = liveStateOr404(ctx, input)
        return { state: writeState(ctx, input, entry.state.payload, input.expiry) }
      },
    ),

    // A file is created (or replaced, same key, same bot) as `upload_pending`; its bytes go by PUT to
    // `uploadUrl` (fileHost.ts), which completes it. Indexing is accepted but never runs.
    define(
      'upsertFile',
      'PUT',
      '/v1/files',
      (r): In<'upsertFile'> => {
        const policies = r.body.accessPolicies
        if (policies !== undefined && (!Array.isArray(policies) || policies.some((p) => !accessPolicies.includes(p))))
          throw invalidPayload(`"accessPolicies" must be a list of ${accessPolicies.join(', ')}`)
        return {
          key: reqString(r.body, 'key'),
          size: reqSize(r.body, 'size'),
          tags: optTags(r.body, 'tags'),
          contentType: optString(r.body, 'contentType'),
          accessPolicies: policies as In<'upsertFile'>['accessPolicies'],
          index: r.body.index === undefined ? undefined : r.body.index === true,
          expiresAt: optString(r.body, 'expiresAt'),
          publicContentImmediatelyAccessible:
            r.body.publicContentImmediatelyAccessible === undefined ? undefined : r.body.publicContentImmediatelyAccessible === true,
          metadata: optObject(r.body, 'metadata'),
        }
      },
      (input, ctx): Out<'upsertFile'> => {
        if (input.key === '') throw invalidPayload('"key" must not be empty')
        const previous = [...store.data.files.values()].find((f) => f.file.botId === ctx.botId && f.file.key === input.key)
        const id = previous?.file.id ?? newId('file')
        const uploadToken = newId('upload')
        const t = now()
        const file: Out<'upsertFile'>['file'] = compact({
          id,
          botId: ctx.botId,
          key: input.key,
          ...fileUrls({ id, key: input.key }, uploadToken),
          size: input.size,
          // The API guesses from the key when none is given; the emulator does not guess.
          contentType: input.contentType ?? 'application/octet-stream',
          tags: input.tags ?? {},
          metadata: input.metadata ?? {},
          createdAt: previous?.file.createdAt ?? t,
          updatedAt: t,
          accessPolicies: input.accessPolicies ?? [],
          index: input.index ?? false,
          status: 'upload_pending' as const,
          expiresAt: input.expiresAt,
          owner:
            ctx.integrationId !== undefined
              ? { type: 'integration' as const, id: ctx.integrationId, alias: ctx.integrationAlias }
              : { type: 'bot' as const, id: ctx.botId },
        })
        store.data.files.set(id, { file, uploadToken })
        return { file }
      },
    ),

    // Accepted and recorded only: there is no integration registration to configure here.
    define(
      'configureIntegration',
      'POST',
      '/v1/chat/integrations/configure',
      (r): In<'configureIntegration'> => {
        const sandboxIdentifiers = r.body.sandboxIdentifiers
        if (sandboxIdentifiers !== undefined && sandboxIdentifiers !== null && !isObject(sandboxIdentifiers))
          throw invalidPayload('"sandboxIdentifiers" must be an object or null')
        return {
          identifier: optNullableString(r.body, 'identifier'),
          scheduleRegisterCall: optEnum(r.body, 'scheduleRegisterCall', [
            'hourly',
            'daily',
            'weekly',
            'bi-weekly',
            'monthly',
            'bi-monthly',
            'quarterly',
            'yearly',
          ] as const),
          sandboxIdentifiers,
        }
      },
      (): Out<'configureIntegration'> => ({}),
    ),
  ]
}
