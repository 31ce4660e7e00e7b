// Webhook signature schemes with real keys generated here (node:crypto): rsa (PKCS#1 v1.5, PSS), jwt (RS256,
// ES256, HS256; JWKS over real HTTP, cached), standardWebhooks, and signatures in structured headers
// (`ts;hash`, `t=…,v1=…,v1=…`). Each is signed by the module's own signer and verified; bad input has its reason.
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { signDelivery, type SignableDelivery } from '../../src/webhook/signature'
import { encodeJwt } from '../../src/webhook/signature/jwt'
import { engineOf, mappingObject } from './helpers'

let stub: StubHelpdesk
beforeAll(async () => {
  stub = await startStubHelpdesk()
})
afterAll(async () => stub.close())
afterEach(() => stub.reset())

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pem = (k: KeyObject, type: 'spki' | 'pkcs8') => k.export({ format: 'pem', type }) as string
const RSA_PUBLIC = pem(rsa.publicKey, 'spki')
const RSA_PRIVATE = pem(rsa.privateKey, 'pkcs8')
const NOW = Date.parse('2026-03-01T12:00:00Z')
const BODY = JSON.stringify({ id: 'T1', event: 'solved' })

const settingsDecl = { baseUrl: { required: true }, apiToken: { required: true, secret: true }, webhookSecret: { secret: true }, publicKey: {}, jwksUrl: {} }
const engineFor = (verify: object, extra: Record<string, string> = {}) =>
  engineOf(mappingObject({ settings: settingsDecl, webhook: { verify, events: [{ when: 'true', emit: 'solved', ticketId: 'id' }] } }), {
    baseUrl: stub.url,
    apiToken: 'tok-123456',
    ...extra,
  })
const delivery = (headers: Record<string, string> = {}, body = BODY): SignableDelivery => ({
  method: 'POST',
  path: '/',
  query: '',
  headers: { 'content-type': 'application/json', ...headers },
  body,
})
type Engine = ReturnType<typeof engineFor>
const scopeOf = (_engine: Engine, settings: Record<string, string>) => ({ settings: { ...settings }, registration: {} })

async function outcome(engine: Engine, d: SignableDelivery, now = NOW) {
  return engine.routeWebhook({ method: d.method, path: d.path, query: d.query, headers: d.headers, body: d.body }, { now })
}
const accepted = { kind: 'events', events: [{ type: 'solved', ticketId: 'T1' }] }
const rejected = (reason: string | RegExp) => ({ kind: 'rejected', status: 401, reason })

/** A JWT signed with the test's keys, by the scheme's own encoder (src/webhook/signature/jwt.ts). */
function jwt(claims: object, opts: { alg?: 'RS256' | 'ES256' | 'HS256'; kid?: string; key?: KeyObject; secret?: string } = {}) {
  const alg = opts.alg ?? 'RS256'
  const key = opts.key ?? (alg === 'ES256' ? ec.privateKey : rsa.privateKey)
  const privateKey = alg === 'HS256' ? undefined : (key.export({ format: 'pem', type: 'pkcs8' }) as string)
  return encodeJwt({ alg, typ: 'JWT', ...(opts.kid ? { kid: opts.kid } : {}) }, claims as Record<string, unknown>, { secret: opts.secret, privateKey })
}
const claims = (extra: object = {}) => ({ iss: 'https://accounts.example.com', aud: 'app-1', exp: NOW / 1000 + 300, ...extra })

describe('rsa', () => {
  const verify = { scheme: 'rsa', algorithm: 'sha256', header: 'X-Freshchat-Signature', signed: '{{ $rawBody }}', publicKey: '{{ $settings.publicKey }}' }

  it('PKCS#1 v1.5: a signed delivery verifies, a changed body does not', async () => {
    const engine = engineFor(verify, { publicKey: RSA_PUBLIC })
    const signed = await signDelivery(engine.mapping.webhook.verify, delivery(), { scope: scopeOf(engine, {}), now: NOW, keys: { privateKey: RSA_PRIVATE } })
    expect(signed.headers['x-freshchat-signature']).toBe(sign('sha256', Buffer.from(BODY), rsa.privateKey).toString('base64'))
    expect(await outcome(engine, signed)).toMatchObject(accepted)
    expect(await outcome(engine, { ...signed, body: BODY.replace('T1', 'T2') })).toMatchObject(rejected('signature does not match'))
  })

  it('PSS with SHA-512 and a key pasted with \\n escapes', async () => {
    const engine = engineFor({ ...verify, algorithm: 'sha512', padding: 'pss' }, { publicKey: RSA_PUBLIC.replace(/\n/g, '\\n') })
    const signed = await signDelivery(engine.mapping.webhook.verify, delivery(), { scope: scopeOf(engine, {}), now: NOW, keys: { privateKey: RSA_PRIVATE } })
    expect(await outcome(engine, signed)).toMatchObject(accepted)
  })

  it('an unreadable public key is named', async () => {
    const engine = engineFor(verify, { publicKey: 'not a key' })
    expect(await outcome(engine, delivery({ 'x-freshchat-signature': 'abc' }))).toMatchObject(rejected(/^the public key is not a readable PEM key/))
  })
})

describe('jwt', () => {
  let n = 0
  /** Each case its own JWKS URL: key sets are cached per URL for the process. */
  const jwksCase = (keys: object[] | (() => { status?: number; body?: unknown })) => {
    const path = `/jwks/${++n}`
    stub.route({ method: 'GET', path, respond: typeof keys === 'function' ? keys : () => ({ body: { keys } }) })
    return `${stub.url}${path}`
  }
  const rsaJwk = (kid: string) => ({ ...(rsa.publicKey.export({ format: 'jwk' }) as object), kid, use: 'sig' })
  const verify = {
    scheme: 'jwt',
    header: 'Authorization',
    algorithms: ['RS256', 'ES256'],
    jwksUrl: '{{ $settings.jwksUrl }}',
    issuer: 'https://accounts.example.com',
    audience: 'app-1',
  }
  const withJwt = (token: string) => delivery({ authorization: `Bearer ${token}` })
  const fetches = (url: string) => stub.requests.filter((r) => url.endsWith(r.path)).length

  it('RS256 with a key from the JWKS, fetched once for several deliveries', async () => {
    const url = jwksCase([rsaJwk('k1')])
    const engine = engineFor(verify, { jwksUrl: url })
    expect(await outcome(engine, withJwt(jwt(claims(), { kid: 'k1' })))).toMatchObject(accepted)
    expect(await outcome(engine, withJwt(jwt(claims(), { kid: 'k1' })))).toMatchObject(accepted)
    expect(fetches(url)).toBe(1)
  })

  it('ES256 with a static PEM key, HS256 with a secret', async () => {
    const es = engineFor({ ...verify, jwksUrl: undefined, key: '{{ $settings.publicKey }}' }, { publicKey: pem(ec.publicKey, 'spki') })
    expect(await outcome(es, withJwt(jwt(claims(), { alg: 'ES256' })))).toMatchObject(accepted)
    const hs = engineFor({ scheme: 'jwt', header: 'X-Token', algorithms: ['HS256'], key: '{{ $settings.webhookSecret }}' }, { webhookSecret: 'hs-secret-1234' })
    expect(await outcome(hs, delivery({ 'x-token': jwt(claims(), { alg: 'HS256', secret: 'hs-secret-1234' }) }))).toMatchObject(accepted)
    expect(await outcome(hs, delivery({ 'x-token': jwt(claims(), { alg: 'HS256', secret: 'other-secret' }) }))).toMatchObject(
      rejected('JWT signature does not match'),
    )
  })

  it('an expired token, a future iat, a wrong aud, a wrong iss and an algorithm not allowed are refused with their reason', async () => {
    const engine = engineFor(verify, { jwksUrl: jwksCase([rsaJwk('k1')]) })
    expect(await outcome(engine, withJwt(jwt(claims({ exp: NOW / 1000 - 61 }), { kid: 'k1' })))).toMatchObject(
      rejected('JWT expired at 2026-03-01T11:58:59.000Z'),
    )
    // within the 60 s clock skew: accepted
    expect(await outcome(engine, withJwt(jwt(claims({ exp: NOW / 1000 - 30 }), { kid: 'k1' })))).toMatchObject(accepted)
    expect(await outcome(engine, withJwt(jwt(claims({ aud: 'someone-else' }), { kid: 'k1' })))).toMatchObject(
      rejected('JWT aud is "someone-else", not the configured audience'),
    )
    expect(await outcome(engine, withJwt(jwt(claims({ iss: 'https://evil.example' }), { kid: 'k1' })))).toMatchObject(
      rejected('JWT iss is "https://evil.example", not the configured issuer'),
    )
    expect(await outcome(engine, withJwt(jwt(claims(), { alg: 'HS256', secret: 'x', kid: 'k1' })))).toMatchObject(
      rejected('JWT algorithm HS256 is not one of RS256, ES256'),
    )
    expect(await outcome(engine, withJwt(jwt({ iss: 'https://accounts.example.com', aud: 'app-1' }, { kid: 'k1' })))).toMatchObject(
      rejected('JWT has no exp claim'),
    )
    expect(await outcome(engine, withJwt('not.a-jwt'))).toMatchObject(rejected('malformed JWT'))
    // iat in the future: beyond the skew refused, within it accepted
    expect(await outcome(engine, withJwt(jwt(claims({ iat: NOW / 1000 + 61 }), { kid: 'k1' })))).toMatchObject(rejected('JWT issued in the future (iat)'))
    expect(await outcome(engine, withJwt(jwt(claims({ iat: NOW / 1000 + 30 }), { kid: 'k1' })))).toMatchObject(accepted)
  })

  it('an unknown kid fetches the set again once (rotation), then is refused', async () => {
    let served = [rsaJwk('old')]
    const url = jwksCase(() => ({ body: { keys: served } }))
    const engine = engineFor(verify, { jwksUrl: url })
    expect(await outcome(engine, withJwt(jwt(claims(), { kid: 'old' })))).toMatchObject(accepted)
    served = [rsaJwk('new')]
    // a kid the cached set lacks refetches it, but not within 30 s of the last fetch
    expect(await outcome(engine, withJwt(jwt(claims(), { kid: 'new' })), NOW + 10_000)).toMatchObject(
      rejected('JWT key: unknown kid "new": the key set has no such key'),
    )
    expect(await outcome(engine, withJwt(jwt(claims(), { kid: 'new' })), NOW + 31_000)).toMatchObject(accepted)
    expect(fetches(url)).toBe(2)
    expect(await outcome(engine, withJwt(jwt(claims(), { kid: 'nope' })), NOW + 40_000)).toMatchObject(
      rejected('JWT key: unknown kid "nope": the key set has no such key'),
    )
    expect(fetches(url)).toBe(2)
  })

  it('a JWKS endpoint that is down is named', async () => {
    const url = jwksCase(() => ({ status: 503, body: { message: 'maintenance' } }))
    const engine = engineFor(verify, { jwksUrl: url })
    const result = await outcome(engine, withJwt(jwt(claims(), { kid: 'k1' })))
    expect(result).toMatchObject(
      rejected(
        new RegExp(
          `^JWT key: the key set at ${url.replace(/[/.]/g, '\\$&')} could not be fetched \\(webhook.verify jwksUrl: GET /jwks/\\d+ answered 503: maintenance\\)$`,
        ),
      ),
    )
  })

  it("the fixture signer's JWT verifies against a static key", async () => {
    const engine = engineFor({ ...verify, jwksUrl: undefined, key: '{{ $settings.publicKey }}', requiredClaims: ['sub'] }, { publicKey: RSA_PUBLIC })
    const signed = await signDelivery(engine.mapping.webhook.verify, delivery(), { scope: scopeOf(engine, {}), now: NOW, keys: { privateKey: RSA_PRIVATE } })
    expect(await outcome(engine, signed)).toMatchObject(accepted)
  })
})

describe('signatures in structured headers', () => {
  const SECRET = 'whk-secret-5512'
  const hex = (text: string) => createHmac('sha256', SECRET).update(text).digest('hex')
  const trengo = {
    scheme: 'hmac',
    algorithm: 'sha256',
    encoding: 'hex',
    header: 'Trengo-Signature',
    signature: '$split($header, ";")[1]',
    timestamp: { value: '{{ $split($header, ";")[0] }}', format: 'unix' },
    headerFormat: '{{ $timestamp }};{{ $signature }}',
    signed: '{{ $timestamp }}.{{ $rawBody }}',
    secret: '{{ $settings.webhookSecret }}',
  }
  const stripe = {
    scheme: 'hmac',
    algorithm: 'sha256',
    encoding: 'hex',
    header: 'Stripe-Signature',
    signature: '$split($header, ",")[$substringBefore($, "=") = "v1"].$substringAfter($, "=")',
    timestamp: { value: '{{ $split($header, ",")[$substringBefore($, "=") = "t"].$substringAfter($, "=") }}', format: 'unix', toleranceSeconds: 300 },
    headerFormat: 't={{ $timestamp }},v1={{ $signature }}',
    signed: '{{ $timestamp }}.{{ $rawBody }}',
    secret: '{{ $settings.webhookSecret }}',
  }
  const ts = String(NOW / 1000)

  it('Trengo `<ts>;<hash>`: a real header verifies, the signer writes the same shape', async () => {
    const engine = engineFor(trengo, { webhookSecret: SECRET })
    expect(await outcome(engine, delivery({ 'trengo-signature': `${ts};${hex(`${ts}.${BODY}`)}` }))).toMatchObject(accepted)
    const signed = await signDelivery(engine.mapping.webhook.verify, delivery(), { scope: scopeOf(engine, { webhookSecret: SECRET }), now: NOW })
    expect(signed.headers['trengo-signature']).toBe(`${ts};${hex(`${ts}.${BODY}`)}`)
    expect(await outcome(engine, signed, NOW + 301_000)).toMatchObject(rejected('timestamp outside the 300 s window'))
  })

  it('Stripe `t=…,v1=…,v1=…`: any v1 candidate may match; a malformed header is refused', async () => {
    const engine = engineFor(stripe, { webhookSecret: SECRET })
    const good = hex(`${ts}.${BODY}`)
    expect(await outcome(engine, delivery({ 'stripe-signature': `t=${ts},v1=${'0'.repeat(64)},v1=${good},v0=abc` }))).toMatchObject(accepted)
    expect(await outcome(engine, delivery({ 'stripe-signature': `t=${ts},v1=${'0'.repeat(64)}` }))).toMatchObject(rejected('signature does not match'))
    expect(await outcome(engine, delivery({ 'stripe-signature': `v1=${good}` }))).toMatchObject(rejected('timestamp missing or unreadable'))
    expect(await outcome(engine, delivery({ 'stripe-signature': `t=${ts};v1:${good}` }))).toMatchObject(rejected('timestamp missing or unreadable'))
    expect(await outcome(engine, delivery({ 'stripe-signature': `t=${ts},v2=${good}` }))).toMatchObject(
      rejected('no signature found in header stripe-signature'),
    )
    const signed = await signDelivery(engine.mapping.webhook.verify, delivery(), { scope: scopeOf(engine, { webhookSecret: SECRET }), now: NOW })
    expect(signed.headers['stripe-signature']).toBe(`t=${ts},v1=${good}`)
  })
})

describe('standardWebhooks', () => {
  const key = Buffer.from('standard-webhooks-test-key-32byt')
  const SECRET = `whsec_${key.toString('base64')}`
  const verify = { scheme: 'standardWebhooks', secret: '{{ $settings.webhookSecret }}' }
  const signature = (id: string, t: string, body: string) => createHmac('sha256', key).update(`${id}.${t}.${body}`).digest('base64')

  it('verifies any of several v1 candidates with the whsec_ secret; signs the same way', async () => {
    const engine = engineFor(verify, { webhookSecret: SECRET })
    const t = String(NOW / 1000)
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': t,
      'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} v1,${signature('msg_1', t, BODY)}`,
    }
    expect(await outcome(engine, delivery(headers))).toMatchObject(accepted)
    expect(await outcome(engine, delivery({ ...headers, 'webhook-id': 'msg_2' }))).toMatchObject(rejected('signature does not match'))
    expect(await outcome(engine, delivery(headers), NOW + 600_000)).toMatchObject(rejected('timestamp outside the 300 s window'))
    const signed = await signDelivery(engine.mapping.webhook.verify, delivery({ 'webhook-id': 'msg_9' }), {
      scope: scopeOf(engine, { webhookSecret: SECRET }),
      now: NOW,
    })
    expect(signed.headers['webhook-signature']).toBe(`v1,${signature('msg_9', t, BODY)}`)
    expect(await outcome(engine, signed)).toMatchObject(accepted)
  })
})
