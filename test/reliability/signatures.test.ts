// Signature attacks generated from each mapping's own `verify` block, for every mapping in mappings/ (one
// added later is attacked the same way): every forged delivery → 401 and zero Botpress writes, while the
// genuine delivery they are made from is accepted and writes.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
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
import { encodeJwt, verifyKeyTemplate } from '../../src/webhook/signature'
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
    found = kept.length !== [...form].length || [...form].some(([, v]) => v === secret)
    text = new URLSearchParams(kept).toString()
  }
  if (!found) throw new Error('the fixture body does not carry the configured secret (in: body): nothing to forge from')
  return { ...d, body: text }
}

const otherCase = (s: string) => s.replace(/./g, (c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase()))
const changedLast = (s: string) => s.slice(0, -1) + (s.endsWith('x') ? 'y' : 'x')

async function attacksFor(
  mapping: CompiledMapping,
  fixtures: { settings: Scope; registration: Scope; webhookUrl: string; keys?: Keys },
  webhooks: Webhook[],
): Promise<{ good: IncomingWebhook; attacks: Attack[]; notes: string[] }> {
  const v = mapping.webhook.verify
  const scope = { settings: fixtures.settings, registration: fixtures.registration, webhookUrl: fixtures.webhookUrl }
  const secretsAs = (value: string) => ({ ...scopeWithSecrets(mapping, fixtures.settings, fixtures.registration, value), webhookUrl: fixtures.webhookUrl })
  const [first, second] = webhooks
  // Signed as the fixture runner signs, with the fixture's own test keys (rsa, jwt), or with `keys` instead;
  // `verify` replaces the mapping's block (the same signer under another algorithm, encoding or padding).
  const sign = (s: Scope, w: Webhook, now = Date.now(), keys = fixtures.keys, verify = v) =>
    fixtureDelivery(verify === v ? mapping : { ...mapping, webhook: { ...mapping.webhook, verify } }, s, w, now, keys)
  const good = await sign(scope, first!)
  const copy = (d: IncomingWebhook, patch: (h: Record<string, string>) => void, body = d.body): IncomingWebhook => {
    const headers = { ...d.headers }
    patch(headers)
    return { ...d, headers, body }
  }
  const attacks: Attack[] = []
  const notes: string[] = []
  const add = (name: string, delivery: IncomingWebhook, attackScope?: Attack['scope']) => attacks.push({ name, delivery, scope: attackScope })
  // Signed with what a forger has instead of the vendor's key: a wrong secret (hmac, HS256) or another key pair (rsa, RS256/ES256).
  const wrong = await sign(secretsAs(WRONG), first!, Date.now(), otherKeys(fixtures.keys))
  // A byte appended to the raw body, whatever its encoding (JSON or form).
  const tampered = copy(good, () => {}, `${good.body!} `)
  /** Headers that carry the wrong signature in a duplicated or odd-cased header. */
  const wrongHeaders = (sig: string, wrongSig: string, second: string) => {
    add(
      'duplicated signature headers, both wrong',
      copy(good, (h) => (h[sig] = `${wrongSig}, ${second}`)),
    )
    add(
      'odd-cased header name with a wrong signature',
      copy(good, (h) => {
        delete h[sig]
        h[otherCase(sig)] = wrongSig
      }),
    )
  }
  if (v.scheme === 'hmac' || v.scheme === 'rsa') {
    const sig = v.header
    const wrongSig = wrong.headers![sig]!
    add(
      'missing signature header',
      copy(good, (h) => delete h[sig]),
    )
    add(v.scheme === 'hmac' ? 'signed with a wrong secret' : 'signed with another key pair', wrong)
    add('tampered body (one byte added)', tampered)
    if (second) {
      const other = await sign(scope, second)
      add(
        "another delivery's signature and timestamp",
        copy(good, (h) =>
          Object.assign(h, Object.fromEntries(Object.entries(other.headers!).filter(([k]) => k === sig || headerNames(v.signed.source).includes(k)))),
        ),
      )
    }
    if (v.timestamp) {
      const tol = v.timestamp.toleranceSeconds * 1000
      add('outside the replay window (stale)', await sign(scope, first!, Date.now() - tol - BEYOND_WINDOW_MS))
      add('outside the replay window (future)', await sign(scope, first!, Date.now() + tol + BEYOND_WINDOW_MS))
      // Only where the timestamp has a header of its own (a `ts;hash` header is covered by "missing signature header").
      const timestampHeader = headerNames(v.timestamp.value.source).find((n) => n !== sig.toLowerCase())
      if (timestampHeader)
        add(
          'timestamp header missing',
          copy(good, (h) => delete h[timestampHeader]),
        )
    }
    wrongHeaders(sig, wrongSig, `${wrongSig.slice(0, -2)}00`)
    const digest = good.headers![sig]!.slice(v.prefix.length)
    const otherEncoding = v.encoding === 'hex' ? 'base64' : 'hex'
    const recoded = Buffer.from(digest, v.encoding).toString(otherEncoding)
    add(
      `the right signature in the other encoding (${otherEncoding})`,
      copy(good, (h) => (h[sig] = v.prefix + recoded)),
    )
    if (v.scheme === 'hmac') {
      add(
        'signature without its prefix, over the body alone',
        copy(good, (h) => (h[sig] = createHmac(v.algorithm, WRONG).update(good.body!).digest(v.encoding))),
      )
    } else {
      // The genuine key, signing under what the verify block does not name.
      const otherAlgorithm = v.algorithm === 'sha256' ? 'sha512' : 'sha256'
      add(
        `the right key under another algorithm (${otherAlgorithm})`,
        await sign(scope, first!, Date.now(), fixtures.keys, { ...v, algorithm: otherAlgorithm }),
      )
      const otherPadding = v.padding === 'pss' ? 'pkcs1' : 'pss'
      add(`the right key with the other padding (${otherPadding})`, await sign(scope, first!, Date.now(), fixtures.keys, { ...v, padding: otherPadding }))
    }
  } else if (v.scheme === 'jwt') {
    const tokenOf = (d: IncomingWebhook) => d.headers![v.header]!.slice(v.prefix.length)
    const [h64, c64, s64] = tokenOf(good).split('.') as [string, string, string]
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
    const header = decode(h64)
    const claims = decode(c64)
    const withToken = (token: string) => copy(good, (h) => (h[v.header] = v.prefix + token))
    // The same token with its claims or header changed, signed again with the fixture's genuine key.
    const resigned = (patch: Record<string, unknown>, headerPatch: Record<string, unknown> = {}, key: { secret?: string; privateKey?: string } = {}) =>
      withToken(encodeJwt({ ...header, ...headerPatch }, { ...claims, ...patch }, { secret: hsSecret, privateKey: fixtures.keys?.privateKey, ...key }))
    const hsSecret = v.key ? await v.key.render(undefined, scope) : undefined
    const now = Math.floor(Date.now() / 1000)
    const skew = v.clockSkewSeconds + BEYOND_WINDOW_MS / 1000
    add(
      'missing token header',
      copy(good, (h) => delete h[v.header]),
    )
    add(header.alg === 'HS256' ? 'token signed with a wrong secret' : 'token signed with another key (not in the key set)', wrong)
    add('alg: none, no signature', resigned({}, { alg: 'none' }))
    if (fixtures.keys?.privateKey) {
      // Algorithm confusion: HS256 keyed with the public key, which anyone may have.
      const publicPem = createPublicKey(fixtures.keys.privateKey).export({ type: 'spki', format: 'pem' }).toString()
      add('HS256 signed with the public key as secret (alg confusion)', resigned({}, { alg: 'HS256' }, { secret: publicPem }))
    }
    // Another issuer's and another receiver's values (not built from the genuine ones: those are configuration,
    // which the secrets scan treats as secret, and the refusal names the value it got).
    if (claims.iss !== undefined) add('wrong iss (another issuer)', resigned({ iss: 'another-issuer' }))
    if (claims.aud !== undefined) add('wrong aud (another receiver)', resigned({ aud: 'another-receiver' }))
    add('expired (exp beyond the clock skew)', resigned({ iat: now - 2 * skew, exp: now - skew }))
    add('not valid yet (nbf beyond the clock skew)', resigned({ nbf: now + skew }))
    add('issued in the future (iat beyond the clock skew)', resigned({ iat: now + skew, exp: now + 2 * skew }))
    for (const c of v.requiredClaims) if (c !== 'exp') add(`required claim ${c} missing`, resigned({ [c]: undefined }))
    add(
      'tampered payload, original signature',
      withToken(`${h64}.${Buffer.from(JSON.stringify({ ...claims, exp: now + 86_400 })).toString('base64url')}.${s64}`),
    )
    // A genuine token made a few seconds earlier (other iat and exp): its signature on this token's claims.
    const earlier = tokenOf(await sign(scope, first!, Date.now() - 5_000))
    add("another delivery's token signature on these claims", withToken(`${h64}.${c64}.${earlier.split('.')[2]}`))
    wrongHeaders(v.header, tokenOf(wrong), tokenOf(wrong))
    // The scheme binds no body (src/webhook/signature/jwt.ts checks header and claims only): no body attack.
    notes.push('the JWT binds no body (a tampered body is not refused by the signature)')
  } else if (v.scheme === 'standardWebhooks') {
    add(
      'missing signature header',
      copy(good, (h) => delete h['webhook-signature']),
    )
    add('signed with a wrong secret', wrong)
    add('tampered body (one byte added)', tampered)
    add('outside the replay window (stale)', await sign(scope, first!, Date.now() - v.toleranceSeconds * 1000 - BEYOND_WINDOW_MS))
    add('outside the replay window (future)', await sign(scope, first!, Date.now() + v.toleranceSeconds * 1000 + BEYOND_WINDOW_MS))
    wrongHeaders('webhook-signature', wrong.headers!['webhook-signature']!, 'v1,AAAA')
  } else if (v.scheme === 'secret' && v.in === 'body') {
    // The fixture's body carries the configured secret as written (signSharedSecret leaves it): each attack
    // puts something else there.
    const secret = await v.secret.render(undefined, scope)
    add('shared secret missing from the body', withBodySecret(good, secret, undefined))
    add('shared secret wrong', withBodySecret(good, secret, WRONG))
    add('the secret with a character changed', withBodySecret(good, secret, changedLast(secret)))
    if (otherCase(secret) !== secret) add('the secret in another case', withBodySecret(good, secret, otherCase(secret)))
    add('empty secret configured, delivery carrying it', withBodySecret(good, secret, ''), 'empty')
    add('white-space secret configured, delivery carrying it', withBodySecret(good, secret, '   '), 'blank')
  } else if (v.scheme === 'secret') {
    const withoutSecret =
      v.in === 'query'
        ? { ...good, query: new URLSearchParams([...new URLSearchParams(String(good.query ?? ''))].filter(([k]) => k !== v.name)).toString() }
        : copy(good, (h) => delete h[v.in === 'basic' ? 'authorization' : v.name])
    add('shared secret missing', withoutSecret)
    add('shared secret wrong', wrong)
    if (v.in === 'header') {
      const given = good.headers![v.name]!
      add(
        'the secret with a character changed',
        copy(good, (h) => (h[v.name] = changedLast(given))),
      )
      add(
        'duplicated secret headers, both wrong',
        copy(good, (h) => (h[v.name] = `${WRONG}, ${WRONG}`)),
      )
      const recased = given.toUpperCase() === given ? given.toLowerCase() : given.toUpperCase()
      if (recased !== given)
        add(
          'the secret in another case',
          copy(good, (h) => (h[v.name] = recased)),
        )
    }
  }
  const key = verifyKeyTemplate(v)
  if (v.scheme !== 'none' && !(v.scheme === 'secret' && v.in === 'body')) {
    if (key) {
      add('empty secret configured, delivery signed with it', await sign(secretsAs(''), first!), 'empty')
      add('white-space secret configured, delivery signed with it', await sign(secretsAs('   '), first!), 'blank')
    } else notes.push('no key setting to empty (the keys come from a key set URL)')
  }
  return { good, attacks, notes }
}

const settingsText = (values: Record<string, unknown>) => stringify(values)

/** The signed header(s) of a delivery: a replay may change every other header. */
function signedHeaders(v: CompiledMapping['webhook']['verify']): Set<string> {
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
      for (const n of notes) report(`  ${name}: note: ${n}`)
      for (const o of outcomes) report(`  ${name}: ${o}`)
    })
  }
})
