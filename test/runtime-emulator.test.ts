import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Client, InvalidPayloadError, isApiError, ResourceNotFoundError, UnauthorizedError, type ApiError, type Message, type Event } from '@botpress/client'
import { declaredTagsOf, startRuntimeEmulator, stateKey, type RuntimeEmulator } from '../src/sandbox/runtime-emulator'

let emu: RuntimeEmulator

beforeAll(async () => {
  emu = await startRuntimeEmulator({ token: 'tok' })
})
afterAll(async () => {
  await emu.close()
})
beforeEach(() => {
  emu.clearCalls()
  emu.clearFaults()
})

// No `retry` option: the raw client then never retries, so injected 5xx/429 fail at once.
const integration = (props: { integrationAlias?: string; token?: string; botId?: string } = {}) =>
  new Client({ apiUrl: emu.url, botId: 'bot_1', integrationId: 'int_1', token: 'tok', ...props })
const bot = (botId = 'bot_1') => new Client({ apiUrl: emu.url, botId, token: 'tok' })

/** The API error a call rejects with (fails the test if it resolves or throws something else). */
const rejection = async (p: Promise<unknown>): Promise<ApiError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (!isApiError(e)) throw new Error(`expected an API error, got ${String(e)}`)
  return e
}

let seq = 0
/** Tag values unique to one test, since all tests share one emulator. */
const uniq = (s: string) => `${s} ${++seq}`

const ID = /^(user|conv|msg|evt|state)_[0-9A-Z]{26}$/

describe('users', () => {
  it('get-or-create matches on all given tags, or only on discriminateByTags', async () => {
    const client = integration()
    const id = uniq('U')
    const { user } = await client.getOrCreateUser({ tags: { id, email: 'a@x' }, name: 'Ann' })
    expect(user.id).toMatch(ID)
    expect(user.id.length).toBeGreaterThanOrEqual(28)
    expect(user).toMatchObject({ tags: { id, email: 'a@x' }, name: 'Ann' })

    const again = await client.getOrCreateUser({ tags: { id, email: 'a@x' } })
    expect(again.user.id).toBe(user.id)

    // Another email: without discriminateByTags every tag counts, so this is someone else...
    const other = await client.getOrCreateUser({ tags: { id, email: 'b@x' } })
    expect(other.user.id).not.toBe(user.id)
    // ...with it, only `id` is compared and the first user is found.
    const byId = await client.getOrCreateUser({ tags: { id, email: 'c@x' }, discriminateByTags: ['id'] })
    expect(byId.user.id).toBe(user.id)
  })

  it('creates (201), gets, updates (empty tag unsets, null clears) and lists by tags', async () => {
    const client = integration()
    const id = uniq('T 1') // a space, to exercise query-string decoding
    const { user } = await client.createUser({ tags: { id, role: 'agent' }, name: 'Bo', pictureUrl: 'http://p' })
    expect(emu.callsTo('POST', '/v1/chat/users').at(-1)?.status).toBe(201)
    expect((await client.getUser({ id: user.id })).user).toEqual(user)

    const { user: updated } = await client.updateUser({ id: user.id, tags: { role: '', team: 'x' }, name: null, attributes: { a: '1' } })
    expect(updated.tags).toEqual({ id, team: 'x' })
    expect(updated.name).toBeUndefined()
    expect(updated.pictureUrl).toBe('http://p')
    expect(updated.attributes).toEqual({ a: '1' })

    const { users } = await client.listUsers({ tags: { id } })
    expect(users.map((u) => u.id)).toEqual([user.id])
    expect(emu.callsTo('GET', '/v1/chat/users').at(-1)?.query).toEqual({ 'tags.id': id })
  })
})

describe('conversations', () => {
  it('get-or-create by channel and tags, with and without discriminateByTags', async () => {
    const client = integration()
    const ticket = uniq('T')
    const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: ticket, status: 'open' } })
    expect(conversation).toMatchObject({ channel: 'hitl', integration: 'int_1', tags: { id: ticket, status: 'open' } })
    expect(conversation.id).toMatch(ID)

    const same = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: ticket, status: 'open' } })
    expect(same.conversation.id).toBe(conversation.id)
    const otherStatus = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: ticket, status: 'closed' } })
    expect(otherStatus.conversation.id).not.toBe(conversation.id)
    const byId = await client.getOrCreateConversation({
      channel: 'hitl',
      tags: { id: ticket, status: 'pending' },
      discriminateByTags: ['id'],
    })
    expect(byId.conversation.id).toBe(conversation.id)
    const otherChannel = await client.getOrCreateConversation({ channel: 'other', tags: { id: ticket, status: 'open' } })
    expect(otherChannel.conversation.id).not.toBe(conversation.id)
  })

  it('uses the integration alias header as `integration`', async () => {
    const { conversation } = await integration({ integrationAlias: 'helpdesk' }).createConversation({
      channel: 'hitl',
      tags: { id: uniq('A') },
    })
    expect(conversation.integration).toBe('helpdesk')
  })

  it('updates tags and lists by tags and channel', async () => {
    const client = integration()
    const ticket = uniq('T 1')
    const { conversation } = await client.createConversation({ channel: 'hitl', tags: { id: ticket } })
    await client.createConversation({ channel: 'other', tags: { id: ticket } })

    const { conversation: updated } = await client.updateConversation({ id: conversation.id, tags: { agent: 'a1' } })
    expect(updated.tags).toEqual({ id: ticket, agent: 'a1' })

    const { conversations } = await client.listConversations({ tags: { id: ticket }, channel: 'hitl' })
    expect(conversations.map((c) => c.id)).toEqual([conversation.id])
    expect(emu.callsTo('GET', '/v1/chat/conversations').at(-1)?.query).toEqual({ 'tags.id': ticket, channel: 'hitl' })
    expect((await client.listConversations({ tags: { id: ticket } })).conversations).toHaveLength(2)
  })
})

describe('messages', () => {
  const setup = async () => {
    const client = integration()
    const { user } = await client.getOrCreateUser({ tags: { id: uniq('agent') } })
    const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: uniq('T') } })
    return { client, user, conversation }
  }

  it('creates (incoming from an integration, outgoing from a bot), acks via update, lists by tag', async () => {
    const { client, user, conversation } = await setup()
    const seen: Message[] = []
    const off = emu.onMessageCreated((m) => seen.push(m))

    const { message } = await client.createMessage({
      conversationId: conversation.id,
      userId: user.id,
      type: 'text',
      payload: { text: 'hi' },
      tags: { id: 'm1' },
    })
    expect(message).toMatchObject({ direction: 'incoming', type: 'text', payload: { text: 'hi' }, tags: { id: 'm1' } })
    expect(message.id).toMatch(ID)

    const fromBot = await bot().createMessage({
      conversationId: conversation.id,
      userId: user.id,
      type: 'text',
      payload: { text: 'to agent' },
      tags: {},
    })
    expect(fromBot.message.direction).toBe('outgoing')
    off()
    expect(seen.map((m) => m.id)).toEqual([message.id, fromBot.message.id])

    const { message: acked } = await client.updateMessage({ id: message.id, tags: { ack: 'done' } })
    expect(acked.tags).toEqual({ id: 'm1', ack: 'done' })
    expect((await client.getMessage({ id: message.id })).message.tags.ack).toBe('done')

    const byTag = await client.listMessages({ conversationId: conversation.id, tags: { id: 'm1' } })
    expect(byTag.messages.map((m) => m.id)).toEqual([message.id])
    const all = await client.listMessages({ conversationId: conversation.id })
    expect(all.messages.map((m) => m.id)).toEqual([fromBot.message.id, message.id]) // newest first
  })

  it('get-or-create de-duplicates by tags within a conversation', async () => {
    const { client, user, conversation } = await setup()
    const input = { conversationId: conversation.id, userId: user.id, type: 'text', payload: { text: 'x' }, tags: { id: 'dup' } }
    const first = await client.getOrCreateMessage(input)
    const second = await client.getOrCreateMessage({ ...input, payload: { text: 'y' } })
    expect(second.message.id).toBe(first.message.id)
    expect(second.message.payload).toEqual({ text: 'x' })
  })

  it('rejects a message in an unknown conversation with 404 and one without userId with 400', async () => {
    const { client, user, conversation } = await setup()
    const missing = await rejection(
      client.createMessage({ conversationId: 'conv_01NOPE0000000000000000000000', userId: user.id, type: 'text', payload: {}, tags: {} }),
    )
    expect(missing).toBeInstanceOf(ResourceNotFoundError)
    expect(missing.code).toBe(404)

    const bad = await rejection(
      client.createMessage({ conversationId: conversation.id, type: 'text', payload: {}, tags: {} } as unknown as Parameters<Client['createMessage']>[0]),
    )
    expect(bad).toBeInstanceOf(InvalidPayloadError)
    expect(bad.type).toBe('InvalidPayload')
    expect(bad.code).toBe(400)
  })
})

describe('request rules (as strict as the runtime API)', () => {
  const refused = async (p: Promise<unknown>, message: RegExp) => {
    const e = await rejection(p)
    expect(e).toBeInstanceOf(InvalidPayloadError)
    expect(e.code).toBe(400)
    expect(e.message).toMatch(message)
  }

  it('refuses an unknown body field, a channel name over 200 and a user name over 200 characters', async () => {
    const client = integration()
    // The client only sends the fields it knows, so an unknown one comes from raw HTTP (or an out-of-date client).
    const raw = await fetch(`${emu.url}/v1/chat/users/get-or-create`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok', 'x-bot-id': 'bot_1', 'x-integration-id': 'int_1', 'content-type': 'application/json' },
      body: JSON.stringify({ tags: {}, name: 'Jane', nickname: 'J' }),
    })
    expect(raw.status).toBe(400)
    expect(await raw.json()).toMatchObject({
      code: 400,
      type: 'InvalidPayload',
      message: expect.stringMatching(/"nickname" is not a field of getOrCreateUser/),
    })
    await refused(client.getOrCreateConversation({ channel: 'c'.repeat(201), tags: {} }), /"channel" must be at most 200 characters/)
    await refused(client.createUser({ tags: {}, name: 'n'.repeat(201) }), /"name" must be at most 200 characters/)
    // At the limits, the same requests pass.
    const { user } = await client.createUser({ tags: {}, name: 'n'.repeat(200) })
    expect(user.name).toHaveLength(200)
    const { conversation } = await client.getOrCreateConversation({ channel: 'c'.repeat(200), tags: { k: uniq('x') } })
    expect(conversation.channel).toHaveLength(200)
  })

  it('refuses malformed ids, missing required fields and tag values over 500 characters', async () => {
    const client = integration()
    const { user } = await client.createUser({ tags: {} })
    const { conversation } = await client.createConversation({ channel: 'c', tags: {} })
    await refused(
      client.createMessage({ conversationId: 'conv_1', userId: user.id, type: 'text', payload: {}, tags: {} }),
      /"conversationId" must be an id of 28 to 36 characters/,
    )
    await refused(client.createEvent({ type: 'x', payload: {}, userId: 'u' }), /"userId" must be an id/)
    await refused(client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: {} } as never), /"tags" is required/)
    await refused(client.updateUser({ id: user.id, tags: { id: 'v'.repeat(501) } }), /"tags.id" must be at most 500 characters/)
    await refused(client.createEvent({ type: 't'.repeat(201), payload: {} }), /"type" must be at most 200/)
    expect((await client.updateUser({ id: user.id, tags: { id: 'v'.repeat(500) } })).user.tags.id).toHaveLength(500)
  })
})

describe('declared tags', () => {
  it('an integration may only write the tags it declared; bots and undeclared integrations are not checked', async () => {
    const strict = await startRuntimeEmulator({
      integrationTags: {
        int_1: declaredTagsOf({ user: { tags: { id: {} } }, channels: { hitl: { conversation: { tags: { id: {} } }, message: { tags: { id: {} } } } } }),
      },
    })
    try {
      const client = new Client({ apiUrl: strict.url, botId: 'bot_1', integrationId: 'int_1' })
      const e = await rejection(client.createUser({ tags: { id: '1', nickname: 'x' } }))
      expect(e).toBeInstanceOf(InvalidPayloadError)
      expect(e.message).toMatch(/tag "nickname" is not a user tag of this integration; declared: id/)
      await rejection(client.getOrCreateConversation({ channel: 'hitl', tags: { other: 'x' } }))
      const { user } = await client.createUser({ tags: { id: '1' } })
      expect(user.tags).toEqual({ id: '1' })
      // The bot (the HITL plugin) writes its own tags, and another integration is not described here.
      expect((await new Client({ apiUrl: strict.url, botId: 'bot_1' }).updateUser({ id: user.id, tags: { downstream: 'x' } })).user.tags.downstream).toBe('x')
      expect((await new Client({ apiUrl: strict.url, botId: 'bot_1', integrationId: 'int_2' }).createUser({ tags: { any: 'y' } })).user.tags).toEqual({
        any: 'y',
      })
    } finally {
      await strict.close()
    }
  })
})

describe('events', () => {
  it('creates, gets and lists events, and notifies listeners', async () => {
    const client = integration()
    const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: uniq('T') } })
    const seen: Event[] = []
    const off = emu.onEventCreated((e) => seen.push(e))
    const { event } = await client.createEvent({ type: 'hitlAssigned', payload: { userId: 'u' }, conversationId: conversation.id })
    off()
    expect(event).toMatchObject({ type: 'hitlAssigned', status: 'pending', failureReason: null, conversationId: conversation.id })
    expect(event.id).toMatch(ID)
    expect(emu.callsTo('POST', '/v1/chat/events').at(-1)?.status).toBe(201)
    expect(seen).toEqual([event])
    expect((await client.getEvent({ id: event.id })).event).toEqual(event)
    const { events } = await client.listEvents({ conversationId: conversation.id, type: 'hitlAssigned' })
    expect(events.map((e) => e.id)).toEqual([event.id])
  })
})

describe('states', () => {
  it('sets, patches and deletes; an expired state answers 404', async () => {
    const client = integration()
    const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: uniq('T') } })
    const at = { type: 'conversation' as const, id: conversation.id, name: 'session' }

    const { state } = await client.setState({ ...at, payload: { a: 1 } })
    expect(state).toMatchObject({ botId: 'bot_1', conversationId: conversation.id, name: 'session', payload: { a: 1 } })
    expect(state.id).toMatch(ID)
    expect(emu.data.states.get(stateKey('bot_1', 'conversation', conversation.id, 'session'))?.state.payload).toEqual({ a: 1 })

    const patched = await client.patchState({ ...at, payload: { b: 2 } })
    expect(patched.state.payload).toEqual({ a: 1, b: 2 })
    expect((await client.getState(at)).state.payload).toEqual({ a: 1, b: 2 })

    await client.setState({ ...at, payload: null })
    expect((await rejection(client.getState(at))).type).toBe('ResourceNotFound')

    // The expiry is read off the store and then made to pass, rather than waited for: no timing in the test.
    const short = { ...at, name: 'short' }
    const before = Date.now()
    await client.setState({ ...short, payload: { x: 1 }, expiry: 60_000 })
    expect((await client.getState(short)).state.payload).toEqual({ x: 1 })
    const stored = emu.data.states.get(stateKey('bot_1', 'conversation', conversation.id, 'short'))!
    expect(stored.expiresAt).toBeGreaterThanOrEqual(before + 60_000)
    expect(stored.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000)
    stored.expiresAt = Date.now() - 1
    const expired = await rejection(client.getState(short))
    expect(expired).toBeInstanceOf(ResourceNotFoundError)
    expect(expired.code).toBe(404)
    expect((await rejection(client.patchState({ ...short, payload: {} }))).type).toBe('ResourceNotFound')
  })

  it('getOrSetState keeps the first payload', async () => {
    const client = integration()
    const at = { type: 'integration' as const, id: 'int_1', name: uniq('cfg').replace(' ', '') }
    expect((await client.getOrSetState({ ...at, payload: { v: 1 } })).state.payload).toEqual({ v: 1 })
    expect((await client.getOrSetState({ ...at, payload: { v: 2 } })).state.payload).toEqual({ v: 1 })
  })
})

describe('errors', () => {
  it('decode into the client classes', async () => {
    const notFound = await rejection(integration().getUser({ id: 'user_01NOPE' }))
    expect(notFound).toBeInstanceOf(ResourceNotFoundError)
    expect(notFound.type).toBe('ResourceNotFound')
    expect(notFound.code).toBe(404)
    expect(notFound.message).toContain('user_01NOPE')

    const unauthorized = await rejection(integration({ token: 'wrong' }).getUser({ id: 'user_x' }))
    expect(unauthorized).toBeInstanceOf(UnauthorizedError)
    expect(unauthorized.code).toBe(401)

    const invalid = await rejection(integration().getOrCreateUser({ tags: { id: 1 } } as never))
    expect(invalid.type).toBe('InvalidPayload')
  })

  it('answers unknown routes, wrong methods and missing x-bot-id in the error shape', async () => {
    const headers = { authorization: 'Bearer tok', 'x-bot-id': 'bot_1' }
    const unknown = await fetch(`${emu.url}/v1/nope`, { headers })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ id: expect.stringMatching(/^err_/), code: 404, type: 'ResourceNotFound' })

    const wrongMethod = await fetch(`${emu.url}/v1/chat/messages`, { method: 'DELETE', headers })
    expect(wrongMethod.status).toBe(405)
    expect(await wrongMethod.json()).toMatchObject({ code: 405, type: 'MethodNotFound' })

    const noBot = await rejection(new Client({ apiUrl: emu.url, token: 'tok' }).listUsers({}))
    expect(noBot.type).toBe('InvalidPayload')
    expect(noBot.code).toBe(400)
  })
})

describe('faults', () => {
  it('fails the next N matching calls with the given status, then recovers', async () => {
    const client = integration()
    emu.injectFault({ method: 'POST', path: '/v1/chat/users/get-or-create', status: 500, times: 2 })
    const tags = { id: uniq('F') }
    for (let i = 0; i < 2; i++) {
      const e = await rejection(client.getOrCreateUser({ tags }))
      expect(e.type).toBe('Internal')
      expect(e.code).toBe(500)
    }
    expect((await client.getOrCreateUser({ tags })).user.tags).toEqual(tags)

    emu.injectFault({ path: /\/v1\/chat\/events$/, status: 409, type: 'AlreadyExists', message: 'dup' })
    const conflict = await rejection(client.createEvent({ type: 't', payload: {} }))
    expect(conflict).toMatchObject({ type: 'AlreadyExists', code: 409, message: 'dup' })

    emu.injectFault({ path: '/v1/chat/users/:id', status: 503 })
    expect((await rejection(client.getUser({ id: 'user_x' }))).type).toBe('Internal')
  })

  it('delays, then handles normally', async () => {
    const client = integration()
    emu.injectFault({ path: '/v1/chat/conversations/get-or-create', delayMs: 50 })
    const { conversation } = await client.getOrCreateConversation({ channel: 'hitl', tags: { id: uniq('D') } })
    expect(conversation.id).toMatch(ID)
  })

  it('drops the connection: the client gets an error, the next call works', async () => {
    const client = integration()
    emu.injectFault({ method: 'POST', path: '/v1/chat/conversations', drop: true })
    const dropped = await rejection(client.createConversation({ channel: 'hitl', tags: { id: uniq('X') } }))
    expect(dropped.type).toBe('Unknown')
    expect(emu.callsTo('POST', '/v1/chat/conversations')[0]?.status).toBe(0)
    await expect(client.createConversation({ channel: 'hitl', tags: { id: uniq('X') } })).resolves.toBeDefined()
  })
})

describe('recording', () => {
  it('records method, path, query, headers, body, status and response in order', async () => {
    const client = integration({ integrationAlias: 'desk' })
    const { user } = await client.getOrCreateUser({ tags: { id: uniq('R') } })
    await client.getUser({ id: user.id })
    expect(emu.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /v1/chat/users/get-or-create', `GET /v1/chat/users/${user.id}`])
    const [create, get] = emu.calls
    expect(create!.headers).toMatchObject({
      authorization: 'Bearer tok',
      'x-bot-id': 'bot_1',
      'x-integration-id': 'int_1',
      'x-integration-alias': 'desk',
    })
    expect(create!.body).toMatchObject({ tags: user.tags })
    expect(create!.response).toEqual({ user })
    expect(get!.status).toBe(200)
    expect(get!.body).toBeUndefined()
    expect(emu.callsTo('*', '/v1/chat/users/*')).toHaveLength(2)
    emu.clearCalls()
    expect(emu.calls).toHaveLength(0)
  })
})

describe('bot scoping', () => {
  it('keeps each x-bot-id apart', async () => {
    const tags = { id: uniq('S') }
    const { user } = await integration().getOrCreateUser({ tags })
    const other = integration({ botId: 'bot_2' })
    expect((await rejection(other.getUser({ id: user.id }))).code).toBe(404)
    expect((await other.listUsers({ tags })).users).toEqual([])
    expect((await other.getOrCreateUser({ tags })).user.id).not.toBe(user.id)
    expect((await bot('bot_1').listUsers({ tags })).users.map((u) => u.id)).toEqual([user.id])

    await integration().setState({ type: 'user', id: user.id, name: 'profile', payload: { a: 1 } })
    expect((await rejection(other.getState({ type: 'user', id: user.id, name: 'profile' }))).code).toBe(404)
  })
})

describe('pagination and options', () => {
  it('pages list results with nextToken and accepts any token when started without one', async () => {
    const small = await startRuntimeEmulator({ pageSize: 2 })
    try {
      const client = new Client({ apiUrl: small.url, botId: 'bot_p', integrationId: 'int_1' }) // no token at all
      for (let i = 0; i < 5; i++) await client.createUser({ tags: { n: String(i) } })
      const first = await client.listUsers({})
      expect(first.users.map((u) => u.tags.n)).toEqual(['4', '3'])
      expect(first.meta.nextToken).toBeDefined()
      const all = await client.list.users({}).collect()
      expect(all.map((u) => u.tags.n)).toEqual(['4', '3', '2', '1', '0'])
    } finally {
      await small.close()
    }
  })
})

describe('getOrCreateMessage, lost answers and call counts (the hot path relies on them)', () => {
  const setUp = async () => {
    const client = integration()
    const { conversation } = await client.createConversation({ channel: 'hitl', tags: { id: uniq('GM') } })
    const { user } = await client.createUser({ tags: { id: uniq('agent') } })
    const message = (tags: Record<string, string>, discriminateByTags?: string[]) =>
      client.getOrCreateMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text: 'hi' }, tags, discriminateByTags })
    return { client, conversation, message }
  }

  it('discriminateByTags: only the listed tags are compared, each must match exactly', async () => {
    const { message } = await setUp()
    const first = (await message({ id: 'v1', extra: 'a' }, ['id'])).message
    expect((await message({ id: 'v1', extra: 'b' }, ['id'])).message.id).toBe(first.id)
    expect((await message({ id: 'V1' }, ['id'])).message.id).not.toBe(first.id)
    // Without it, every given tag must match.
    expect((await message({ id: 'v1', extra: 'b' })).message.id).not.toBe(first.id)
    expect((await message({ id: 'v1', extra: 'a' })).message.id).toBe(first.id)
  })

  it('matches within the conversation only, and is atomic under concurrent calls', async () => {
    const { client, conversation, message } = await setUp()
    const results = await Promise.all(Array.from({ length: 10 }, () => message({ id: 'same' }, ['id'])))
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1)
    const other = (await client.createConversation({ channel: 'hitl', tags: { id: uniq('GM') } })).conversation
    const { user } = await client.createUser({ tags: { id: uniq('agent') } })
    const elsewhere = await client.getOrCreateMessage({
      conversationId: other.id,
      userId: user.id,
      type: 'text',
      payload: { text: 'hi' },
      tags: { id: 'same' },
      discriminateByTags: ['id'],
    })
    expect(elsewhere.message.id).not.toBe(results[0]!.message.id)
    expect([...emu.data.messages.values()].filter((m) => m.conversationId === conversation.id)).toHaveLength(1)
  })

  it('loseAnswer: the write happens, the caller gets an error', async () => {
    const { message } = await setUp()
    emu.injectFault({ path: '/v1/chat/messages/get-or-create', loseAnswer: true })
    expect((await rejection(message({ id: 'lost' }, ['id']))).type).toBe('Unknown')
    const written = [...emu.data.messages.values()].filter((m) => m.tags.id === 'lost')
    expect(written).toHaveLength(1)
    expect((await message({ id: 'lost' }, ['id'])).message.id).toBe(written[0]!.id)
  })

  it('counts calls per operation, faulted ones included, per caller', async () => {
    const { message } = await setUp()
    emu.clearCalls()
    emu.injectFault({ path: '/v1/chat/messages/get-or-create', status: 503 })
    await rejection(message({ id: 'c1' }, ['id']))
    await message({ id: 'c1' }, ['id'])
    await bot().listUsers({})
    expect(emu.callCounts()).toEqual({ getOrCreateMessage: 2, listUsers: 1 })
    expect(emu.callCounts('integration')).toEqual({ getOrCreateMessage: 2 })
    expect(emu.callCounts('bot')).toEqual({ listUsers: 1 })
  })
})

describe('files (upsertFile, the upload URL, the served file)', () => {
  it('uploadFile of the real client: pending file, PUT of the bytes, then served at `url` with its type', async () => {
    const client = integration()
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10])
    const { file } = await client.uploadFile({
      key: uniq('agent/report.png').replace(' ', '-'),
      content: bytes,
      contentType: 'image/png',
      accessPolicies: ['public_content'],
    })
    expect(file).toMatchObject({ botId: 'bot_1', size: 7, contentType: 'image/png', owner: { type: 'integration', id: 'int_1' } })
    expect(emu.calls.map((c) => [c.method, c.op ?? c.path.split('/').slice(0, 3).join('/'), c.status])).toEqual([
      ['PUT', 'upsertFile', 200],
      ['PUT', '/_files/upload', 200],
    ])
    expect(emu.calls[0]!.body).toMatchObject({ size: 7, contentType: 'image/png' })
    expect(emu.calls[1]!.bytes).toBe(7)
    expect(emu.data.files.get(file.id)!.file.status).toBe('upload_completed')
    const served = await fetch(file.url)
    expect(served.status).toBe(200)
    expect(served.headers.get('content-type')).toBe('image/png')
    expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes)
  })

  it('upsert by key keeps the id and needs a new upload; nothing is served before it', async () => {
    const client = integration()
    const key = uniq('k').replace(' ', '-')
    const first = await client.uploadFile({ key, content: 'one', contentType: 'text/plain' })
    const { file: again } = await client.upsertFile({ key, size: 3, contentType: 'text/plain' })
    expect(again.id).toBe(first.file.id)
    expect(again.status).toBe('upload_pending')
    expect((await fetch(again.url)).status).toBe(404)
    // The first upload URL is stale once the file is replaced.
    expect((await fetch(first.file.uploadUrl, { method: 'PUT', body: 'two', headers: { 'content-type': 'text/plain' } })).status).toBe(403)
    expect((await fetch(again.uploadUrl, { method: 'PUT', body: 'two', headers: { 'content-type': 'text/plain' } })).status).toBe(200)
    expect(await (await fetch(again.url)).text()).toBe('two')
  })

  it('is strict like a signed URL: other Content-Type 403, wrong length 400; the body rules of the API apply', async () => {
    const client = integration()
    const { file } = await client.upsertFile({ key: uniq('s').replace(' ', '-'), size: 4, contentType: 'application/pdf' })
    const put = (body: string, type: string) => fetch(file.uploadUrl, { method: 'PUT', body, headers: { 'content-type': type } })
    const wrongType = await put('%PDF', 'text/plain')
    expect(wrongType.status).toBe(403)
    expect(await wrongType.text()).toContain('Content-Type')
    expect((await put('%PDF-1.7', 'application/pdf')).status).toBe(400)
    expect((await fetch(file.url)).status).toBe(404)
    expect((await rejection(client.upsertFile({ key: 'x', size: 1.5 }))).type).toBe('InvalidPayload')
    const unknownField = await fetch(`${emu.url}/v1/files`, {
      method: 'PUT',
      headers: { authorization: 'Bearer tok', 'x-bot-id': 'bot_1', 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'x', size: 1, fileName: 'x' }),
    })
    expect(unknownField.status).toBe(400)
    expect((await rejection(client.upsertFile({ key: '', size: 1 }))).type).toBe('InvalidPayload')
  })
})
