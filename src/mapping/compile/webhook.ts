import type { CompiledExpression } from '../../expr/compileExpression'
import type { CompiledTemplate } from '../../expr/compileTemplate'
import type { PathSegment } from '../problems'
import { DEFAULT_MAX_BODY_BYTES } from '../../webhook/limits'
import type * as M from '../types'
import { allFieldsRead, type CompileContext } from './context'
import { compileSteps, type CompiledStep } from './steps'

/** `webhook.verify`, templates compiled; src/webhook/signature verifies and signs it. */
export type CompiledVerify =
  | { scheme: 'none' }
  | {
      scheme: 'hmac'
      algorithm: 'sha1' | 'sha256' | 'sha512'
      encoding: 'hex' | 'base64'
      header: string
      prefix: string
      signed: CompiledTemplate
      secret: CompiledTemplate
      timestamp?: { value: CompiledTemplate; format: 'unix' | 'unixMs' | 'iso'; toleranceSeconds: number }
    }
  | { scheme: 'secret'; in: 'header' | 'query' | 'basic' | 'body'; name: string; nameExpr?: CompiledExpression; secret: CompiledTemplate }

export type CompiledEventRule = {
  label: string
  when: CompiledExpression
  emit: M.EventType
  forEach?: CompiledExpression
  steps: CompiledStep[]
  ticketId: CompiledExpression
  messageId?: CompiledExpression
  agent: [string, CompiledExpression][]
  message: [string, CompiledExpression][]
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

function compileVerify(verify: M.Verify, cx: CompileContext): CompiledVerify {
  const path: PathSegment[] = ['webhook', 'verify']
  if (verify === 'none') return { scheme: 'none' }
  switch (verify.scheme) {
    case 'hmac': {
      const { scheme, algorithm, encoding, header, prefix, signed, secret, timestamp, ...rest } = verify
      allFieldsRead(rest)
      return {
        scheme,
        algorithm,
        encoding,
        header: header.toLowerCase(),
        prefix: prefix ?? '',
        signed: cx.tmpl(signed, [...path, 'signed']),
        secret: cx.tmpl(secret, [...path, 'secret']),
        timestamp: timestamp ? compileTimestamp(timestamp, cx, [...path, 'timestamp']) : undefined,
      }
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

function compileTimestamp(timestamp: NonNullable<M.HmacVerify['timestamp']>, cx: CompileContext, path: PathSegment[]) {
  const { value, format, toleranceSeconds, ...rest } = timestamp
  allFieldsRead(rest)
  return { value: cx.tmpl(value, [...path, 'value']), format, toleranceSeconds: toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS }
}

function compileEventRule(rule: M.EventRule, i: number, cx: CompileContext): CompiledEventRule {
  const p: PathSegment[] = ['webhook', 'events', i]
  const { name, when, emit, forEach, steps, ticketId, messageId, agent, message, ...rest } = rule
  allFieldsRead(rest)
  const label = `webhook rule ${name ? `"${name}"` : i + 1}`
  const lookups = compileSteps(steps, cx, [...p, 'steps'], label)
  return {
    label,
    when: cx.expr(String(when), [...p, 'when']),
    emit,
    forEach: cx.optionalExpr(forEach, [...p, 'forEach']),
    steps: lookups.steps,
    ticketId: cx.expr(String(ticketId), [...p, 'ticketId'], lookups.ids),
    messageId: cx.optionalExpr(messageId, [...p, 'messageId'], lookups.ids),
    agent: cx.exprMap(agent, [...p, 'agent'], lookups.ids),
    message: cx.exprMap(message, [...p, 'message'], lookups.ids),
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
