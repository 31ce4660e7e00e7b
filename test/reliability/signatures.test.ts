// Signature attacks generated from each mapping's own `verify` block, for every mapping in mappings/ (one
// added later is attacked the same way): every forged delivery → 401 and zero Botpress writes, while the
// genuine delivery they are made from is accepted and writes.
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { fixtureDelivery } from '../../src/fixtures/runFixtures'
import { compileMappingText } from '../../src/mapping/loadMapping'
import type { CompiledMapping } from '../../src/mapping/compileMapping'
import type { Fixtures } from '../../src/mapping/types'
import { parseSettings } from '../../src/mapping/parseSettings'
import { parseWebhookBody } from '../../src/webhook/parseWebhookBody'
import { verifyKeyTemplate } from '../../src/webhook/signature'
import type { IncomingWebhook } from '../../src/webhook/routeWebhook'
import { mappingNames, report, root, startBundle, writesBy } from './support'

type Bundle = Awaited<ReturnType<typeof startBundle>>
type Attack = { name: string; delivery: IncomingWebhook; scope?: 'empty' | 'blank' }

const headerNames = (template: string) =>
  [...template.matchAll(/\$headers\s*\.\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z_][\w-]*))/g)].map((m) => (m[1] ?? m[2] ?? m[3])!.toLowerCase())
const WRONG = 'wrong-secret-value-000'

/** The scope a verify block renders its secret in, with every secret replaced by `value`. */
function scopeWithSecrets(mapping: CompiledMapping, settings: Record<string, unknown>, registration: Record<string, unknown>, value: string) {
  // Only what the verify secret reads: the other secrets (API tokens) stay as they are.
  const source = verifyKeyTemplate(mapping.webhook.verify)?.source ?? ''
  const s = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, source.includes(`$settings.${k}`) ? value : v]))
  const r = Object.fromEntries(Object.entries(registration).map(([k, v]) => [k, source.includes(`$registration.${k}`) ? value : v]))
  return { settings: s, registration: r }
}

async function attacksFor(
  mapping: CompiledMapping,
  fixtures: { settings: Record<string, unknown>; registration: Record<string, unknown>; keys?: Fixtures['keys'] },
  webhooks: { request: never; sign?: boolean }[],
): Promise<{ good: IncomingWebhook; attacks: Attack[] }> {
  const v = mapping.webhook.verify
  const scope = { settings: fixtures.settings, registration: fixtures.registration }
  const [first, second] = webhooks
  // Signed as the fixture runner signs, with the fixture's own test keys (rsa, jwt).
  const sign = (s: Record<string, unknown>, w: { request: never; sign?: boolean }, now = Date.now()) => fixtureDelivery(mapping, s, w, now, fixtures.keys)
  const good = await sign(scope, first!)
  const copy = (d: IncomingWebhook, patch: (h: Record<string, string>) => void, body = d.body): IncomingWebhook => {
    const headers = { ...d.headers }
    patch(headers)
    return { ...d, headers, body }
  }
  const attacks: Attack[] = []
  const wrong = await sign(scopeWithSecrets(mapping, fixtures.settings, fixtures.registration, WRONG), first!)
  if (v.scheme === 'hmac') {
    const sig = v.header
    const wrongSig = wrong.headers![sig]!
    attacks.push({ name: 'missing signature header', delivery: copy(good, (h) => delete h[sig]) })
    attacks.push({ name: 'signed with a wrong secret', delivery: wrong })
    // A byte appended to the raw body, whatever its encoding (JSON or form).
    attacks.push({ name: 'tampered body (one byte added)', delivery: copy(good, () => {}, `${good.body!} `) })
    if (second) {
      const other = await sign(scope, second)
      attacks.push({
        name: "another delivery's signature and timestamp",
        delivery: copy(good, (h) =>
          Object.assign(h, Object.fromEntries(Object.entries(other.headers!).filter(([k]) => k === sig || headerNames(v.signed.source).includes(k)))),
        ),
      })
    }
    if (v.timestamp) {
      const tol = v.timestamp.toleranceSeconds * 1000
      attacks.push({ name: 'outside the replay window (stale)', delivery: await sign(scope, first!, Date.now() - tol - 120_000) })
      attacks.push({ name: 'outside the replay window (future)', delivery: await sign(scope, first!, Date.now() + tol + 120_000) })
      // Only where the timestamp has a header of its own (a `ts;hash` header is covered by "missing signature header").
      const timestampHeader = headerNames(v.timestamp.value.source).find((n) => n !== sig.toLowerCase())
      if (timestampHeader) attacks.push({ name: 'timestamp header missing', delivery: copy(good, (h) => delete h[timestampHeader]) })
    }
    attacks.push({ name: 'duplicated signature headers, both wrong', delivery: copy(good, (h) => (h[sig] = `${wrongSig}, ${wrongSig.slice(0, -2)}00`)) })
    attacks.push({
      name: 'odd-cased header name with a wrong signature',
      delivery: copy(good, (h) => {
        delete h[sig]
        h[sig.replace(/./g, (c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase()))] = wrongSig
      }),
    })
    const digest = good.headers![sig]!.slice(v.prefix.length)
    const other = v.encoding === 'hex' ? Buffer.from(digest, 'hex').toString('base64') : Buffer.from(digest, 'base64').toString('hex')
    attacks.push({
      name: `the right digest in the other encoding (${v.encoding === 'hex' ? 'base64' : 'hex'})`,
      delivery: copy(good, (h) => (h[sig] = v.prefix + other)),
    })
    attacks.push({
      name: 'signature without its prefix, over the body alone',
      delivery: copy(good, (h) => (h[sig] = createHmac(v.algorithm, WRONG).update(good.body!).digest(v.encoding))),
    })
  } else if (v.scheme === 'secret') {
    const withoutSecret =
      v.in === 'query'
        ? { ...good, query: new URLSearchParams([...new URLSearchParams(String(good.query ?? ''))].filter(([k]) => k !== v.name)).toString() }
        : copy(good, (h) => delete h[v.in === 'basic' ? 'authorization' : v.name])
    attacks.push({ name: 'shared secret missing', delivery: withoutSecret })
    attacks.push({ name: 'shared secret wrong', delivery: wrong })
    if (v.in === 'header') {
      const given = good.headers![v.name]!
      attacks.push({
        name: 'the secret with a character changed',
        delivery: copy(good, (h) => (h[v.name] = given.slice(0, -1) + (given.endsWith('x') ? 'y' : 'x'))),
      })
      attacks.push({ name: 'duplicated secret headers, both wrong', delivery: copy(good, (h) => (h[v.name] = `${WRONG}, ${WRONG}`)) })
      const recased = given.toUpperCase() === given ? given.toLowerCase() : given.toUpperCase()
      if (recased !== given) attacks.push({ name: 'the secret in another case', delivery: copy(good, (h) => (h[v.name] = recased)) })
    }
  }
  if (v.scheme !== 'none') {
    attacks.push({
      name: 'empty secret configured, delivery signed with it',
      delivery: await sign(scopeWithSecrets(mapping, fixtures.settings, fixtures.registration, ''), first!),
      scope: 'empty',
    })
    attacks.push({
      name: 'white-space secret configured, delivery signed with it',
      delivery: await sign(scopeWithSecrets(mapping, fixtures.settings, fixtures.registration, '   '), first!),
      scope: 'blank',
    })
  }
  return { good, attacks }
}

/** Whether the first rule matching the fixture's body has no lookup steps. */
async function ruleWithoutSteps(
  mapping: CompiledMapping,
  request: { body?: unknown; headers?: Record<string, unknown>; query?: unknown },
  fixtures: { settings?: unknown; registration?: unknown },
): Promise<boolean> {
  if (mapping.webhook.forEach) return false
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, val]) => [k.toLowerCase(), String(val)]))
  const body =
    typeof request.body === 'string' ? parseWebhookBody(request.body, mapping.webhook.body, headers['content-type'] ?? 'application/json') : request.body
  const query = typeof request.query === 'string' ? Object.fromEntries(new URLSearchParams(request.query)) : (request.query ?? {})
  const scope = { headers, body, query, settings: fixtures.settings ?? {}, registration: fixtures.registration ?? {}, method: 'POST', path: '/' }
  for (const rule of mapping.webhook.events) {
    try {
      if (await rule.when.evaluate(body, scope)) return rule.steps.length === 0
    } catch {
      return false
    }
  }
  return false
}

const settingsText = (values: Record<string, unknown>) => stringify(values)

describe('reliability: signature attacks on every mapping in mappings/', () => {
  let b: Bundle
  beforeAll(async () => {
    b = await startBundle()
  })
  afterAll(async () => b?.stop())

  for (const name of mappingNames()) {
    it(`${name}: every forged delivery is refused 401 with zero Botpress writes; the genuine one is accepted`, async ({ skip }) => {
      const text = readFileSync(join(root, 'mappings', `${name}.yaml`), 'utf8')
      const mapping = compileMappingText(text, `mappings/${name}.yaml`)
      const fx = mapping.file.fixtures ?? {}
      if (mapping.webhook.verify.scheme === 'none') {
        report(`signatures ${name}: verify: none, nothing to attack (it accepts unsigned deliveries by design)`)
        return
      }
      if (mapping.webhook.verify.scheme !== 'hmac' && mapping.webhook.verify.scheme !== 'secret') {
        // Format 1.1's rsa, jwt and standardWebhooks schemes have no generated attacks yet; each mapping's own
        // fixtures refuse unsigned, wrongly signed and tampered deliveries, and test/engine/signature-schemes.test.ts
        // attacks each scheme with keys made in the test.
        report(`signatures ${name}: SKIPPED: no generated attacks for the ${mapping.webhook.verify.scheme} scheme yet; its own fixtures test it`)
        return skip(`${name}: no generated attacks for the ${mapping.webhook.verify.scheme} scheme yet`)
      }
      if (mapping.webhook.verify.scheme === 'secret' && mapping.webhook.verify.in === 'body') {
        // The secret is read by an expression (it may be a digest the expression computes): no generic forgery.
        report(`signatures ${name}: SKIPPED: verify reads its secret through an expression (in: body); its own fixtures test it`)
        return skip(`${name}: verify reads its secret through an expression (in: body), which the generator cannot forge generically`)
      }
      // Deliveries that become an event through a rule without lookup steps (those would call the helpdesk).
      const usable: typeof fx.webhooks = []
      for (const w of fx.webhooks ?? [])
        if (w.sign && (w.expect.events?.length ?? 0) > 0 && !w.stepResponses && (await ruleWithoutSteps(mapping, w.request as never, fx))) usable.push(w)
      if (usable.length === 0) {
        // Nothing to compare the attacks with: a forged delivery that writes nothing proves nothing then.
        report(`signatures ${name}: SKIPPED: no signed webhook fixture produces an event through a rule without lookup steps`)
        return skip(`${name} has no signed webhook fixture producing an event without lookup steps`)
      }
      const settings = parseSettings((fx.settings ?? {}) as Record<string, unknown>, mapping.file.settings ?? {}).values
      const registration = (fx.registration ?? {}) as Record<string, unknown>
      const { attacks } = await attacksFor(mapping, { settings, registration, keys: fx.keys }, usable as never)

      const id = b.identity(name)
      const client = b.integrationClient(name)
      const ticketId = String(usable[0]!.expect.events![0]!.ticketId)
      await client.getOrCreateConversation({ channel: 'hitl', tags: { id: ticketId }, discriminateByTags: ['id'] })
      const configure = async (reg: Record<string, unknown>, values: Record<string, unknown>) => {
        await client.setState({
          type: 'integration',
          id: id.integrationId,
          name: 'registration',
          payload: { values: reg, configHash: 'reliability', webhookUrl: 'https://webhook.botpress.cloud/x' },
        })
        return b.caller(name, { mapping: name, settings: settingsText(values) })
      }
      let bp = await configure(registration, settings)
      const send = (caller: typeof bp, d: IncomingWebhook) => caller.webhook({ ...d, query: typeof d.query === 'string' ? d.query : '' } as never)

      const outcomes: string[] = []
      for (const attack of attacks) {
        if (attack.scope) {
          const blank = attack.scope === 'empty' ? '' : '   '
          const s = scopeWithSecrets(mapping, settings, registration, blank)
          bp = await configure(s.registration, s.settings)
        }
        const from = b.emulator.calls.length
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
        outcomes.push(`${attack.name} → ${r.status}`)
        if (attack.scope) bp = await configure(registration, settings)
      }
      const from = b.emulator.calls.length
      const ok = await send(bp, await fixtureDelivery(mapping, { settings, registration }, usable[0] as never, Date.now(), fx.keys))
      expect(ok.status, `${name}: the genuine delivery answered ${ok.status} ${ok.body}`).toBe(200)
      const controlWrites = writesBy(b.emulator, id.integrationId, from).length
      expect(controlWrites, `${name}: the genuine delivery wrote nothing (the attacks proved nothing)`).toBeGreaterThan(0)
      // The same signed delivery again with every header the signature does not cover changed (a fresh
      // delivery id): accepted (it is genuine) but deduplicated, nothing written.
      const v = mapping.webhook.verify
      const signedHeaders = new Set(v.scheme === 'hmac' ? [...headerNames(v.signed.source), v.header] : v.scheme === 'secret' ? [v.name, 'authorization'] : [])
      const replay = await fixtureDelivery(mapping, { settings, registration }, usable[0] as never, Date.now(), fx.keys)
      for (const k of Object.keys(replay.headers!))
        if (!signedHeaders.has(k) && k !== 'content-type') replay.headers![k] = `replayed-${Math.random().toString(36).slice(2)}`
      // What a replay must not add: messages and events (an idempotent get-or-create call may still be made).
      const records = () => b.emulator.data.messages.size + b.emulator.data.events.size
      const before = records()
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
        `signatures ${name}: ${attacks.length} attacks, ${outcomes.filter((o) => / → (401|503)$/.test(o)).length} refused, 0 writes expected; genuine → 200 (${controlWrites} writes); replay with fresh unsigned headers → ${again.status}, ${replayWrites.length} new messages or events`,
      )
      for (const o of outcomes) report(`  ${name}: ${o}`)
    })
  }
})
