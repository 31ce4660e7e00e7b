import type { DiagnosticCode } from '../diagnostics/codes'
import { ExpressionEvaluationError, type Scope } from '../expr/compileExpression'
import { stringify } from '../expr/compileTemplate'
import type { CompiledEventRule } from '../mapping/compileMapping'
import { fetchVendorJson, runSteps, type RunContext } from '../operations/runSteps'
import { parseQuery, parseWebhookBody, WebhookBodyError } from './parseWebhookBody'
import { explainObject, type ObjectExplanation } from './explainRules'
import { MAX_EVENTS_PER_DELIVERY } from './limits'
import { mayMatch } from './ruleGuards'
import { cachedKeySet, verifyReadsBody, verifySignature } from './signature'

export type IncomingWebhook = {
  method?: string
  path?: string
  query?: string | Record<string, string>
  headers?: Record<string, string>
  body?: string
}

export type WebhookEvent = {
  type: 'newMessage' | 'assigned' | 'solved'
  ticketId: string
  messageId?: string
  agent?: { id?: string; name?: string; avatarUrl?: string; email?: string }
  message?: { type: string; text?: string; url?: string; title?: string }
  /** The agent's files (newMessage): each becomes a Botpress media message after the text. */
  attachments?: Attachment[]
  /**
   * The ticket's per-ticket values after this event's rule (`set:`), when the rule changed them: the glue
   * stores them with the conversation. Absent when nothing changed.
   */
  ticket?: Record<string, unknown>
  /** Delivery key for deduplication (unique per event within a delivery). */
  dedupeKey?: string
  /** The rule that produced it, for logs. */
  rule: string
}

/**
 * `rehost`: the URL needs the helpdesk's credentials; the glue downloads it and re-hosts it on Botpress. `true`: the
 * URL answers the file; `{base64}`: it answers JSON with the file base64-encoded at that dotted field path.
 */
export type Attachment = { type: 'image' | 'audio' | 'video' | 'file'; url: string; name?: string; contentType?: string; rehost?: Rehost }
export type Rehost = true | { base64: string }

const MEDIA_TYPES: readonly string[] = ['image', 'audio', 'video', 'file']

/** A rule's `attachments` result → attachments with a URL; the type from `type`, else from the content type. */
function attachmentsOf(value: unknown): Attachment[] {
  const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]
  const out: Attachment[] = []
  for (const a of list as Record<string, unknown>[]) {
    const url = textOrUndefined(a?.url)
    if (!url) continue
    const contentType = textOrUndefined(a.contentType)
    const family = contentType?.split('/')[0] ?? ''
    const type = (MEDIA_TYPES.includes(String(a.type)) ? a.type : ['image', 'audio', 'video'].includes(family) ? family : 'file') as Attachment['type']
    const name = textOrUndefined(a.name)
    const rehost = rehostOf(a.rehost)
    out.push({ type, url, ...(name ? { name } : {}), ...(contentType ? { contentType } : {}), ...(rehost ? { rehost } : {}) })
  }
  return out
}

/**
 * `true`, or an object read as `{base64}`: an object without a text `base64` keeps an empty path, so re-hosting
 * fails with a note saying so (the end user is told) rather than passing the helpdesk's URL on as a link.
 */
function rehostOf(value: unknown): Rehost | undefined {
  if (value === true) return true
  if (value === null || typeof value !== 'object') return undefined
  const base64 = (value as { base64?: unknown }).base64
  return { base64: typeof base64 === 'string' ? base64 : '' }
}

/** Where the router reads `$ticket` from: the values stored with the ticket's conversation (undefined = none). */
export type TicketValuesLoader = (ticketId: string) => Promise<Record<string, unknown> | undefined>

export type WebhookOutcome =
  | { kind: 'handshake'; status: number; headers: Record<string, string>; body?: string }
  | { kind: 'rejected'; status: 401; reason: string }
  | { kind: 'invalid'; status: 400 | 413; reason: string }
  | { kind: 'events'; events: WebhookEvent[]; unmatched: number; skipped: string[]; explain?: ObjectExplanation[] }

/** The code a refused delivery is reported with (docs/errors.md): one per outcome kind and status. */
export const refusalCode = (o: Extract<WebhookOutcome, { kind: 'rejected' | 'invalid' }>): DiagnosticCode =>
  o.kind === 'rejected' ? 'UH-E047' : o.status === 413 ? 'UH-E048' : 'UH-E049'

const idString = (v: unknown): string | undefined => (v === undefined || v === null || v === '' || typeof v === 'object' ? undefined : String(v))
const textOrUndefined = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : stringify(v))

async function fields(pairs: [string, { evaluate(c: unknown, s: Scope): Promise<unknown> }][], context: unknown, scope: Scope, asId: string[] = []) {
  const out: Record<string, string> = {}
  for (const [k, e] of pairs) {
    const v = await e.evaluate(context, scope)
    const s = asId.includes(k) ? idString(v) : textOrUndefined(v)
    if (s !== undefined && s !== '') out[k] = s
  }
  return Object.keys(out).length ? out : undefined
}

/** `$ticket` for this delivery: each ticket's values loaded at most once, with the delivery's `set:`s applied. */
class DeliveryTickets {
  private readonly values = new Map<string, Record<string, unknown>>()
  constructor(private readonly load?: TicketValuesLoader) {}

  async get(ticketId: string | undefined): Promise<Record<string, unknown>> {
    if (!ticketId) return {}
    let v = this.values.get(ticketId)
    if (!v) {
      v = { ...((await this.load?.(ticketId)) ?? {}) }
      this.values.set(ticketId, v)
    }
    return v
  }
}

/** An expression's value as a list: an array as it is, nothing as none, anything else as one element. */
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v])

/** An `each` list longer than a delivery may produce: found before any of its events is made. */
class TooManyEvents extends Error {
  constructor(readonly count: number) {
    super(`${count} events`)
  }
}

/**
 * The events one rule produces from one element: one per `emit` type, in order, sharing the fields; with
 * `each`, that once per element of its list (`$item`), in order.
 */
async function produce(
  rule: CompiledEventRule,
  ctx: RunContext,
  context: unknown,
  scope: Scope,
  tickets: DeliveryTickets,
): Promise<Omit<WebhookEvent, 'dedupeKey'>[]> {
  // `$ticket` is keyed by the ticket id, so with a rule that reads it the id is read first (it cannot use $steps).
  const early = rule.readsTicket ? idString(await rule.ticketId.evaluate(context, scope)) : undefined
  // A copy: the rule's own `set:` below must not change what its later fields (message, attachments) read.
  const withTicket = rule.readsTicket ? { ...scope, ticket: { ...(await tickets.get(early)) } } : scope
  const steps = rule.steps.length ? await runSteps(rule.steps, ctx, context, withTicket) : {}
  const s = { ...withTicket, steps }
  const ticketId = early ?? idString(await rule.ticketId.evaluate(context, s))
  if (!ticketId) throw new WebhookBodyError(`${rule.label}: ticketId evaluated to nothing`)
  if (!rule.each) return produceOne(rule, context, s, ticketId, tickets)
  const items = listOf(await rule.each.evaluate(context, s))
  if (items.length * rule.emit.length > MAX_EVENTS_PER_DELIVERY) throw new TooManyEvents(items.length * rule.emit.length)
  const events: Omit<WebhookEvent, 'dedupeKey'>[] = []
  for (const [index, item] of items.entries()) events.push(...(await produceOne(rule, context, { ...s, item, index }, ticketId, tickets)))
  return events
}

/** The events of one rule for one element (and one `each` item): the fields read with scope `s`. */
async function produceOne(
  rule: CompiledEventRule,
  context: unknown,
  s: Scope,
  ticketId: string,
  tickets: DeliveryTickets,
): Promise<Omit<WebhookEvent, 'dedupeKey'>[]> {
  const base: Omit<WebhookEvent, 'dedupeKey' | 'type'> = { ticketId, rule: rule.label }
  if (rule.messageId) {
    const id = idString(await rule.messageId.evaluate(context, s))
    if (id) base.messageId = id
  }
  const agent = await fields(rule.agent, context, s, ['id'])
  if (agent) base.agent = agent
  if (rule.set.length) {
    const current = await tickets.get(ticketId)
    let changed = false
    for (const [k, e] of rule.set) {
      const v = await e.evaluate(context, s)
      if (JSON.stringify(v) !== JSON.stringify(current[k])) changed = true
      if (v === undefined) delete current[k]
      else current[k] = v
    }
    if (changed) base.ticket = { ...current }
  }
  const events: Omit<WebhookEvent, 'dedupeKey'>[] = []
  for (const type of rule.emit) {
    const event: Omit<WebhookEvent, 'dedupeKey'> = { type, ...base }
    if (type === 'newMessage') {
      const message = (await fields(rule.message, context, s)) ?? {}
      event.message = { ...message, type: message.type ?? 'text' }
      const attachments = rule.attachments ? attachmentsOf(await rule.attachments.evaluate(context, s)) : []
      if (attachments.length) event.attachments = attachments
    }
    events.push(event)
  }
  return events
}

export type RouteOptions = {
  skipVerify?: boolean
  now?: number
  /** Also say, per event object, what every rule's `when` gave (`route --explain`, failing fixtures). */
  explain?: boolean
  /** Where `$ticket` is read from (the glue: the conversation's tag; fixtures: their `ticket`). */
  ticketValues?: TicketValuesLoader
}

/**
 * A vendor's delivery → handshake reply, rejection, or events. Pure engine: no Botpress here.
 * `ctx.scope` carries `$settings` and `$registration`; lookup steps use `ctx` for HTTP.
 */
export async function routeWebhook(req: IncomingWebhook, ctx: RunContext, options?: RouteOptions): Promise<WebhookOutcome> {
  const w = ctx.mapping.webhook
  const raw = req.body ?? ''
  if (Buffer.byteLength(raw) > w.maxBodyBytes) return { kind: 'invalid', status: 413, reason: `body larger than ${w.maxBodyBytes} bytes` }
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = String(v)
  const query = parseQuery(req.query)
  const scope: Scope = { ...ctx.scope, rawBody: raw, headers, query, method: (req.method ?? 'POST').toUpperCase(), path: req.path ?? '/' }
  const verify = async (body: unknown): Promise<WebhookOutcome | undefined> => {
    if (options?.skipVerify) return undefined
    const keySet =
      ctx.keySet ?? ((url: string, refetch: boolean, now: number) => cachedKeySet(url, refetch, now, (u) => fetchVendorJson(u, ctx, 'webhook.verify jwksUrl')))
    const verdict = await verifySignature(w.verify, { headers, query, body, scope, now: options?.now ?? ctx.now?.(), keySet })
    return verdict.ok ? undefined : { kind: 'rejected', status: 401, reason: verdict.reason }
  }

  // Where the signature covers the raw body (and no handshake must be answered first), verify before parsing:
  // an unsigned request then costs no parse at all.
  const verifyFirst = w.handshake.length === 0 && !verifyReadsBody(w.verify)
  if (verifyFirst) {
    const rejected = await verify(undefined)
    if (rejected) return rejected
  }
  let body: unknown
  let bodyError: WebhookBodyError | undefined
  try {
    body = parseWebhookBody(raw, w.body, headers['content-type'])
  } catch (e) {
    if (!(e instanceof WebhookBodyError)) throw e
    bodyError = e
  }
  scope.body = body

  for (const h of w.handshake) {
    if (await h.when.evaluate(body ?? {}, scope)) {
      const replyHeaders: Record<string, string> = {}
      for (const [k, t] of h.headers) replyHeaders[k] = await t.render(body ?? {}, scope)
      const value = h.body ? await h.body.evaluate(body ?? {}, scope) : undefined
      return {
        kind: 'handshake',
        status: h.status,
        headers: replyHeaders,
        body: value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value),
      }
    }
  }

  if (!verifyFirst) {
    const rejected = await verify(body)
    if (rejected) return rejected
  }
  if (bodyError !== undefined) return { kind: 'invalid', status: bodyError.status, reason: bodyError.message }

  let objects: unknown[] = [body]
  if (w.forEach) {
    const v = await w.forEach.evaluate(body, scope)
    objects = v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]
  } else if (Array.isArray(body)) objects = body // a batched delivery is a list of event objects
  if (objects.length > MAX_EVENTS_PER_DELIVERY) return tooManyEvents(objects.length)

  // First every object's rules, key and elements (no HTTP; a rule reading $ticket may read it), so an
  // over-limit delivery is refused before any lookup step or Botpress write happens.
  const tickets = new DeliveryTickets(options?.ticketValues)
  const planned: { rule: CompiledEventRule; key?: string; list: unknown[] }[] = []
  let total = 0
  let unmatched = 0
  const skipped: string[] = []
  const explain: ObjectExplanation[] | undefined = options?.explain ? [] : undefined
  for (const [index, object] of objects.entries()) {
    if (explain) explain.push(await explainObject(w.events, object, scope, index))
    let rules: CompiledEventRule[]
    let key: string | undefined
    try {
      rules = await matchingRules(w.events, object, scope, tickets)
      if (rules.length === 0) {
        unmatched++
        continue
      }
      // The key is read per event object (a batched body carries one id per element).
      key = w.dedupeKey ? idString(await w.dedupeKey.evaluate(object, scope)) : undefined
    } catch (e) {
      if (!(e instanceof ExpressionEvaluationError)) throw e
      skipped.push(`webhook rules: ${e.message}`)
      continue
    }
    // Each matching rule in order (several with `continue: true`), then each element and emitted type: the
    // order the helpdesk's update happened in (assigned before the reply).
    for (const rule of rules) {
      try {
        const list = rule.forEach ? listOf(await rule.forEach.evaluate(object, scope)) : [object]
        total += list.length * rule.emit.length
        if (total > MAX_EVENTS_PER_DELIVERY) return tooManyEvents(total)
        planned.push({ rule, key, list })
      } catch (e) {
        if (!(e instanceof ExpressionEvaluationError)) throw e
        skipped.push(`${rule.label}: ${e.message}`)
      }
    }
  }

  const events: WebhookEvent[] = []
  const usedKeys = new Set<string>()
  for (const { rule, key, list } of planned) {
    for (const [i, element] of list.entries()) {
      let produced: Omit<WebhookEvent, 'dedupeKey'>[]
      try {
        produced = await produce(rule, ctx, element, scope, tickets)
        // `each` lists are only known now: the limit holds for what the rules really produce.
        if (events.length + produced.length > MAX_EVENTS_PER_DELIVERY) return tooManyEvents(events.length + produced.length)
      } catch (e) {
        if (e instanceof TooManyEvents) return tooManyEvents(e.count)
        // A delivery the rule cannot read will not read better when resent: skip it (and say so) rather
        // than answer 5xx and have the helpdesk retry it forever.
        // Expression errors are the mapping's and will not heal on a retry either; vendor errors of lookup
        // steps may, so those still fail the delivery (5xx: retried).
        if (e instanceof ExpressionEvaluationError) skipped.push(`${rule.label}: ${e.message}`)
        else if (e instanceof WebhookBodyError) skipped.push(e.message)
        else throw e
        continue
      }
      for (const p of produced) {
        const event = p as WebhookEvent
        if (key) {
          // Unique within the delivery (and the same on a redelivery), so no event of a batch shadows another,
          // e.g. when the key is the delivery's id header and the body holds several events.
          let unique = list.length > 1 ? `${key}#${i}` : key
          while (usedKeys.has(unique)) unique = `${unique}#${events.length}`
          usedKeys.add(unique)
          event.dedupeKey = unique
        }
        events.push(event)
      }
    }
  }
  return { kind: 'events', events, unmatched, skipped, ...(explain ? { explain } : {}) }
}

const tooManyEvents = (n: number): WebhookOutcome => ({
  kind: 'invalid',
  status: 413,
  reason: `delivery holds at least ${n} events; at most ${MAX_EVENTS_PER_DELIVERY} are handled per delivery, so none was`,
})

/** The first rule whose `when` holds, and after it the next ones as long as the matched rule says `continue`. */
async function matchingRules(rules: CompiledEventRule[], object: unknown, scope: Scope, tickets: DeliveryTickets): Promise<CompiledEventRule[]> {
  const matched: CompiledEventRule[] = []
  for (const rule of rules) {
    const s = rule.readsTicket ? { ...scope, ticket: await tickets.get(idString(await rule.ticketId.evaluate(object, scope))) } : scope
    if (!mayMatch(rule.when.source, object) || !(await rule.when.evaluate(object, s))) continue
    matched.push(rule)
    if (!rule.continue) break
  }
  return matched
}
