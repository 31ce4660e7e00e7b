import type { CompiledExpression } from '../../expr/compileExpression'
import type { CompiledTemplate } from '../../expr/compileTemplate'
import type { PathSegment } from '../problems'
import { DEFAULT_MAX_BODY_BYTES } from '../../webhook/limits'
import type * as M from '../types'
import { allFieldsRead, type CompileContext } from './context'
import { compileSteps, type CompiledStep } from './steps'

export type CompiledTimestamp = { value: CompiledTemplate; format: 'unix' | 'unixMs' | 'iso'; toleranceSeconds: number }

/** What `hmac` and `rsa` share: a signature in a header (maybe structured), over a `signed` template. */
export type CompiledHeaderSignature = {
  header: string
  prefix: string
  encoding: 'hex' | 'base64'
  /** Reads the signature candidates out of `$header`; absent = the header split at commas/spaces, prefix removed. */
  signature?: CompiledExpression
  /** How the vendor writes the header from `$signature` and `$timestamp` (the signer's side). */
  headerFormat?: CompiledTemplate
  signed: CompiledTemplate
  timestamp?: CompiledTimestamp
}

/** `webhook.verify`, templates compiled; src/webhook/signature verifies and signs it. */
export type CompiledVerify =
  | { scheme: 'none' }
  | ({ scheme: 'hmac'; algorithm: 'sha1' | 'sha256' | 'sha512'; secret: CompiledTemplate } & CompiledHeaderSignature)
  | ({ scheme: 'rsa'; algorithm: 'sha256' | 'sha512'; padding: 'pkcs1' | 'pss'; publicKey: CompiledTemplate } & CompiledHeaderSignature)
  | {
      scheme: 'jwt'
      header: string
      prefix: string
      algorithms: ('RS256' | 'ES256' | 'HS256')[]
      jwksUrl?: CompiledTemplate
      key?: CompiledTemplate
      issuer?: CompiledTemplate
      audience?: CompiledTemplate
      requiredClaims: string[]
      clockSkewSeconds: number
    }
  | { scheme: 'standardWebhooks'; secret: CompiledTemplate; toleranceSeconds: number }
  | { scheme: 'secret'; in: 'header' | 'query' | 'basic' | 'body'; name: string; nameExpr?: CompiledExpression; secret: CompiledTemplate }

export type CompiledEventRule = {
  label: string
  when: CompiledExpression
  /** The events produced, in this order, from the same fields. */
  emit: M.EventType[]
  /** Go on trying the next rules after this one. */
  continue: boolean
  /** Per-ticket values this rule updates (`set:`). */
  set: [string, CompiledExpression][]
  /** Whether any of its expressions reads `$ticket`: the router then loads the ticket's values first. */
  readsTicket: boolean
  forEach?: CompiledExpression
  steps: CompiledStep[]
  /** After the steps: the list whose elements (`$item`) each give the rule's events. */
  each?: CompiledExpression
  ticketId: CompiledExpression
  messageId?: CompiledExpression
  agent: [string, CompiledExpression][]
  message: [string, CompiledExpression][]
  attachments?: CompiledExpression
}

export type CompiledHandshake = { when: CompiledExpression; status: number; headers: [string, CompiledTemplate][]; body?: CompiledExpression }

export type CompiledWebhook = {
  handshake: CompiledHandshake[]
  verify: CompiledVerify
  body: 'json' | 'form' | 'auto'
  forEach?: CompiledExpression
  dedupeKey?: CompiledExpression
  maxBodyBytes: number
  events: CompiledEventRule[]
}

/** A replay window when the mapping gives none: what most helpdesks document (5 minutes). */
const DEFAULT_TOLERANCE_SECONDS = 300
/** JWT clocks drift: `exp`/`nbf` are allowed this far off when the mapping gives no `clockSkewSeconds`. */
const DEFAULT_CLOCK_SKEW_SECONDS = 60

function compileVerify(verify: M.Verify, cx: CompileContext): CompiledVerify {
  const path: PathSegment[] = ['webhook', 'verify']
  if (verify === 'none') return { scheme: 'none' }
  switch (verify.scheme) {
    case 'hmac': {
      const { scheme, algorithm, encoding, header, prefix, signature, headerFormat, signed, secret, timestamp, ...rest } = verify
      allFieldsRead(rest)
      return {
        scheme,
        algorithm,
        secret: cx.tmpl(secret, [...path, 'secret']),
        ...compileHeaderSignature({ encoding, header, prefix, signature, headerFormat, signed, timestamp }, cx, path),
      }
    }
    case 'rsa': {
      const { scheme, algorithm, padding, encoding, header, prefix, signature, headerFormat, signed, publicKey, timestamp, ...rest } = verify
      allFieldsRead(rest)
      return {
        scheme,
        algorithm,
        padding: padding ?? 'pkcs1',
        publicKey: cx.tmpl(publicKey, [...path, 'publicKey']),
        ...compileHeaderSignature({ encoding: encoding ?? 'base64', header, prefix, signature, headerFormat, signed, timestamp }, cx, path),
      }
    }
    case 'jwt': {
      const { scheme, header, prefix, algorithms, jwksUrl, key, issuer, audience, requiredClaims, clockSkewSeconds, ...rest } = verify
      allFieldsRead(rest)
      if (!jwksUrl && !key) cx.problem('UH-E023', path, "a jwt verify needs jwksUrl (the vendor's key set) or key (a PEM public key or, for HS256, the secret)")
      const optional = (t: string | undefined, name: string) => (t !== undefined ? cx.tmpl(t, [...path, name]) : undefined)
      return {
        scheme,
        header: header.toLowerCase(),
        prefix: prefix ?? '',
        algorithms,
        jwksUrl: optional(jwksUrl, 'jwksUrl'),
        key: optional(key, 'key'),
        issuer: optional(issuer, 'issuer'),
        audience: optional(audience, 'audience'),
        requiredClaims: requiredClaims ?? [],
        clockSkewSeconds: clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
      }
    }
    case 'standardWebhooks': {
      const { scheme, secret, toleranceSeconds, ...rest } = verify
      allFieldsRead(rest)
      return { scheme, secret: cx.tmpl(secret, [...path, 'secret']), toleranceSeconds: toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS }
    }
    case 'secret': {
      const { scheme, in: where, name, secret, ...rest } = verify
      allFieldsRead(rest)
      return {
        scheme,
        in: where,
        name: where === 'header' ? name.toLowerCase() : name,
        nameExpr: where === 'body' ? cx.expr(name, [...path, 'name']) : undefined,
        secret: cx.tmpl(secret, [...path, 'secret']),
      }
    }
  }
}

function compileHeaderSignature(
  v: Pick<M.HmacVerify, 'encoding' | 'header' | 'prefix' | 'signature' | 'headerFormat' | 'signed' | 'timestamp'>,
  cx: CompileContext,
  path: PathSegment[],
): CompiledHeaderSignature {
  return {
    header: v.header.toLowerCase(),
    prefix: v.prefix ?? '',
    encoding: v.encoding,
    signature: cx.optionalExpr(v.signature, [...path, 'signature']),
    headerFormat: v.headerFormat !== undefined ? cx.tmpl(v.headerFormat, [...path, 'headerFormat']) : undefined,
    signed: cx.tmpl(v.signed, [...path, 'signed']),
    timestamp: v.timestamp ? compileTimestamp(v.timestamp, cx, [...path, 'timestamp']) : undefined,
  }
}

function compileTimestamp(timestamp: M.VerifyTimestamp, cx: CompileContext, path: PathSegment[]) {
  const { value, format, toleranceSeconds, ...rest } = timestamp
  allFieldsRead(rest)
  return { value: cx.tmpl(value, [...path, 'value']), format, toleranceSeconds: toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS }
}

function compileEventRule(rule: M.EventRule, i: number, cx: CompileContext): CompiledEventRule {
  const p: PathSegment[] = ['webhook', 'events', i]
  const { name, when, emit, continue: goOn, set, forEach, steps, each, ticketId, messageId, agent, message, attachments, ...rest } = rule
  allFieldsRead(rest)
  const label = `webhook rule ${name ? `"${name}"` : i + 1}`
  const lookups = compileSteps(steps, cx, [...p, 'steps'], label)
  const readsTicket = JSON.stringify(rule).includes('$ticket')
  // `$ticket` is loaded by the ticket's id, so that id must be readable before the lookups run.
  if (readsTicket && String(ticketId).includes('$steps')) {
    cx.problem(
      'UH-E057',
      [...p, 'ticketId'],
      'this rule reads $ticket, so its ticketId must not depend on $steps (the ticket is looked up by that id before the steps run)',
    )
  }
  const emits = Array.isArray(emit) ? emit : [emit]
  if (emits.length === 0) cx.problem('UH-E058', [...p, 'emit'], 'emit needs at least one event type')
  return {
    label,
    when: cx.expr(String(when), [...p, 'when']),
    emit: emits,
    continue: goOn ?? false,
    set: cx.exprMap(set, [...p, 'set'], lookups.ids),
    readsTicket,
    forEach: cx.optionalExpr(forEach, [...p, 'forEach']),
    steps: lookups.steps,
    each: cx.optionalExpr(each, [...p, 'each'], lookups.ids),
    ticketId: cx.expr(String(ticketId), [...p, 'ticketId'], lookups.ids),
    messageId: cx.optionalExpr(messageId, [...p, 'messageId'], lookups.ids),
    agent: cx.exprMap(agent, [...p, 'agent'], lookups.ids),
    message: cx.exprMap(message, [...p, 'message'], lookups.ids),
    attachments: cx.optionalExpr(attachments, [...p, 'attachments'], lookups.ids),
  }
}

function compileHandshake(rule: M.HandshakeRule, i: number, cx: CompileContext): CompiledHandshake {
  const p: PathSegment[] = ['webhook', 'handshake', i]
  const { when, status, headers, body, ...rest } = rule
  allFieldsRead(rest)
  return {
    when: cx.expr(String(when), [...p, 'when']),
    status: status ?? 200,
    headers: cx.tmplMap(headers, [...p, 'headers']),
    body: cx.optionalExpr(body, [...p, 'body']),
  }
}

export function compileWebhook(webhook: M.WebhookSpec, cx: CompileContext): CompiledWebhook {
  const { handshake, verify, body, forEach, dedupeKey, maxBodyBytes, events, ...rest } = webhook
  allFieldsRead(rest)
  return {
    handshake: (handshake ?? []).map((h, i) => compileHandshake(h, i, cx)),
    verify: compileVerify(verify, cx),
    body: body ?? 'auto',
    forEach: cx.optionalExpr(forEach, ['webhook', 'forEach']),
    dedupeKey: cx.optionalExpr(dedupeKey, ['webhook', 'dedupeKey']),
    maxBodyBytes: maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    events: (events ?? []).map((rule, i) => compileEventRule(rule, i, cx)),
  }
}
