// Smaller format 1.1 additions: retry.retryAfterHeader, $webhookUrl in webhook expressions, token auth in a
// dry run (masked), and compile problems of the new blocks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { engineOf, mappingObject, problemsOf, rejection, yamlOf } from './helpers'

let stub: StubHelpdesk
beforeAll(async () => {
  stub = await startStubHelpdesk()
})
afterAll(async () => stub.close())
afterEach(() => stub.reset())

const settings = () => ({ baseUrl: stub.url, apiToken: 'tok-123456' })
const http = (retry: object) => ({
  baseUrl: '{{ $settings.baseUrl }}/api',
  auth: { type: 'bearer', token: '{{ $settings.apiToken }}' },
  timeoutMs: 5000,
  retry,
})

describe('retry.retryAfterHeader', () => {
  it('waits as another header says and retries', async () => {
    const engine = engineOf(mappingObject({ http: http({ limit: 1, retryAfterHeader: 'X-RateLimit-Retry-After', maxRetryAfterSeconds: 5 }) }), settings())
    stub.enqueue({ status: 429, headers: { 'x-ratelimit-retry-after': '1' }, body: { message: 'slow down' } }, { body: {} })
    await engine.closeTicket({ ticketId: 'T1' })
    expect(stub.requests).toHaveLength(2)
  })

  it('without it the header is not read: the same answer is retried on the default backoff', async () => {
    const engine = engineOf(mappingObject({ http: http({ limit: 1, maxRetryAfterSeconds: 2 }) }), settings())
    stub.enqueue({ status: 429, headers: { 'x-ratelimit-retry-after': '60' }, body: { message: 'slow down' } }, { body: {} })
    await engine.closeTicket({ ticketId: 'T1' })
    expect(stub.requests).toHaveLength(2)
  })

  it('a wait longer than maxRetryAfterSeconds fails at once', async () => {
    const engine = engineOf(mappingObject({ http: http({ limit: 2, retryAfterHeader: 'X-RateLimit-Retry-After', maxRetryAfterSeconds: 2 }) }), settings())
    stub.enqueue({ status: 429, headers: { 'x-ratelimit-retry-after': '60' }, body: { message: 'slow down' } })
    const e = await rejection(engine.closeTicket({ ticketId: 'T1' }))
    expect(e.message).toBe('closeTicket step 1: PUT /api/tickets/T1 answered 429: slow down')
    expect(stub.requests).toHaveLength(1)
  })
})

describe('$webhookUrl in webhook expressions', () => {
  it('a rule reads it (HubSpot v3 signs the URL)', async () => {
    const m = mappingObject({ webhook: { verify: 'none', events: [{ when: '$contains($webhookUrl, "wh_42")', emit: 'solved', ticketId: 'id' }] } })
    const engine = engineOf(m, settings(), { webhookUrl: 'https://webhook.botpress.cloud/wh_42' })
    expect(await engine.routeWebhook({ body: '{"id": "T1"}' })).toMatchObject({ kind: 'events', events: [{ ticketId: 'T1' }] })
  })
})

describe('compile problems of the new blocks', () => {
  it('a token request whose step uses token auth itself, and a jwt verify without any key', () => {
    const tokenAuth = {
      type: 'tokenRequest',
      steps: [
        {
          id: 't',
          request: {
            method: 'POST',
            path: '/token',
            auth: { type: 'oauth2ClientCredentials', tokenUrl: 'https://x.example/t', clientId: 'a', clientSecret: 'b' },
          },
        },
      ],
      token: '$steps.t.body.token',
    }
    const m = mappingObject({
      http: { baseUrl: '{{ $settings.baseUrl }}', auth: tokenAuth },
      webhook: { verify: { scheme: 'jwt', header: 'Authorization', algorithms: ['RS256'] }, events: [{ when: 'true', emit: 'solved', ticketId: 'id' }] },
    })
    expect(problemsOf(yamlOf(m)).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'http.auth.steps[0].request.auth: a token request cannot itself use token auth; give it basic, apiKey, bearer or none',
      "webhook.verify: a jwt verify needs jwksUrl (the vendor's key set) or key (a PEM public key or, for HS256, the secret)",
    ])
  })

  it('a token expression reading a step the token request does not have', () => {
    const m = mappingObject({
      http: {
        baseUrl: '{{ $settings.baseUrl }}',
        auth: { type: 'tokenRequest', steps: [{ id: 't', request: { method: 'POST', path: '/token' } }], token: '$steps.login.body.token' },
      },
    })
    expect(problemsOf(yamlOf(m)).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'http.auth.token: refers to step "login", which is not an earlier step of this operation',
    ])
  })
})
