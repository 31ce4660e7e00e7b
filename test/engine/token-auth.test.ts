// Token auth over real HTTP to the stub helpdesk: OAuth2 client credentials, refresh token with rotation, a
// custom token request keyed per end user; the cache (one token for many calls, shared through the store), the
// refresh on 401, masking, and the messages of a failing token endpoint.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MemoryTokenStore } from '../../src/auth/tokenStore'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { VendorRequestError } from '../../src/http/sendRequest'
import { engineOf, mappingObject, rejection } from './helpers'

let stub: StubHelpdesk
beforeAll(async () => {
  stub = await startStubHelpdesk()
})
afterAll(async () => stub.close())
afterEach(() => stub.reset())

const CLIENT_SECRET = 'client-SECRET-4471'
const ACCESS = 'access-TOKEN-9d1f'
const REFRESH = 'refresh-PASTED-77aa'
const settingsDecl = {
  baseUrl: { required: true },
  clientId: { required: true },
  clientSecret: { required: true, secret: true },
  refreshToken: { secret: true },
}
const settings = () => ({ baseUrl: stub.url, clientId: 'app-1', clientSecret: CLIENT_SECRET, refreshToken: REFRESH })
const clientCredentials = {
  type: 'oauth2ClientCredentials',
  tokenUrl: '{{ $settings.baseUrl }}/oauth/token',
  clientId: '{{ $settings.clientId }}',
  clientSecret: '{{ $settings.clientSecret }}',
  scope: 'tickets',
}
const refreshFlow = {
  type: 'oauth2RefreshToken',
  tokenUrl: '{{ $settings.baseUrl }}/oauth/v2/token',
  clientId: '{{ $settings.clientId }}',
  clientSecret: '{{ $settings.clientSecret }}',
  refreshToken: '{{ $settings.refreshToken }}',
  prefix: 'Zoho-oauthtoken ',
}
const mapping = (auth: object) => mappingObject({ settings: settingsDecl, http: { baseUrl: '{{ $settings.baseUrl }}/api', auth, timeoutMs: 5000 } })
const paths = () => stub.requests.map((r) => `${r.method} ${r.path}`)

describe('oauth2ClientCredentials', () => {
  it('obtains one token for several operations and sends it as a bearer token', async () => {
    const logged: string[] = []
    const responses: unknown[] = []
    const engine = engineOf(mapping(clientCredentials), settings(), {
      onRequest: (r) => {
        logged.push(JSON.stringify(r))
        responses.push(r.response?.body)
      },
    })
    stub.enqueue({ body: { access_token: ACCESS, token_type: 'bearer', expires_in: 3600 } }, { body: { id: 'T1' } })
    await engine.closeTicket({ ticketId: 'T1' })
    await engine.closeTicket({ ticketId: 'T2' })
    expect(paths()).toEqual(['POST /oauth/token', 'PUT /api/tickets/T1', 'PUT /api/tickets/T2'])
    expect(stub.requests[0]!.body).toEqual({ grant_type: 'client_credentials', client_id: 'app-1', client_secret: CLIENT_SECRET, scope: 'tickets' })
    expect(stub.requests[1]!.headers.authorization).toBe(`Bearer ${ACCESS}`)
    expect(stub.requests[2]!.headers.authorization).toBe(`Bearer ${ACCESS}`)
    // the dry-run/verbose log sees the token request and the calls, but no secret and no token
    expect(logged).toHaveLength(3)
    expect(logged.join('\n')).not.toContain(ACCESS)
    expect(logged.join('\n')).not.toContain(CLIENT_SECRET)
    // observers (the CLI's capture records responses into fixtures) never get the token response
    expect(responses).toEqual(['***', { id: 'T1' }, {}])
  })

  it('concurrent requests needing the token wait for one token request', async () => {
    const engine = engineOf(mapping(clientCredentials), settings())
    stub.route({ method: 'POST', path: '/oauth/token', respond: () => ({ body: { access_token: ACCESS, expires_in: 3600 } }) })
    await Promise.all([engine.closeTicket({ ticketId: 'A' }), engine.closeTicket({ ticketId: 'B' }), engine.closeTicket({ ticketId: 'C' })])
    expect(paths().filter((p) => p === 'POST /oauth/token')).toHaveLength(1)
  })

  it('engines sharing a store share the token (workers sharing integration state)', async () => {
    const tokens = new MemoryTokenStore()
    stub.enqueue({ body: { access_token: ACCESS, expires_in: 3600 } })
    await engineOf(mapping(clientCredentials), settings(), { tokens }).closeTicket({ ticketId: 'A' })
    await engineOf(mapping(clientCredentials), settings(), { tokens }).closeTicket({ ticketId: 'B' })
    expect(paths()).toEqual(['POST /oauth/token', 'PUT /api/tickets/A', 'PUT /api/tickets/B'])
  })

  it('a token is obtained again shortly before it expires', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z')
    const engine = engineOf(mapping(clientCredentials), settings(), { now: () => now })
    stub.route({ method: 'POST', path: '/oauth/token', respond: () => ({ body: { access_token: `${ACCESS}-${now}`, expires_in: 600 } }) })
    await engine.closeTicket({ ticketId: 'A' })
    now += 500_000 // 100 s left: still used
    await engine.closeTicket({ ticketId: 'B' })
    now += 50_000 // 50 s left: inside the 60 s margin
    await engine.closeTicket({ ticketId: 'C' })
    expect(paths()).toEqual(['POST /oauth/token', 'PUT /api/tickets/A', 'PUT /api/tickets/B', 'POST /oauth/token', 'PUT /api/tickets/C'])
  })

  it('a 401 drops the token, obtains a new one and retries once', async () => {
    const engine = engineOf(mapping(clientCredentials), settings())
    stub.enqueue(
      { body: { access_token: 'old-token-1111', expires_in: 3600 } },
      { status: 401, body: { message: 'token revoked' } },
      { body: { access_token: 'new-token-2222', expires_in: 3600 } },
      { body: {} },
    )
    await engine.closeTicket({ ticketId: 'A' })
    expect(paths()).toEqual(['POST /oauth/token', 'PUT /api/tickets/A', 'POST /oauth/token', 'PUT /api/tickets/A'])
    expect(stub.requests[3]!.headers.authorization).toBe('Bearer new-token-2222')
  })

  it('a second 401 with a fresh token fails with the vendor message, token masked', async () => {
    const engine = engineOf(mapping(clientCredentials), settings())
    stub.enqueue(
      { body: { access_token: 'tok-aaaa-1111', expires_in: 3600 } },
      { status: 401, body: { message: 'bad token tok-aaaa-1111' } },
      { body: { access_token: 'tok-bbbb-2222', expires_in: 3600 } },
      { status: 401, body: { message: 'bad token tok-bbbb-2222' } },
    )
    const e = await rejection(engine.closeTicket({ ticketId: 'A' }))
    expect(e.message).toBe('closeTicket step 1: PUT /api/tickets/A answered 401: bad token ***')
  })

  it('a token endpoint 400 names the vendor error and never shows the client secret', async () => {
    const engine = engineOf(mapping(clientCredentials), settings())
    stub.enqueue({ status: 400, body: { error: 'invalid_client', error_description: `Client authentication failed for ${CLIENT_SECRET}` } })
    const e = await rejection(engine.closeTicket({ ticketId: 'A' }))
    expect(e).toBeInstanceOf(VendorRequestError)
    expect(e.message).toBe(
      'could not obtain a token: http.auth token request: POST /oauth/token answered 400: invalid_client (Client authentication failed for ***)',
    )
  })
})

describe('oauth2RefreshToken', () => {
  it('sends the pasted refresh token, keeps a rotated one and uses it next time', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z')
    const tokens = new MemoryTokenStore(() => now)
    const engine = engineOf(mapping(refreshFlow), settings(), { tokens, now: () => now })
    stub.enqueue({ body: { access_token: 'access-1-abcd', refresh_token: 'refresh-ROTATED-1', expires_in: 120 } }, { body: {} })
    await engine.closeTicket({ ticketId: 'A' })
    expect(stub.requests[0]!.body).toEqual({ grant_type: 'refresh_token', refresh_token: REFRESH, client_id: 'app-1', client_secret: CLIENT_SECRET })
    expect(stub.requests[1]!.headers.authorization).toBe('Zoho-oauthtoken access-1-abcd')
    now += 120_000
    stub.enqueue({ body: { access_token: 'access-2-abcd', expires_in: 120 } }, { body: {} })
    await engine.closeTicket({ ticketId: 'B' })
    expect(stub.requests[2]!.body).toMatchObject({ refresh_token: 'refresh-ROTATED-1' })
  })

  it('a newly pasted refresh token is used instead of an older rotated one', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z')
    const tokens = new MemoryTokenStore(() => now)
    stub.enqueue({ body: { access_token: 'access-1-abcd', refresh_token: 'refresh-ROTATED-1', expires_in: 120 } })
    await engineOf(mapping(refreshFlow), settings(), { tokens, now: () => now }).closeTicket({ ticketId: 'A' })
    stub.reset()
    now += 120_000
    stub.enqueue({ body: { access_token: 'access-2-abcd', expires_in: 120 } })
    // (tokens are also keyed by the configuration's hash, the same here: the paste alone must decide)
    await engineOf(mapping(refreshFlow), { ...settings(), refreshToken: 'refresh-PASTED-NEW' }, { tokens, now: () => now }).closeTicket({ ticketId: 'A' })
    expect(stub.requests[0]!.body).toMatchObject({ refresh_token: 'refresh-PASTED-NEW' })
  })

  it('a revoked refresh token tells the bot builder to paste a new one', async () => {
    const engine = engineOf(mapping(refreshFlow), settings())
    stub.enqueue({ status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } })
    const e = await rejection(engine.closeTicket({ ticketId: 'A' }))
    expect(e.message).toBe(
      'could not obtain a token: http.auth token request: POST /oauth/v2/token answered 400: invalid_grant (Token has been expired or revoked.); the refresh token was revoked or has expired: paste a new refresh token in the setting refreshToken',
    )
    expect(e.message).not.toContain(REFRESH)
  })

  it('Zoho answers 200 with an error object: the same message', async () => {
    const engine = engineOf(mapping(refreshFlow), settings())
    stub.enqueue({ body: { error: 'invalid_code' } })
    const e = await rejection(engine.closeTicket({ ticketId: 'A' }))
    expect(e.message).toMatch(
      /^could not obtain a token: http\.auth: the token request gave no token .* \(invalid_code\); the refresh token was revoked or has expired: paste a new refresh token in the setting refreshToken$/,
    )
  })
})

describe('tokenRequest', () => {
  const perUser = {
    type: 'tokenRequest',
    key: '{{ $input.externalUserId }}',
    steps: [
      {
        id: 'login',
        request: {
          method: 'POST',
          path: '/customer/token',
          auth: { type: 'basic', username: '{{ $settings.clientId }}', password: '{{ $settings.clientSecret }}' },
          body: '{"customer": $input.externalUserId}',
        },
      },
    ],
    token: '$steps.login.body.token',
    expiresIn: '$steps.login.body.ttl',
    header: 'X-Customer-Token',
    prefix: '',
  }

  it('keeps one token per end user; the token request carries its own auth, not the token', async () => {
    const logged: { headers: Record<string, string> }[] = []
    const engine = engineOf(mapping(perUser), settings(), { onRequest: (r) => logged.push(r) })
    stub.route({
      method: 'POST',
      path: '/api/customer/token',
      respond: (r) => ({ body: { token: `tok-for-${(r.body as { customer: string }).customer}`, ttl: 3600 } }),
    })
    const send = (externalUserId: string) => engine.sendMessage({ ticketId: 'T1', type: 'text', payload: { text: 'hi' }, userId: 'u', externalUserId })
    await send('alice')
    await send('bob')
    await send('alice')
    expect(paths()).toEqual([
      'POST /api/customer/token',
      'POST /api/tickets/T1/messages',
      'POST /api/customer/token',
      'POST /api/tickets/T1/messages',
      'POST /api/tickets/T1/messages',
    ])
    expect(stub.requests[0]!.headers.authorization).toMatch(/^Basic /)
    expect(stub.requests.filter((r) => r.path.endsWith('/messages')).map((r) => r.headers['x-customer-token'])).toEqual([
      'tok-for-alice',
      'tok-for-bob',
      'tok-for-alice',
    ])
    // a header not named like a credential is still masked: the redactor learnt the tokens
    expect(logged.filter((r) => r.headers['x-customer-token']).map((r) => r.headers['x-customer-token'])).toEqual(['***', '***', '***'])
  })

  it('a token request without auth of its own sends none (not the token it is obtaining)', async () => {
    const engine = engineOf(mapping({ ...perUser, key: undefined, steps: [{ id: 'login', request: { method: 'POST', path: '/customer/token' } }] }), settings())
    stub.enqueue({ body: { token: 'tok-shared-1', ttl: 60 } })
    await engine.closeTicket({ ticketId: 'A' })
    expect(stub.requests[0]!.headers.authorization).toBeUndefined()
    expect(stub.requests[1]!.headers['x-customer-token']).toBe('tok-shared-1')
  })

  it('webhook lookups use the same cached token', async () => {
    const m = mapping(clientCredentials)
    m.webhook = {
      verify: 'none',
      events: [
        {
          when: 'true',
          emit: 'newMessage',
          steps: [{ id: 'm', request: { method: 'GET', path: '/messages/{{ id }}' } }],
          ticketId: '$steps.m.body.ticket',
          message: { text: '$steps.m.body.text' },
        },
      ],
    }
    const engine = engineOf(m, settings())
    stub.enqueue({ body: { access_token: ACCESS, expires_in: 3600 } }, { body: { id: 'T1' } }, { body: { ticket: 'T1', text: 'hello' } })
    await engine.createTicket({ userId: 'u', externalUserId: 'c', user: {}, messageHistory: [] })
    const outcome = await engine.routeWebhook({ body: JSON.stringify({ id: 'M1' }) })
    expect(outcome).toMatchObject({ kind: 'events', events: [{ ticketId: 'T1', message: { text: 'hello' } }] })
    expect(paths()).toEqual(['POST /oauth/token', 'POST /api/tickets', 'GET /api/messages/M1'])
    expect(stub.requests[2]!.headers.authorization).toBe(`Bearer ${ACCESS}`)
  })
})
