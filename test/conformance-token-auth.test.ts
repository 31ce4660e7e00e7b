// Token auth and save-time checks through the built bundle behind the real SDK server (runtime emulator, stub
// helpdesk): one token request serves a whole hand-off, the token lives in integration state and in no log
// line; checkCredentials fails a save with the vendor's words; unregister reads the stored registration even
// when only unregister reads `$registration`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actionOutput } from '../src/sandbox/integrationServer'
import { acmeMapping, signedAcmeDelivery, startStack, who } from './support/harness'

type Stack = Awaited<ReturnType<typeof startStack>>

const ACCESS = 'access-TOKEN-conformance-5521'
const CLIENT_SECRET = 'client-SECRET-conformance-8810'
const WEBHOOK_SECRET = 'whsec-SECRET-conformance-1'

/** The Acme mapping with OAuth2 client credentials instead of a static bearer token. */
const tokenMapping = acmeMapping
  .replace('  apiToken: { required: true, secret: true }\n', '  clientId: { required: true }\n  clientSecret: { required: true, secret: true }\n')
  .replace(
    '  auth: { type: bearer, token: "{{ $settings.apiToken }}" }\n',
    '  auth: { type: oauth2ClientCredentials, tokenUrl: "{{ $settings.baseUrl }}/oauth/token", clientId: "{{ $settings.clientId }}", clientSecret: "{{ $settings.clientSecret }}" }\n',
  )
const settings = (baseUrl: string) => `baseUrl: ${baseUrl}\nclientId: app-1\nclientSecret: ${CLIENT_SECRET}\nwebhookSecret: ${WEBHOOK_SECRET}\n`

describe('conformance: token auth through the SDK server', () => {
  let s: Stack
  let bp: ReturnType<Stack['withConfiguration']>
  const TICKET = 'T-700'
  const tokenRequests = () => s.helpdesk.requests.filter((r) => r.path === '/oauth/token')

  beforeAll(async () => {
    s = await startStack()
    expect(tokenMapping).toContain('oauth2ClientCredentials')
    bp = s.withConfiguration({ mapping: tokenMapping, settings: settings(s.helpdesk.url) })
    s.helpdesk.route({ method: 'POST', path: '/oauth/token', respond: () => ({ body: { access_token: ACCESS, token_type: 'bearer', expires_in: 3600 } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/webhooks', respond: () => ({ status: 201, body: { webhook: { id: 'wh_9' } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: 'c_1' } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: TICKET } } }) })
    s.helpdesk.route({ method: 'POST', path: /^\/api\/tickets\/[^/]+\/messages$/, respond: () => ({ status: 201, body: { message: { id: 'm_1' } } }) })
    s.helpdesk.route({ method: 'PUT', path: `/api/tickets/${TICKET}`, respond: () => ({ body: {} }) })
    s.helpdesk.route({ method: 'GET', path: '/api/agents/a_7', respond: () => ({ body: { agent: { id: 'a_7', name: 'Alice Agent' } } }) })
  })
  afterAll(async () => s?.stop())

  it('a whole hand-off (register, createUser, startHitl, a message, an assignment lookup, stopHitl) makes one token request', async () => {
    expect((await bp.register()).status).toBe(200)
    const user = await bp.action('createUser', { name: 'Jane Doe', email: 'jane@example.com' })
    expect(user.status).toBe(200)
    const userId = actionOutput(user, 'userId')
    const start = await bp.action('startHitl', { userId, title: 'Help', messageHistory: [] })
    expect(start.status).toBe(200)
    const conversationId = actionOutput(start, 'conversationId')
    const { message } = await s.botClient.createMessage({
      conversationId,
      userId: s.identity.botUserId,
      type: 'text',
      payload: { text: 'hi', userId },
      tags: {},
    })
    const { conversation } = await s.botClient.getConversation({ id: conversationId })
    const { user: bpUser } = await s.botClient.getUser({ id: userId })
    expect((await bp.messageCreated({ type: 'text', payload: { text: 'hi', userId }, conversation, message, user: bpUser })).status).toBe(200)
    const assigned = await bp.webhook(signedAcmeDelivery({ event: 'ticket.assigned', ticket: { id: TICKET }, agentId: 'a_7' }, { secret: WEBHOOK_SECRET }))
    expect(assigned.status).toBe(200)
    expect((await bp.action('stopHitl', { conversationId })).status).toBe(200)

    expect(tokenRequests()).toHaveLength(1)
    expect(tokenRequests()[0]!.body).toEqual({ grant_type: 'client_credentials', client_id: 'app-1', client_secret: CLIENT_SECRET })
    const vendorCalls = s.helpdesk.requests.filter((r) => r.path.startsWith('/api/'))
    expect(vendorCalls.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/webhooks',
      'POST /api/contacts',
      'POST /api/tickets',
      `POST /api/tickets/${TICKET}/messages`,
      'GET /api/agents/a_7',
      `PUT /api/tickets/${TICKET}`,
    ])
    for (const call of vendorCalls) expect(call.headers.authorization).toBe(`Bearer ${ACCESS}`)
  })

  it('the token is kept in integration state (shared by every worker)', () => {
    const state = [...s.emulator.data.states.entries()].find(([key]) => key.includes(who.integrationId) && key.includes('tokens'))
    expect(state, [...s.emulator.data.states.keys()].join(', ')).toBeDefined()
    const tokens = state![1].state.payload.tokens as Record<string, { value: string; expiresAt?: number }>
    expect(Object.values(tokens)).toEqual([{ value: ACCESS, expiresAt: expect.any(Number) }])
  })

  it('neither the token nor the client secret appears in any log line', () => {
    const log = s.integration.output.join('\n')
    expect(log.length).toBeGreaterThan(0)
    expect(log).not.toContain(ACCESS)
    expect(log).not.toContain(CLIENT_SECRET)
  })

  it('checkCredentials runs first at save: a refused token fails the save with the vendor message, nothing is created', async () => {
    const checked = tokenMapping.replace('  register:\n', '  checkCredentials:\n    steps:\n      - request: { method: GET, path: /me }\n  register:\n')
    s.helpdesk.route({
      method: 'GET',
      path: '/api/me',
      respond: () => ({ status: 401, body: { error: { message: 'This token has no access to account 42' } } }),
    })
    const before = s.helpdesk.requests.length
    const r = await s.withConfiguration({ mapping: checked, settings: settings(s.helpdesk.url).replace('clientId: app-1', 'clientId: app-2') }).register()
    expect(r.status).toBe(400)
    expect(r.json?.message).toBe('UH-E035 checkCredentials step 1: GET /api/me answered 401: This token has no access to account 42')
    // the token request, the check and its retry with a fresh token; no webhook created
    expect(s.helpdesk.requests.slice(before).map((q) => `${q.method} ${q.path}`)).toEqual([
      'POST /oauth/token',
      'GET /api/me',
      'POST /oauth/token',
      'GET /api/me',
    ])
  })

  it('unregister loads the stored registration even when only unregister reads $registration', async () => {
    // Acme's hand-off never reads $registration; only its unregister step does (DELETE /webhooks/<id>).
    const acme = s.withConfiguration({ mapping: acmeMapping, settings: `baseUrl: ${s.helpdesk.url}\napiToken: tok-123456\nwebhookSecret: ${WEBHOOK_SECRET}\n` })
    expect((await acme.register()).status).toBe(200)
    s.helpdesk.route({ method: 'DELETE', path: '/api/webhooks/wh_9', respond: () => ({ status: 204 }) })
    const before = s.helpdesk.requests.length
    expect((await acme.unregister()).status).toBe(200)
    expect(s.helpdesk.requests.slice(before).map((q) => `${q.method} ${q.path}`)).toEqual(['DELETE /api/webhooks/wh_9'])
  })
})
