import type { CompiledExpression } from '../../expr/compileExpression'
import type { CompiledTemplate } from '../../expr/compileTemplate'
import type * as M from '../types'
import { compileAuth, type CompiledAuth } from './auth'
import { allFieldsRead, type CompileContext } from './context'

export type CompiledHttp = {
  baseUrl: CompiledTemplate
  allowedHosts: string[]
  headers: [string, CompiledTemplate][]
  query: [string, CompiledTemplate][]
  auth?: CompiledAuth
  timeoutMs: number
  retry: Required<Omit<M.RetryPolicy, 'retryAfterHeader'>> & { retryAfterHeader?: string }
  errorMessage?: CompiledExpression
}

export const DEFAULT_RETRY: CompiledHttp['retry'] = {
  limit: 2,
  statusCodes: [408, 429, 500, 502, 503, 504],
  maxRetryAfterSeconds: 30,
}

/** A vendor call that gives no answer in this time fails (the hand-off must not hang on a helpdesk). */
const DEFAULT_TIMEOUT_MS = 10_000

export function compileHttp(http: M.HttpDefaults, cx: CompileContext): CompiledHttp {
  const { baseUrl, allowedHosts, headers, query, auth, timeoutMs, retry, errorMessage, ...rest } = http
  allFieldsRead(rest)
  return {
    baseUrl: cx.tmpl(baseUrl, ['http', 'baseUrl']),
    allowedHosts: (allowedHosts ?? []).map((h) => h.toLowerCase()),
    headers: cx.tmplMap(headers, ['http', 'headers']),
    query: cx.tmplMap(query, ['http', 'query']),
    auth: compileAuth(auth, cx, ['http', 'auth']),
    timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY, ...retry, retryAfterHeader: retry?.retryAfterHeader?.toLowerCase() },
    errorMessage: cx.optionalExpr(errorMessage, ['http', 'errorMessage']),
  }
}
