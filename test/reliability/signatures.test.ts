// Signature attacks generated from each mapping's own `verify` block, for every mapping in mappings/ (one
// added later is attacked the same way): every forged delivery → 401, zero Botpress writes and zero helpdesk
// requests, while the genuine delivery they are made from is accepted and writes. Forgeries are made with the
// scheme's own signer (src/webhook/signature), never a second implementation here.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { fixtureJwks } from '../../src/fixtures/conformancePlan'
import { fixtureDelivery } from '../../src/fixtures/runFixtures'
import { startStubHelpdesk, type StubHelpdesk, type StubResponse } from '../../src/fixtures/stubHelpdesk'
import { compileMappingText } from '../../src/mapping/loadMapping'
import type { CompiledMapping } from '../../src/mapping/compileMapping'
import type { Fixtures } from '../../src/mapping/types'
import { parseSettings } from '../../src/mapping/parseSettings'
import { encodeJwt, hmacDigest, verifyKeyTemplate } from '../../src/webhook/signature'
import type { IncomingWebhook } from '../../src/webhook/routeWebhook'
import { mappingNames, report, root, startBundle, writesBy } from './support'

type Bundle = Awaited<ReturnType<typeof startBundle>>
type Attack = { name: string; delivery: IncomingWebhook; scope?: 'empty' | 'blank' }
type Webhook = { request: never; sign?: boolean }
type Scope = Record<string, unknown>
type Keys = Fixtures['keys']

const headerNames = (template: string) =>
  [...template.matchAll(/\$headers\s*\.\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z_][\w-]*))/g)].map((m) => (m[1] ?? m[2] ?? m[3])!.toLowerCase())
const WRONG = 'wrong-secret-value-000'
/** How far outside a replay window or a clock skew the time attacks sign (well clear of the test's own duration). */
const BEYOND_WINDOW_MS = 120_000

/** The scope a verify block renders its secret in, with every secret replaced by `value`. */
function scopeWithSecrets(mapping: CompiledMapping, settings: Scope, registration: Scope, value: string) {
  // Only what the verify secret reads: the other secrets (API tokens) stay as they are.
  const source = verifyKeyTemplate(mapping.webhook.verify)?.source ?? ''
  const s = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, source.includes(`$settings.${k}`) ? value : v]))
  const r = Object.fromEntries(Object.entries(registration).map(([k, v]) => [k, source.includes(`$registration.${k}`) ? value : v]))
  return { settings: s, registration: r }
}

/** A key pair other than the fixture's, of the same type (what a forger without the vendor's key signs with). */
function otherKeys(keys: Keys): Keys {
  if (!keys?.privateKey) return keys
  const type = createPrivateKey(keys.privateKey).asymmetricKeyType
  const pair =
    type === 'ec'
      ? generateKeyPairSync('ec', {
          namedCurve: 'P-256',
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        })
      : generateKeyPairSync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        })
  return { ...keys, privateKey: pair.privateKey }
}

/** `value` replaced (or, for undefined, removed) wherever the body carries `secret`: a JSON or a form body. */
function withBodySecret(d: IncomingWebhook, secret: string, value: string | undefined): IncomingWebhook {
  const body = d.body ?? ''
  let found = false
  const swap = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(swap)
    if (!x || typeof x !== 'object') return x
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(x)) {
      if (v === secret) found = true
      if (v !== secret) out[k] = swap(v)
      else if (value !== undefined) out[k] = value
    }
    return out
  }
  let text: string
  try {
    text = JSON.stringify(swap(JSON.parse(body)))
  } catch {
    const form = new URLSearchParams(body)
    const kept = [...form].flatMap(([k, v]): [string, string][] => (v !== secret ? [[k, v]] : value === undefined ? [] : [[k, value]]))
    found = [...form].some(([, v]) => v === secret)
    text = new URLSearchParams(kept).toString()
  }
  if (!found) throw new Error('the fixture body does not carry the configured secret (in: body): nothing to forge from')
  return { ...d, body: text }
}

const otherCase = (s: string) => s.replace(/./g, (c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase()))
const changedLast = (s: string) => s.slice(0, -1) + (s.endsWith('x') ? 'y' : 'x')

type Verify = CompiledMapping['webhook']['verify']
type VerifyOf<S extends Verify['scheme']> = Extract<Verify, { scheme: S }>
type Fx = { settings: Scope; registration: Scope; webhookUrl: string; keys?: Keys }

/** What every scheme's attacks are made from: the genuine delivery, a forged one, and a signer to make more. */
type Context = {
  fixtures: Fx
  scope: Scope
  first: Webhook
  second?: Webhook
  good: IncomingWebhook
  /** Signed with what a forger has instead of the vendor's key: a wrong secret (hmac, HS256) or another key pair (rsa, RS256/ES256). */
  wrong: IncomingWebhook
  /** Signed as the fixture runner signs, at `now`, with `keys` and (for the same signer under another algorithm, encoding or padding) `verify`. */
  sign: (s: Scope, w: Webhook, now?: number, keys?: Keys, verify?: Verify) => Promise<IncomingWebhook>
  add: (name: string, delivery: IncomingWebhook, scope?: Attack['scope']) => void
  note: (text: string) => void
}

const copy = (d: IncomingWebhook, patch: (h: Record<string, string>) => void, body = d.body): IncomingWebhook => {
  const headers = { ...d.headers }
  patch(headers)
  return { ...d, headers, body }
}
// A byte appended to the raw body, whatever its encoding (JSON or form).
const tamperedBody = (d: IncomingWebhook) => copy(d, () => {}, `${d.body!} `)

/** A wrong signature in a duplicated header and under an odd-cased header name. */
function wrongHeaderAttacks(c: Context, header: string, wrongSig: string, second: string) {
  c.add(
    'duplicated signature headers, both wrong',
    copy(c.good, (h) => (h[header] = `${wrongSig}, ${second}`)),
  )
  c.add(
    'odd-cased header name with a wrong signature',
    copy(c.good, (h) => {
      delete h[header]
      h[otherCase(header)] = wrongSig
    }),
  )
}

/** `hmac` and `rsa`: a signature in a header over the `signed` template, maybe with a timestamp. */
async function headerSignatureAttacks(c: Context, v: VerifyOf<'hmac'> | VerifyOf<'rsa'>) {
  const sig = v.header
  const wrongSig = c.wrong.headers![sig]!
  c.add(
    'missing signature header',
    copy(c.good, (h) => delete h[sig]),
  )
  c.add(v.scheme === 'hmac' ? 'signed with a wrong secret' : 'signed with another key pair', c.wrong)
  c.add('tampered body (one byte added)', tamperedBody(c.good))
  if (c.second) {
    const other = await c.sign(c.scope, c.second)
    const taken = (k: string) => k === sig || headerNames(v.signed.source).includes(k)
    c.add(
      "another delivery's signature and timestamp",
      copy(c.good, (h) => Object.assign(h, Object.fromEntries(Object.entries(other.headers!).filter(([k]) => taken(k))))),
    )
  }
  if (v.timestamp) {
    const tol = v.timestamp.toleranceSeconds * 1000
    c.add('outside the replay window (stale)', await c.sign(c.scope, c.first, Date.now() - tol - BEYOND_WINDOW_MS))
    c.add('outside the replay window (future)', await c.sign(c.scope, c.first, Date.now() + tol + BEYOND_WINDOW_MS))
    // Only where the timestamp has a header of its own (a `ts;hash` header is covered by "missing signature header").
    const timestampHeader = headerNames(v.timestamp.value.source).find((n) => n !== sig.toLowerCase())
    if (timestampHeader)
      c.add(
        'timestamp header missing',
        copy(c.good, (h) => delete h[timestampHeader]),
      )
  }
  wrongHeaderAttacks(c, sig, wrongSig, `${wrongSig.slice(0, -2)}00`)
  const digest = c.good.headers![sig]!.slice(v.prefix.length)
  const otherEncoding = v.encoding === 'hex' ? 'base64' : 'hex'
  const recoded = Buffer.from(digest, v.encoding).toString(otherEncoding)
  c.add(
    `the right signature in the other encoding (${otherEncoding})`,
    copy(c.good, (h) => (h[sig] = v.prefix + recoded)),
  )
  if (v.scheme === 'hmac') {
    const bare = hmacDigest(v.algorithm, v.encoding, WRONG, c.good.body!)
    c.add(
      'signature without its prefix, over the body alone',
      copy(c.good, (h) => (h[sig] = bare)),
    )
  } else {
    // The genuine key, signing under what the verify block does not name.
    const otherAlgorithm = v.algorithm === 'sha256' ? 'sha512' : 'sha256'
    c.add(
      `the right key under another algorithm (${otherAlgorithm})`,
      await c.sign(c.scope, c.first, Date.now(), c.fixtures.keys, { ...v, algorithm: otherAlgorithm }),
    )
    const otherPadding = v.padding === 'pss' ? 'pkcs1' : 'pss'
    c.add(
      `the right key with the other padding (${otherPadding})`,
      await c.sign(c.scope, c.first, Date.now(), c.fixtures.keys, { ...v, padding: otherPadding }),
    )
  }
}

/** `jwt`: the genuine token taken apart and put together again wrongly, signed with the genuine key where that matters. */
async function jwtAttacks(c: Context, v: VerifyOf<'jwt'>) {
  const tokenOf = (d: IncomingWebhook) => d.headers![v.header]!.slice(v.prefix.length)
  const [h64, c64, s64] = tokenOf(c.good).split('.') as [string, string, string]
  const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
  const header = decode(h64)
  const claims = decode(c64)
  const withToken = (token: string) => copy(c.good, (h) => (h[v.header] = v.prefix + token))
  const hsSecret = v.key ? await v.key.render(undefined, c.scope) : undefined
  // The token with its claims or header changed, signed again with the fixture's genuine key (or `key`).
  const resigned = (patch: Record<string, unknown>, headerPatch: Record<string, unknown> = {}, key: { secret?: string; privateKey?: string } = {}) =>
    withToken(encodeJwt({ ...header, ...headerPatch }, { ...claims, ...patch }, { secret: hsSecret, privateKey: c.fixtures.keys?.privateKey, ...key }))
  const now = Math.floor(Date.now() / 1000)
  const skew = v.clockSkewSeconds + BEYOND_WINDOW_MS / 1000
  c.add(
    'missing token header',
    copy(c.good, (h) => delete h[v.header]),
  )
  c.add(header.alg === 'HS256' ? 'token signed with a wrong secret' : 'token signed with another key (not in the key set)', c.wrong)
  c.add('alg: none, no signature', resigned({}, { alg: 'none' }))
  if (c.fixtures.keys?.privateKey) {
    // Algorithm confusion: HS256 keyed with the public key, which anyone may have.
    const publicPem = createPublicKey(c.fixtures.keys.privateKey).export({ type: 'spki', format: 'pem' }).toString()
    c.add('HS256 signed with the public key as secret (alg confusion)', resigned({}, { alg: 'HS256' }, { secret: publicPem }))
  }
  // Another issuer's and another receiver's values (not built from the genuine ones: those are configuration,
  // which the secrets scan treats as secret, and the refusal names the value it got).
  if (claims.iss !== undefined) c.add('wrong iss (another issuer)', resigned({ iss: 'another-issuer' }))
  if (claims.aud !== undefined) c.add('wrong aud (another receiver)', resigned({ aud: 'another-receiver' }))
  c.add('expired (exp beyond the clock skew)', resigned({ iat: now - 2 * skew, exp: now - skew }))
  c.add('not valid yet (nbf beyond the clock skew)', resigned({ nbf: now + skew }))
  c.add('issued in the future (iat beyond the clock skew)', resigned({ iat: now + skew, exp: now + 2 * skew }))
  for (const claim of v.requiredClaims) if (claim !== 'exp') c.add(`required claim ${claim} missing`, resigned({ [claim]: undefined }))
  c.add(
    'tampered payload, original signature',
    withToken(`${h64}.${Buffer.from(JSON.stringify({ ...claims, exp: now + 86_400 })).toString('base64url')}.${s64}`),
  )
  // A genuine token made a few seconds earlier (other iat and exp): its signature on this token's claims.
  const earlier = tokenOf(await c.sign(c.scope, c.first, Date.now() - 5_000))
  c.add("another delivery's token signature on these claims", withToken(`${h64}.${c64}.${earlier.split('.')[2]}`))
  wrongHeaderAttacks(c, v.header, tokenOf(c.wrong), tokenOf(c.wrong))
  // The scheme binds no body (src/webhook/signature/jwt.ts checks header and claims only): no body attack.
  c.note('the JWT binds no body (a tampered body is not refused by the signature)')
}

async function standardWebhooksAttacks(c: Context, v: VerifyOf<'standardWebhooks'>) {
  const window = v.toleranceSeconds * 1000 + BEYOND_WINDOW_MS
  c.add(
    'missing signature header',
    copy(c.good, (h) => delete h['webhook-signature']),
  )
  c.add('signed with a wrong secret', c.wrong)
  c.add('tampered body (one byte added)', tamperedBody(c.good))
  c.add('outside the replay window (stale)', await c.sign(c.scope, c.first, Date.now() - window))
  c.add('outside the replay window (future)', await c.sign(c.scope, c.first, Date.now() + window))
  wrongHeaderAttacks(c, 'webhook-signature', c.wrong.headers!['webhook-signature']!, 'v1,AAAA')
}

/** `secret` in a header, the query or basic auth: the signer puts it there. */
function sharedSecretAttacks(c: Context, v: VerifyOf<'secret'>) {
  const withoutSecret =
    v.in === 'query'
      ? { ...c.good, query: new URLSearchParams([...new URLSearchParams(String(c.good.query ?? ''))].filter(([k]) => k !== v.name)).toString() }
      : copy(c.good, (h) => delete h[v.in === 'basic' ? 'authorization' : v.name])
  c.add('shared secret missing', withoutSecret)
  c.add('shared secret wrong', c.wrong)
  if (v.in === 'header') {
    const given = c.good.headers![v.name]!
    c.add(
      'the secret with a character changed',
      copy(c.good, (h) => (h[v.name] = changedLast(given))),
    )
    c.add(
      'duplicated secret headers, both wrong',
      copy(c.good, (h) => (h[v.name] = `${WRONG}, ${WRONG}`)),
    )
    const recased = given.toUpperCase() === given ? given.toLowerCase() : given.toUpperCase()
    if (recased !== given)
      c.add(
        'the secret in another case',
        copy(c.good, (h) => (h[v.name] = recased)),
      )
  }
}

/** `secret` `in: body`: the fixture's body carries the configured secret as written (signSharedSecret leaves it); each attack puts something else there. */
async function bodySecretAttacks(c: Context, v: VerifyOf<'secret'>) {
  const secret = await v.secret.render(undefined, c.scope)
  c.add('shared secret missing from the body', withBodySecret(c.good, secret, undefined))
  c.add('shared secret wrong', withBodySecret(c.good, secret, WRONG))
  c.add('the secret with a character changed', withBodySecret(c.good, secret, changedLast(secret)))
  if (otherCase(secret) !== secret) c.add('the secret in another case', withBodySecret(c.good, secret, otherCase(secret)))
  c.add('empty secret configured, delivery carrying it', withBodySecret(c.good, secret, ''), 'empty')
  c.add('white-space secret configured, delivery carrying it', withBodySecret(c.good, secret, '   '), 'blank')
}

async function attacksFor(mapping: CompiledMapping, fixtures: Fx, webhooks: Webhook[]): Promise<{ attacks: Attack[]; notes: string[] }> {
  const v = mapping.webhook.verify
  const scope = { settings: fixtures.settings, registration: fixtures.registration, webhookUrl: fixtures.webhookUrl }
  const secretsAs = (value: string) => ({ ...scopeWithSecrets(mapping, fixtures.settings, fixtures.registration, value), webhookUrl: fixtures.webhookUrl })
  const [first, second] = webhooks as [Webhook, Webhook | undefined]
  const sign: Context['sign'] = (s, w, now = Date.now(), keys = fixtures.keys, verify = v) =>
    fixtureDelivery(verify === v ? mapping : { ...mapping, webhook: { ...mapping.webhook, verify } }, s, w, now, keys)
  const attacks: Attack[] = []
  const notes: string[] = []
  const c: Context = {
    fixtures,
    scope,
    first,
    second,
    good: await sign(scope, first),
    wrong: await sign(secretsAs(WRONG), first, Date.now(), otherKeys(fixtures.keys)),
    sign,
    add: (name, delivery, attackScope) => attacks.push({ name, delivery, scope: attackScope }),
    note: (text) => notes.push(text),
  }
  switch (v.scheme) {
    case 'none':
      return { attacks, notes }
    case 'hmac':
    case 'rsa':
      await headerSignatureAttacks(c, v)
      break
    case 'jwt':
      await jwtAttacks(c, v)
      break
    case 'standardWebhooks':
      await standardWebhooksAttacks(c, v)
      break
    case 'secret':
      // The empty and blank secrets travel in the body too: made there.
      if (v.in === 'body') {
        await bodySecretAttacks(c, v)
        return { attacks, notes }
      }
      sharedSecretAttacks(c, v)
  }
  if (verifyKeyTemplate(v)) {
    c.add('empty secret configured, delivery signed with it', await sign(secretsAs(''), first), 'empty')
    c.add('white-space secret configured, delivery signed with it', await sign(secretsAs('   '), first), 'blank')
  } else c.note('no key setting to empty (the keys come from a key set URL)')
  return { attacks, notes }
}

const settingsText = (values: Record<string, unknown>) => stringify(values)

/** The signed header(s) of a delivery: a replay may change every other header. */
function signedHeaders(v: Verify): Set<string> {
  switch (v.scheme) {
    case 'hmac':
    case 'rsa':
      return new Set([...headerNames(v.signed.source), ...headerNames(v.timestamp?.value.source ?? ''), v.header])
    case 'jwt':
      return new Set([v.header])
    case 'standardWebhooks':
      return new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature'])
    case 'secret':
      return new Set([v.name, 'authorization'])
    case 'none':
      return new Set()
  }
}

describe('reliability: signature attacks on every mapping in mappings/', () => {
  let b: Bundle
  // Every helpdesk request of the integration process goes here: lookups of the genuine delivery are answered
  // from its fixture's stepResponses, a jwt key set from the fixture's test key; attacks must send none.
  let stub: StubHelpdesk
  beforeAll(async () => {
    stub = await startStubHelpdesk()
    b = await startBundle({ UNIVERSAL_HITL_VENDOR_ORIGIN: stub.url })
  })
  afterAll(async () => {
    await b?.stop()
    await stub?.close()
  })

  for (const name of mappingNames()) {
    it(`${name}: every forged delivery is refused 401 with zero Botpress writes and zero helpdesk requests; the genuine one is accepted`, async ({ skip }) => {
      const text = readFileSync(join(root, 'mappings', `${name}.yaml`), 'utf8')
      const mapping = compileMappingText(text, `mappings/${name}.yaml`)
      const fx = mapping.file.fixtures ?? {}
      const v = mapping.webhook.verify
      if (v.scheme === 'none') {
        report(`signatures ${name}: verify: none, nothing to attack (it accepts unsigned deliveries by design)`)
        return
      }
      // Signed deliveries that become events, one with lookup steps first where there is one (the stub answers
      // them from its stepResponses): the control then shows the lookups the attacks never reached.
      const usable = (fx.webhooks ?? [])
        .filter((w) => w.sign && (w.expect.events?.length ?? 0) > 0)
        .sort((x, y) => Number(!!y.stepResponses) - Number(!!x.stepResponses))
      if (usable.length === 0) {
        // Nothing to compare the attacks with: a forged delivery that writes nothing proves nothing then.
        report(`signatures ${name}: SKIPPED: no signed webhook fixture produces an event`)
        return skip(`${name} has no signed webhook fixture producing an event`)
      }
      const settings = parseSettings((fx.settings ?? {}) as Record<string, unknown>, mapping.file.settings ?? {}).values
      const registration = (fx.registration ?? {}) as Record<string, unknown>
      const id = b.identity(name)
      const webhookUrl = `https://webhook.botpress.cloud/${id.webhookId}`
      const { attacks, notes } = await attacksFor(mapping, { settings, registration, webhookUrl, keys: fx.keys }, usable as never)

      stub.reset()
      const jwks = await fixtureJwks(mapping, { settings, registration, webhookUrl })
      if (jwks) stub.route({ method: 'GET', path: jwks.path, respond: () => ({ body: jwks.body }) })
      // The other requests get the control fixture's step answers in the order its steps declare them (requests
      // through UNIVERSAL_HITL_VENDOR_ORIGIN carry no step id), then 200 {}.
      const answers: StubResponse[] = []
      stub.route({ path: /.*/, respond: () => answers.shift() ?? { status: 200, body: {} } })
      const stepAnswers = () => Object.values(usable[0]!.stepResponses ?? {}).flat()
      const helpdeskRequests = () => stub.requests.filter((r) => r.path !== jwks?.path).map((r) => `${r.method} ${r.path}`)

      const client = b.integrationClient(name)
      const ticketId = String(usable[0]!.expect.events![0]!.ticketId)
      await client.getOrCreateConversation({ channel: 'hitl', tags: { id: ticketId }, discriminateByTags: ['id'] })
      const configure = async (reg: Record<string, unknown>, values: Record<string, unknown>) => {
        await client.setState({
          type: 'integration',
          id: id.integrationId,
          name: 'registration',
          payload: { values: reg, configHash: 'reliability', webhookUrl },
        })
        return b.caller(name, { mapping: name, settings: settingsText(values) })
      }
      let bp = await configure(registration, settings)
      const send = (caller: typeof bp, d: IncomingWebhook) => caller.webhook({ ...d, query: typeof d.query === 'string' ? d.query : '' } as never)
      const genuine = () => fixtureDelivery(mapping, { settings, registration, webhookUrl }, usable[0] as never, Date.now(), fx.keys)

      const outcomes: string[] = []
      for (const attack of attacks) {
        if (attack.scope) {
          const blank = attack.scope === 'empty' ? '' : '   '
          const s = scopeWithSecrets(mapping, settings, registration, blank)
          bp = await configure(s.registration, s.settings)
        }
        const from = b.emulator.calls.length
        const sentBefore = helpdeskRequests().length
        const r = await send(bp, attack.delivery)
        const writes = writesBy(b.emulator, id.integrationId, from).filter((c) => !c.path.includes('/states/integration/'))
        // A secret from the settings that is empty or blank makes the configuration itself invalid: 503
        // "misconfigured" (the save is refused too); nothing is written either way.
        const settingsSecret = !!attack.scope && r.status === 503 && /misconfigured/.test(r.body)
        expect.soft(r.status === 401 || settingsSecret, `${name}: ${attack.name} answered ${r.status} ${r.body}`).toBe(true)
        expect
          .soft(
            writes.map((c) => `${c.method} ${c.path}`),
            `${name}: ${attack.name} wrote to Botpress`,
          )
          .toEqual([])
        // Verification comes before any lookup: a refused delivery costs the helpdesk nothing.
        expect.soft(helpdeskRequests().slice(sentBefore), `${name}: ${attack.name} sent helpdesk requests`).toEqual([])
        outcomes.push(`${attack.name} → ${r.status}`)
        if (attack.scope) bp = await configure(registration, settings)
      }
      const attackRequests = helpdeskRequests().length
      const from = b.emulator.calls.length
      answers.push(...stepAnswers())
      const ok = await send(bp, await genuine())
      expect(ok.status, `${name}: the genuine delivery answered ${ok.status} ${ok.body}`).toBe(200)
      const controlWrites = writesBy(b.emulator, id.integrationId, from).length
      expect(controlWrites, `${name}: the genuine delivery wrote nothing (the attacks proved nothing)`).toBeGreaterThan(0)
      const controlLookups = helpdeskRequests().length - attackRequests
      expect.soft(answers, `${name}: the genuine delivery left step answers unused (its lookups were not made)`).toEqual([])
      // The same signed delivery again with every header the signature does not cover changed (a fresh
      // delivery id): accepted (it is genuine) but deduplicated, nothing written.
      const covered = signedHeaders(v)
      const replay = await genuine()
      for (const k of Object.keys(replay.headers!))
        if (!covered.has(k) && k !== 'content-type') replay.headers![k] = `replayed-${Math.random().toString(36).slice(2)}`
      // What a replay must not add: messages and events (an idempotent get-or-create call may still be made).
      const records = () => b.emulator.data.messages.size + b.emulator.data.events.size
      const before = records()
      answers.length = 0
      answers.push(...stepAnswers())
      const again = await send(bp, replay)
      const replayWrites = Array.from({ length: records() - before }, () => ({ method: 'new', path: 'message or event' }))
      expect.soft(again.status).toBe(200)
      expect
        .soft(
          replayWrites.map((c) => `${c.method} ${c.path}`),
          `${name}: a replay with fresh unsigned headers added a message or event`,
        )
        .toEqual([])
      report(
        `signatures ${name} (${v.scheme}${v.scheme === 'secret' ? `, in: ${v.in}` : ''}): ${attacks.length} attacks, ${outcomes.filter((o) => / → (401|503)$/.test(o)).length} refused, 0 writes expected, ${attackRequests} helpdesk requests; genuine → 200 (${controlWrites} writes, ${controlLookups} helpdesk requests); replay with fresh unsigned headers → ${again.status}, ${replayWrites.length} new messages or events`,
      )
      if (jwks) notes.push(`${stub.requests.filter((r) => r.path === jwks.path).length} key set fetch(es), from the stub (the fixture's test key)`)
      for (const n of notes) report(`  ${name}: note: ${n}`)
      for (const o of outcomes) report(`  ${name}: ${o}`)
    })
  }
})
