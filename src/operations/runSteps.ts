import { DiagnosticError } from '../diagnostics/codes'
import type { Method } from 'got'
import { ExpressionEvaluationError, type Scope } from '../expr/compileExpression'
import { stringify } from '../expr/compileTemplate'
import { applyAuth, type AuthContext } from '../auth/applyAuth'
import type { TokenStore } from '../auth/tokenStore'
import { Redactor } from '../http/redact'
import { sendRequest, VendorRequestError, type HttpRequest, type HttpResponse } from '../http/sendRequest'
import type { CompiledMapping, CompiledOperation, CompiledRequest, CompiledStep } from '../mapping/compileMapping'
import { attachFiles } from './attachFiles'
import { fileFromBase64Answer, FileNotAttached, streamFile, type FileContent, type MessageFile } from '../attachments/downloadFile'
import { runControlledStep, type PageOverride, type StepResult } from './stepControl'

export type { StepResult }

/** Everything a run needs besides the operation: the mapping, settings and where requests go. */
export type RunContext = {
  mapping: CompiledMapping
  /** Variables every expression sees (`$settings`, `$registration`, `$webhookUrl`, ...). */
  scope: Scope
  redactor: Redactor
  /** Where auth keeps the tokens it obtains (integration state in Botpress, memory elsewhere). */
  tokens: TokenStore
  /** Prefixes token keys (the configuration's hash): tokens of another configuration are not reused. */
  tokenNamespace?: string
  /** The clock token expiry is judged by (fixtures set it); Date.now by default. */
  now?: () => number
  /** Serves `jwt` key sets instead of fetching them (fixtures serve their own test key); see routeWebhook. */
  keySet?: (url: string, refetch: boolean, now: number) => Promise<{ kid?: string; [field: string]: unknown }[]>
  /**
   * Sends requests elsewhere (fixtures point every request at a local stub); gets the rendered URL and the
   * step sending it (fixtures answer lookups by step id).
   */
  rewriteUrl?: (url: string, step?: { id?: string; label: string }) => string
  /** Observes every request sent (the CLI's dry run and the sandbox's --verbose use it); already redacted. */
  onRequest?: (r: SentRequest) => void
  /** Observes steps left out because their `when` was not true (the dry run lists them). */
  onStepSkipped?: (s: { label: string; when: string; value: unknown }) => void
  /** Hosts a `files` step downloads from (default: Botpress's file hosts; local tests add the emulator's). */
  fileHosts?: readonly string[]
  /** Fetches the allowed Botpress file URLs from elsewhere (fixtures serve `fixtures.files` from the stub). */
  rewriteFileUrl?: (url: string) => string
}

/** A request as observers see it: redacted, with the response's status and (parsed) body when one came. */
export type SentRequest = {
  label: string
  stepId?: string
  method: string
  url: string
  headers: Record<string, string>
  body?: string
  status?: number
  error?: string
  response?: StepResult
}

export class HostNotAllowedError extends DiagnosticError {}

const parseUrl = (url: string): URL | undefined => {
  try {
    const u = new URL(url)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined
  } catch {
    return undefined
  }
}

/**
 * `http.allowedHosts` entry → whether it admits `url`. An origin (`https://uploads.example.com:8443`) must match
 * whole; a host name (optionally `*.` for subdomains) admits that host with the base URL's scheme on its default port.
 */
function admits(entry: string, url: URL, base: URL | undefined): boolean {
  if (entry.includes('://')) {
    const e = parseUrl(entry)
    return !!e && e.origin === url.origin
  }
  if (url.port !== '' || (base && url.protocol !== base.protocol)) return false
  const host = url.hostname.toLowerCase()
  return entry.startsWith('*.') ? host.endsWith(entry.slice(1)) : host === entry
}

/**
 * Requests go only to the base URL's origin (scheme, host and port) or those the mapping lists in
 * `http.allowedHosts`: a shared mapping cannot send the settings (tokens) anywhere its file does not say.
 */
function checkHost(url: string, baseUrl: string, allowed: string[], ctx: RunContext) {
  const u = parseUrl(url)
  if (!u) throw new HostNotAllowedError('UH-E040', ctx.redactor.text(`"${url}" is not an absolute http(s) URL; check http.baseUrl and the step's path or url`))
  const refused = hostRefusal(u, baseUrl, allowed, ctx)
  if (refused) throw new HostNotAllowedError('UH-E041', refused)
}

/** Why `u` is neither the base URL's origin nor in `http.allowedHosts` (redacted), or undefined when it may be requested. */
function hostRefusal(u: URL, baseUrl: string, allowed: string[], ctx: RunContext): string | undefined {
  const base = parseUrl(baseUrl)
  if (/^https?:$/.test(u.protocol) && ((base && u.origin === base.origin) || allowed.some((a) => admits(a, u, base)))) return undefined
  return ctx.redactor.text(
    `requests may only go to ${base?.origin ?? 'the origin of http.baseUrl'}${allowed.length ? ` or ${allowed.join(', ')}` : ''}, not ${u.origin}; list it in http.allowedHosts if it is the helpdesk's`,
  )
}

/** `.` and `..` segments would climb out of the path the mapping wrote (`/tickets/../admin`): refused, not sent. */
function refuseDotSegments(path: string) {
  const bad = path
    .split(/[?#]/, 1)[0]!
    .split('/')
    .find((seg) => /^(\.|%2e){1,2}$/i.test(seg))
  if (bad !== undefined)
    throw new ExpressionEvaluationError(
      'UH-E054',
      `the request path "${path}" has a "${bad}" segment, which would change the path; a path value may not be "." or ".."`,
    )
}

function authContext(ctx: RunContext, context: unknown): AuthContext {
  return {
    tokens: ctx.tokens,
    redactor: ctx.redactor,
    namespace: ctx.tokenNamespace ?? '',
    now: ctx.now ?? Date.now,
    runTokenSteps: (steps, scope) => runSteps(steps, ctx, context, scope),
  }
}

/** A request rendered from a step; `tokenKey` when it carries a cached token. */
export type BuiltRequest = HttpRequest & { tokenKey?: string }

/** Renders a compiled request template into a concrete HTTP request. */
export async function buildRequest(
  req: CompiledRequest,
  ctx: RunContext,
  context: unknown,
  scope: Scope,
  step?: { id?: string; label: string },
  page?: PageOverride,
): Promise<BuiltRequest> {
  const http = ctx.mapping.http
  const base = (await http.baseUrl.render(context, scope)).replace(/\/+$/, '')
  let url: string
  if (page?.url) url = /^https?:\/\//i.test(page.url) ? page.url : base + (page.url.startsWith('/') ? '' : '/') + page.url
  else if (req.url) url = await req.url.render(context, scope, { encode: false })
  else {
    const path = req.path ? await req.path.render(context, scope, { encode: true }) : ''
    refuseDotSegments(path)
    url = base + (path && !path.startsWith('/') ? `/${path}` : path)
  }
  if (req.url) refuseDotSegments(url.replace(/^[a-z]+:\/\/[^/]*/i, ''))
  checkHost(url, base, http.allowedHosts, ctx)
  const headers: Record<string, string> = { accept: 'application/json' }
  for (const [k, t] of http.headers) headers[k.toLowerCase()] = await t.render(context, scope)
  for (const [k, t] of req.headers) headers[k.toLowerCase()] = await t.render(context, scope)
  const auth = await applyAuth(req.auth ?? http.auth, authContext(ctx, context), context, scope)
  Object.assign(headers, auth.headers)
  let query: [string, string][] = []
  // A next-page URL taken from the response carries its own query: only auth's parameters are added to it.
  if (!page?.url) {
    for (const [k, t] of http.query) query.push([k, await t.render(context, scope)])
    for (const [k, t] of req.query) query.push([k, await t.render(context, scope)])
  }
  if (page?.query) query = [...query.filter(([k]) => !(k in page.query!)), ...Object.entries(page.query)]
  query.push(...auth.query)

  let body: HttpRequest['body']
  if (req.files) body = await attachFiles(req.files, req.body, ctx, context, scope)
  else if (req.body) {
    const value = await req.body.evaluate(context, scope)
    if (value !== undefined) body = { text: JSON.stringify(value), contentType: 'application/json' }
  } else if (req.form) {
    const value = await req.form.evaluate(context, scope)
    if (value && typeof value === 'object') {
      const form = new URLSearchParams()
      for (const [k, v] of Object.entries(value)) if (v !== undefined) form.append(k, stringify(v))
      body = { text: form.toString(), contentType: 'application/x-www-form-urlencoded' }
    }
  }
  return {
    method: req.method as Method,
    url: ctx.rewriteUrl ? ctx.rewriteUrl(url, step) : url,
    renderedUrl: url,
    headers,
    query,
    body,
    timeoutMs: http.timeoutMs,
    retry: http.retry,
    idempotent: req.idempotent,
    okStatus: req.okStatus,
    tokenKey: auth.tokenKey,
  }
}

/**
 * GETs a vendor's JSON document (a JWKS for webhook verification) like any vendor request: host allowlist,
 * redirected in fixtures, timeout and retries, no auth.
 */
export async function fetchVendorJson(url: string, ctx: RunContext, label: string): Promise<unknown> {
  const http = ctx.mapping.http
  checkHost(url, await http.baseUrl.render(undefined, ctx.scope), http.allowedHosts, ctx)
  const response = await sendRequest(
    {
      method: 'GET',
      url: ctx.rewriteUrl ? ctx.rewriteUrl(url) : url,
      renderedUrl: url,
      headers: { accept: 'application/json' },
      query: [],
      timeoutMs: http.timeoutMs,
      retry: http.retry,
      idempotent: true,
      okStatus: [],
    },
    { label, redactor: ctx.redactor },
  )
  return response.body
}

/** The file is base64 at `field` (a dotted path) of a JSON answer, whose text is read up to `maxAnswerBytes`. */
export type Base64Answer = { field: string; maxAnswerBytes: number }

/**
 * GETs an agent's file from the helpdesk with the mapping's auth (what re-hosting needs): host allowlist like
 * any vendor request, redirects followed only to hosts it admits, the credentials (headers and auth's query
 * parameters) sent only to the file URL's origin; streamed and cut at `maxBytes`. With `base64` the URL answers JSON
 * holding the file (asked for with `Accept: application/json` unless the mapping's headers say otherwise). Failures are
 * `FileNotAttached` (or HostNotAllowedError), for the caller to say which file was not delivered.
 */
export async function fetchVendorFile(file: MessageFile, ctx: RunContext, maxBytes: number, base64?: Base64Answer): Promise<FileContent> {
  const http = ctx.mapping.http
  const baseUrl = await http.baseUrl.render(undefined, ctx.scope)
  checkHost(file.url, baseUrl, http.allowedHosts, ctx)
  const headers: Record<string, string> = {}
  for (const [k, t] of http.headers) headers[k.toLowerCase()] = await t.render(undefined, ctx.scope)
  const auth = await applyAuth(http.auth, authContext(ctx, undefined), undefined, ctx.scope)
  Object.assign(headers, auth.headers)
  if (base64 && !base64.field) throw new FileNotAttached(file, "the mapping's `rehost` names no `base64` field")
  if (base64) headers.accept ??= 'application/json'
  const content = await streamFile(
    {
      url: new URL(file.url),
      refusal: (u) => hostRefusal(u, baseUrl, http.allowedHosts, ctx),
      credentials: { headers, query: auth.query },
      rewrite: ctx.rewriteUrl,
    },
    file,
    base64 ? base64.maxAnswerBytes : maxBytes,
    { source: 'the helpdesk', limitOf: base64 ? "a base64 answer's" : 'the' },
  )
  return base64 ? fileFromBase64Answer(file, content, base64.field, maxBytes) : { name: file.name, ...content }
}

/** Evaluation errors carry only JSONata's words: say which operation, step or field they come from. */
async function located<T>(where: string, ctx: RunContext, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    if (e instanceof ExpressionEvaluationError) throw new ExpressionEvaluationError(e.diagnostic, ctx.redactor.text(`${where}: ${e.message}`), e.code)
    throw e
  }
}

/** A 401 to a request that carried a cached token: the token is stale (revoked, rotated by another worker). */
class StaleTokenError extends Error {
  constructor(
    readonly tokenKey: string,
    readonly original: VendorRequestError,
  ) {
    super(original.message)
  }
}

/** One step's request with its controls (paging, retry, recovery: ./stepControl.ts). */
function runStep(step: CompiledStep, ctx: RunContext, context: unknown, scope: Scope, results: Record<string, unknown>): Promise<StepResult> {
  return runControlledStep(
    step,
    scope,
    (page) => sendWithFreshToken(step, ctx, context, scope, page),
    async (recovery, recoveryScope) => {
      await runSteps(recovery, ctx, context, recoveryScope, results)
    },
    (where, run) => located(where, ctx, run),
  )
}

/** Sends a step's request; a 401 with a cached token drops the token and tries once more with a new one. */
async function sendWithFreshToken(step: CompiledStep, ctx: RunContext, context: unknown, scope: Scope, page?: PageOverride): Promise<StepResult> {
  try {
    return await sendStep(step, ctx, context, scope, page)
  } catch (e) {
    if (!(e instanceof StaleTokenError)) throw e
    await ctx.tokens.delete(e.tokenKey)
    try {
      return await sendStep(step, ctx, context, scope, page)
    } catch (again) {
      throw again instanceof StaleTokenError ? again.original : again
    }
  }
}

async function sendStep(step: CompiledStep, ctx: RunContext, context: unknown, scope: Scope, page?: PageOverride): Promise<StepResult> {
  const built = await located(step.label, ctx, () => buildRequest(step.request, ctx, context, scope, step, page))
  // A step's own retry replaces http.retry for it (./stepControl.ts re-sends; got must not retry as well).
  const request = step.retry ? { ...built, retry: { ...built.retry, limit: 0 } } : built
  const errorMessage = ctx.mapping.http.errorMessage
  let response: HttpResponse | undefined
  let failed: { status?: number; error: string } | undefined
  try {
    response = await sendRequest(request, {
      label: step.label,
      redactor: ctx.redactor,
      vendorMessage: errorMessage ? async (body) => stringify(await errorMessage.evaluate(body, scope)) || undefined : undefined,
    })
    return { status: response.status, headers: response.headers, body: response.body }
  } catch (e) {
    if (e instanceof VendorRequestError) failed = { status: e.status, error: e.message }
    if (e instanceof VendorRequestError && e.status === 401 && request.tokenKey) throw new StaleTokenError(request.tokenKey, e)
    throw e
  } finally {
    if (ctx.onRequest) {
      const u = new URL(request.renderedUrl ?? request.url)
      for (const [k, v] of request.query) u.searchParams.append(k, v)
      ctx.onRequest({
        label: step.label,
        stepId: step.id,
        method: request.method,
        url: ctx.redactor.text(u.toString()),
        headers: ctx.redactor.headers(request.headers),
        body: request.body ? ctx.redactor.body(request.body.text) : undefined,
        status: response?.status ?? failed?.status,
        error: failed?.error,
        // A token request's answer is the token itself: observers (dry run, capture) see only that it came.
        response: response && { status: response.status, headers: response.headers, body: step.secretResponse ? '***' : response.body },
      })
    }
  }
}

/**
 * Runs steps in order; each sees earlier responses as `$steps.<id>`. Returns the `$steps` object (`results`,
 * given when recovery steps add to an operation's own).
 */
export async function runSteps(
  steps: CompiledStep[],
  ctx: RunContext,
  context: unknown,
  baseScope: Scope,
  results: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  for (const step of steps) {
    const scope: Scope = { ...baseScope, steps: results }
    if (step.when) {
      const value = await located(`${step.label} when`, ctx, () => step.when!.evaluate(context, scope))
      if (!value) {
        ctx.onStepSkipped?.({ label: step.label, when: step.when.source, value })
        continue
      }
    }
    if (step.forEach) {
      let items = await located(`${step.label} forEach`, ctx, () => step.forEach!.evaluate(context, scope))
      if (items === undefined || items === null) items = []
      if (!Array.isArray(items)) items = [items]
      const out: StepResult[] = []
      let index = 0
      for (const item of items as unknown[]) {
        out.push(await runStep(step, ctx, context, { ...scope, item, index: index++ }, results))
      }
      if (step.id) results[step.id] = out
    } else {
      const r = await runStep(step, ctx, context, scope, results)
      if (step.id) results[step.id] = r
    }
  }
  return results
}

export class OperationResultError extends DiagnosticError {}

/** Runs an operation (its steps, then its `result` expressions) against the operation's input. */
export async function runOperation(op: CompiledOperation, ctx: RunContext, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const scope: Scope = { ...ctx.scope, input }
  const steps = await runSteps(op.steps, ctx, input, scope)
  const result: Record<string, unknown> = {}
  for (const [key, e] of op.result) {
    result[key] = await located(`${op.name} result.${key}`, ctx, () => e.evaluate(input, { ...scope, steps }))
  }
  return result
}

/** An id from a vendor response as the string Botpress stores; a missing one is an error naming the place. */
export function requireId(value: unknown, what: string, op: string): string {
  if (value === undefined || value === null || value === '' || typeof value === 'object') {
    throw new OperationResultError(
      'UH-E042',
      `${op}: result.${what} is ${value === undefined ? 'undefined' : JSON.stringify(value)}; check the expression against the vendor's response`,
    )
  }
  return String(value)
}

export { Redactor }
