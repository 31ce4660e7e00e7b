import type { CompiledExpression } from '../../expr/compileExpression'
import type { CompiledTemplate } from '../../expr/compileTemplate'
import type { PathSegment } from '../problems'
import type * as M from '../types'
import { compileAuth, type CompiledAuth } from './auth'
import { allFieldsRead, type CompileContext, type StepIds } from './context'

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
  /** A token request's step (src/mapping/compile/auth.ts): its response holds credentials, never shown to observers. */
  secretResponse?: boolean
}

/** Methods that may be retried unless the mapping says otherwise (repeating them changes nothing). */
const IDEMPOTENT_METHODS: readonly string[] = ['GET', 'PUT', 'DELETE']

function compileRequest(request: M.RequestSpec, cx: CompileContext, path: PathSegment[], stepIds: StepIds): CompiledRequest {
  const { method, path: urlPath, url, query, headers, auth, body, form, idempotent, okStatus, ...rest } = request
  allFieldsRead(rest)
  return {
    method,
    path: urlPath !== undefined ? cx.tmpl(urlPath, [...path, 'path'], stepIds) : undefined,
    url: url !== undefined ? cx.tmpl(url, [...path, 'url'], stepIds) : undefined,
    query: cx.tmplMap(query, [...path, 'query'], stepIds),
    headers: cx.tmplMap(headers, [...path, 'headers'], stepIds),
    auth: compileAuth(auth, cx, [...path, 'auth'], stepIds),
    body: cx.optionalExpr(body, [...path, 'body'], stepIds),
    form: cx.optionalExpr(form, [...path, 'form'], stepIds),
    idempotent: idempotent ?? IDEMPOTENT_METHODS.includes(method),
    okStatus: okStatus ?? [],
  }
}

/**
 * Steps of an operation or a webhook rule. `owner` names them in messages (`createTicket`, `webhook rule 2`);
 * the returned ids are what the owner's later expressions may read as `$steps.<id>`.
 */
export function compileSteps(list: M.Step[] | undefined, cx: CompileContext, path: PathSegment[], owner: string): { steps: CompiledStep[]; ids: StepIds } {
  const ids = new Set<string>()
  const steps = (list ?? []).map((step, i): CompiledStep => {
    const p = [...path, i]
    const { id, when, forEach, request, ...rest } = step
    allFieldsRead(rest)
    if (id && ids.has(id)) cx.problem('UH-E021', [...p, 'id'], `step id "${id}" is used twice in ${owner}`)
    const compiled: CompiledStep = {
      label: `${owner} step ${id ? `"${id}"` : i + 1}`,
      id,
      when: cx.optionalExpr(when, [...p, 'when'], ids),
      forEach: cx.optionalExpr(forEach, [...p, 'forEach'], ids),
      request: compileRequest(request, cx, [...p, 'request'], ids),
    }
    if (id) ids.add(id)
    return compiled
  })
  return { steps, ids }
}
