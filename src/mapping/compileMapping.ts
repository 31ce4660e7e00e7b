import { compileExpression, type CompiledExpression, ExpressionSyntaxError } from '../expr/compileExpression'
import { compileTemplate, type CompiledTemplate } from '../expr/compileTemplate'
import { DEFAULT_MAX_BODY_BYTES } from '../webhook/limits'
import type { PathSegment, Problem, SourceDocument } from './problems'
import type * as M from './types'

export type CompiledAuth =
  | { type: 'basic'; username: CompiledTemplate; password: CompiledTemplate }
  | { type: 'bearer'; token: CompiledTemplate }
  | { type: 'apiKey'; in: 'header' | 'query'; name: string; value: CompiledTemplate }
  | { type: 'none' }

export type CompiledRequest = {
  method: M.RequestSpec['method']
  path?: CompiledTemplate
  url?: CompiledTemplate
  query: [string, CompiledTemplate][]
  headers: [string, CompiledTemplate][]
  auth?: CompiledAuth
  body?: CompiledExpression
  form?: CompiledExpression
  idempotent: boolean
  okStatus: number[]
}

export type CompiledStep = {
  /** Where the step is, for error messages: `createTicket step "ticket"`. */
  label: string
  id?: string
  when?: CompiledExpression
  forEach?: CompiledExpression
  request: CompiledRequest
}

export type CompiledOperation = {
  name: string
  steps: CompiledStep[]
  result: [string, CompiledExpression][]
}

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

export type CompiledMapping = {
  file: M.MappingFile
  /** Placed like problems, but the mapping works: `validate` prints them (src/mapping/warnings.ts). */
  warnings: Problem[]
  /** Whether any expression reads `$registration` (then handlers load the stored registration). */
  usesRegistration: boolean
  http: {
    baseUrl: CompiledTemplate
    allowedHosts: string[]
    headers: [string, CompiledTemplate][]
    query: [string, CompiledTemplate][]
    auth?: CompiledAuth
    timeoutMs: number
    retry: Required<M.RetryPolicy>
    errorMessage?: CompiledExpression
  }
  operations: {
    createUser: CompiledOperation
    createTicket: CompiledOperation
    sendMessage: Record<string, CompiledOperation>
    closeTicket: CompiledOperation
    register?: CompiledOperation
    unregister?: CompiledOperation
  }
  webhook: {
    handshake: { when: CompiledExpression; status: number; headers: [string, CompiledTemplate][]; body?: CompiledExpression }[]
    verify: CompiledVerify
    body: 'json' | 'form' | 'auto'
    forEach?: CompiledExpression
    dedupeKey?: CompiledExpression
    maxBodyBytes: number
    events: CompiledEventRule[]
  }
}

export const DEFAULT_RETRY: Required<M.RetryPolicy> = {
  limit: 2,
  statusCodes: [408, 429, 500, 502, 503, 504],
  maxRetryAfterSeconds: 30,
}

/** Compiles every template and expression of a schema-valid mapping; collects positioned problems. */
export function compileMapping(file: M.MappingFile, source: SourceDocument): { mapping?: CompiledMapping; problems: Problem[] } {
  const problems: Problem[] = []
  let usesRegistration = false
  const declaredSettings = new Set(Object.keys(file.settings ?? {}))

  const lintReferences = (text: string, path: PathSegment[], stepIds?: Set<string>) => {
    if (text.includes('$registration')) usesRegistration = true
    for (const m of text.matchAll(/\$settings\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
      if (!declaredSettings.has(m[1]!)) {
        problems.push(source.problem(path, `uses setting "${m[1]}" that the mapping does not declare under settings`, { offsetInValue: m.index }))
      }
    }
    if (stepIds) {
      for (const m of text.matchAll(/\$steps\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
        if (!stepIds.has(m[1]!)) {
          problems.push(source.problem(path, `refers to step "${m[1]}", which is not an earlier step of this operation`, { offsetInValue: m.index }))
        }
      }
    }
  }

  const expr = (text: string, path: PathSegment[], stepIds?: Set<string>): CompiledExpression => {
    lintReferences(text, path, stepIds)
    if (/^\s*\{\{[\s\S]*\}\}\s*$/.test(text)) {
      // A common slip: template braces in an expression slot, which JSONata would read as nested objects.
      problems.push(source.problem(path, 'this field is an expression, not a template: write the JSONata without {{ }}', { offsetInValue: text.indexOf('{{') }))
      return compileExpression('undefined')
    }
    try {
      return compileExpression(text)
    } catch (e) {
      if (!(e instanceof ExpressionSyntaxError)) throw e
      problems.push(source.problem(path, `JSONata error at character ${e.position + 1} of the expression: ${e.message}`, { offsetInValue: e.position }))
      return compileExpression('undefined')
    }
  }
  const tmpl = (text: string, path: PathSegment[], stepIds?: Set<string>): CompiledTemplate => {
    lintReferences(text, path, stepIds)
    try {
      return compileTemplate(text)
    } catch (e) {
      if (!(e instanceof ExpressionSyntaxError)) throw e
      problems.push(source.problem(path, `template error at character ${e.position + 1}: ${e.message}`, { offsetInValue: e.position }))
      return compileTemplate('')
    }
  }
  const tmplMap = (obj: Record<string, string> | undefined, path: PathSegment[], ids?: Set<string>): [string, CompiledTemplate][] =>
    Object.entries(obj ?? {}).map(([k, v]) => [k, tmpl(String(v), [...path, k], ids)])
  const exprMap = (obj: Record<string, string | undefined> | undefined, path: PathSegment[], ids?: Set<string>): [string, CompiledExpression][] =>
    Object.entries(obj ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, expr(String(v), [...path, k], ids)])

  const auth = (a: M.Auth | undefined, path: PathSegment[], ids?: Set<string>): CompiledAuth | undefined => {
    if (!a) return undefined
    switch (a.type) {
      case 'basic':
        return { type: 'basic', username: tmpl(a.username, [...path, 'username'], ids), password: tmpl(a.password, [...path, 'password'], ids) }
      case 'bearer':
        return { type: 'bearer', token: tmpl(a.token, [...path, 'token'], ids) }
      case 'apiKey':
        return { type: 'apiKey', in: a.in, name: a.name, value: tmpl(a.value, [...path, 'value'], ids) }
      default:
        return { type: 'none' }
    }
  }

  const steps = (list: M.Step[] | undefined, path: PathSegment[], owner: string): { steps: CompiledStep[]; ids: Set<string> } => {
    const ids = new Set<string>()
    const out: CompiledStep[] = []
    ;(list ?? []).forEach((s, i) => {
      const p = [...path, i]
      const r = s.request
      const rp = [...p, 'request']
      if (s.id && ids.has(s.id)) problems.push(source.problem([...p, 'id'], `step id "${s.id}" is used twice in ${owner}`))
      out.push({
        label: `${owner} step ${s.id ? `"${s.id}"` : i + 1}`,
        id: s.id,
        when: s.when !== undefined ? expr(String(s.when), [...p, 'when'], ids) : undefined,
        forEach: s.forEach !== undefined ? expr(String(s.forEach), [...p, 'forEach'], ids) : undefined,
        request: {
          method: r.method,
          path: r.path !== undefined ? tmpl(r.path, [...rp, 'path'], ids) : undefined,
          url: r.url !== undefined ? tmpl(r.url, [...rp, 'url'], ids) : undefined,
          query: tmplMap(r.query, [...rp, 'query'], ids),
          headers: tmplMap(r.headers, [...rp, 'headers'], ids),
          auth: auth(r.auth, [...rp, 'auth'], ids),
          body: r.body !== undefined ? expr(String(r.body), [...rp, 'body'], ids) : undefined,
          form: r.form !== undefined ? expr(String(r.form), [...rp, 'form'], ids) : undefined,
          idempotent: r.idempotent ?? ['GET', 'PUT', 'DELETE'].includes(r.method),
          okStatus: r.okStatus ?? [],
        },
      })
      if (s.id) ids.add(s.id)
    })
    return { steps: out, ids }
  }

  const operation = (op: M.Operation | undefined, name: string, path: PathSegment[]): CompiledOperation | undefined => {
    if (!op) return undefined
    const { steps: compiled, ids } = steps(op.steps, [...path, 'steps'], name)
    return { name, steps: compiled, result: exprMap(op.result, [...path, 'result'], ids) }
  }

  const ops = file.operations
  const sendMessage: Record<string, CompiledOperation> = {}
  for (const [type, op] of Object.entries(ops.sendMessage ?? {})) {
    sendMessage[type] = operation(op, `sendMessage.${type}`, ['operations', 'sendMessage', type])!
  }
  for (const [name, key] of [['createUser', 'externalUserId'], ['createTicket', 'ticketId']] as const) {
    if (ops[name] && !ops[name].result?.[key]) {
      problems.push(source.problem(['operations', name], `must have result.${key}`))
    }
  }

  const w = file.webhook
  let verify: CompiledVerify = { scheme: 'none' }
  if (w.verify !== 'none' && typeof w.verify === 'object') {
    const v = w.verify
    const vp = ['webhook', 'verify']
    if (v.scheme === 'hmac') {
      verify = {
        scheme: 'hmac',
        algorithm: v.algorithm,
        encoding: v.encoding,
        header: v.header.toLowerCase(),
        prefix: v.prefix ?? '',
        signed: tmpl(v.signed, [...vp, 'signed']),
        secret: tmpl(v.secret, [...vp, 'secret']),
        timestamp: v.timestamp
          ? {
              value: tmpl(v.timestamp.value, [...vp, 'timestamp', 'value']),
              format: v.timestamp.format,
              toleranceSeconds: v.timestamp.toleranceSeconds ?? 300,
            }
          : undefined,
      }
    } else {
      verify = {
        scheme: 'secret',
        in: v.in,
        name: v.in === 'header' ? v.name.toLowerCase() : v.name,
        nameExpr: v.in === 'body' ? expr(v.name, [...vp, 'name']) : undefined,
        secret: tmpl(v.secret, [...vp, 'secret']),
      }
    }
  }

  const events: CompiledEventRule[] = (w.events ?? []).map((rule, i) => {
    const p: PathSegment[] = ['webhook', 'events', i]
    const label = `webhook rule ${rule.name ? `"${rule.name}"` : i + 1}`
    const { steps: lookups, ids } = steps(rule.steps, [...p, 'steps'], label)
    return {
      label,
      when: expr(String(rule.when), [...p, 'when']),
      emit: rule.emit,
      forEach: rule.forEach !== undefined ? expr(String(rule.forEach), [...p, 'forEach']) : undefined,
      steps: lookups,
      ticketId: expr(String(rule.ticketId), [...p, 'ticketId'], ids),
      messageId: rule.messageId !== undefined ? expr(String(rule.messageId), [...p, 'messageId'], ids) : undefined,
      agent: exprMap(rule.agent as Record<string, string>, [...p, 'agent'], ids),
      message: exprMap(rule.message as Record<string, string>, [...p, 'message'], ids),
    }
  })

  const mapping: CompiledMapping = {
    file,
    warnings: [],
    usesRegistration,
    http: {
      baseUrl: tmpl(file.http.baseUrl, ['http', 'baseUrl']),
      allowedHosts: (file.http.allowedHosts ?? []).map((h) => h.toLowerCase()),
      headers: tmplMap(file.http.headers, ['http', 'headers']),
      query: tmplMap(file.http.query, ['http', 'query']),
      auth: auth(file.http.auth, ['http', 'auth']),
      timeoutMs: file.http.timeoutMs ?? 10_000,
      retry: { ...DEFAULT_RETRY, ...file.http.retry },
      errorMessage: file.http.errorMessage !== undefined ? expr(file.http.errorMessage, ['http', 'errorMessage']) : undefined,
    },
    operations: {
      createUser: operation(ops.createUser, 'createUser', ['operations', 'createUser'])!,
      createTicket: operation(ops.createTicket, 'createTicket', ['operations', 'createTicket'])!,
      sendMessage,
      closeTicket: operation(ops.closeTicket, 'closeTicket', ['operations', 'closeTicket'])!,
      register: operation(ops.register, 'register', ['operations', 'register']),
      unregister: operation(ops.unregister, 'unregister', ['operations', 'unregister']),
    },
    webhook: {
      handshake: (w.handshake ?? []).map((h, i) => ({
        when: expr(String(h.when), ['webhook', 'handshake', i, 'when']),
        status: h.status ?? 200,
        headers: tmplMap(h.headers, ['webhook', 'handshake', i, 'headers']),
        body: h.body !== undefined ? expr(String(h.body), ['webhook', 'handshake', i, 'body']) : undefined,
      })),
      verify,
      body: w.body ?? 'auto',
      forEach: w.forEach !== undefined ? expr(String(w.forEach), ['webhook', 'forEach']) : undefined,
      dedupeKey: w.dedupeKey !== undefined ? expr(String(w.dedupeKey), ['webhook', 'dedupeKey']) : undefined,
      maxBodyBytes: w.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      events,
    },
  }
  return { mapping: problems.length ? undefined : mapping, problems }
}
