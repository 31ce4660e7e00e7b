import type { CompiledExpression } from '../../expr/compileExpression'
import type { CompiledTemplate } from '../../expr/compileTemplate'
import type { PathSegment } from '../problems'
import type * as M from '../types'
import { compileAuth, type CompiledAuth } from './auth'
import { allFieldsRead, type CompileContext, type StepIds } from './context'
import { compilePaginate, compileStepRetry, type CompiledPaginate, type CompiledStepRetry } from './stepControl'

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
  files?: CompiledFiles
}

export type CompiledFiles = { as: 'multipart' | 'base64' | 'binary'; field: string; maxBytes: number; contentTypes?: string[] }

/** A file larger than this is sent as its link unless the step says otherwise: what the strictest common desks take. */
const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024

function compileFiles(files: M.FilesSpec | undefined, cx: CompileContext, path: PathSegment[], request: M.RequestSpec): CompiledFiles | undefined {
  if (!files) return undefined
  const { as, field, maxBytes, contentTypes, ...rest } = files
  allFieldsRead(rest)
  if (as === 'binary') {
    // The file is the whole body: nothing else can go in it.
    const extra = [request.body !== undefined && 'body', request.form !== undefined && 'form', field !== undefined && 'files.field'].filter(Boolean)
    if (extra.length)
      cx.problem('UH-E062', path, `a binary upload sends the file itself as the body: remove ${extra.join(', ')} (put the file's name in the path or query)`)
    if (path.includes('bloc'))
      cx.problem('UH-E062', path, 'a binary upload sends one file, and a bloc carries several: give bloc no entry of its own (it is then sent item by item)')
  } else if (request.form !== undefined) cx.problem('UH-E056', path, 'a step with files sends multipart or JSON: give the other fields in `body`, not `form`')
  return { as, field: field ?? 'file', maxBytes: maxBytes ?? DEFAULT_MAX_FILE_BYTES, contentTypes }
}

export type CompiledStep = {
  /** Where the step is, for error messages: `createTicket step "ticket"`. */
  label: string
  id?: string
  when?: CompiledExpression
  forEach?: CompiledExpression
  request: CompiledRequest
  paginate?: CompiledPaginate
  retry?: CompiledStepRetry
  /** Recovery: when the step fails and `when` holds, run `steps`, then send the step once more. */
  onError?: { when?: CompiledExpression; steps: CompiledStep[] }
  /** A token request's step (src/mapping/compile/auth.ts): its response holds credentials, never shown to observers. */
  secretResponse?: boolean
}

/** Methods that may be retried unless the mapping says otherwise (repeating them changes nothing). */
const IDEMPOTENT_METHODS: readonly string[] = ['GET', 'PUT', 'DELETE']

function compileRequest(request: M.RequestSpec, cx: CompileContext, path: PathSegment[], stepIds: StepIds): CompiledRequest {
  const { method, path: urlPath, url, query, headers, auth, body, form, idempotent, okStatus, files, ...rest } = request
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
    files: compileFiles(files, cx, [...path, 'files'], request),
  }
}

/**
 * Steps of an operation or a webhook rule. `owner` names them in messages (`createTicket`, `webhook rule 2`);
 * the returned ids are what the owner's later expressions may read as `$steps.<id>`.
 */
export function compileSteps(
  list: M.Step[] | undefined,
  cx: CompileContext,
  path: PathSegment[],
  owner: string,
  earlier: StepIds = new Set(),
): { steps: CompiledStep[]; ids: StepIds } {
  const ids = new Set<string>(earlier)
  const steps = (list ?? []).map((step, i): CompiledStep => {
    const p = [...path, i]
    const { id, when, forEach, request, paginate, retry, onError, ...rest } = step
    allFieldsRead(rest)
    if (id && ids.has(id)) cx.problem('UH-E021', [...p, 'id'], `step id "${id}" is used twice in ${owner}`)
    const label = `${owner} step ${id ? `"${id}"` : i + 1}`
    const compiled: CompiledStep = {
      label,
      id,
      when: cx.optionalExpr(when, [...p, 'when'], ids),
      forEach: cx.optionalExpr(forEach, [...p, 'forEach'], ids),
      request: compileRequest(request, cx, [...p, 'request'], ids),
      paginate: compilePaginate(paginate, cx, [...p, 'paginate'], ids),
      retry: compileStepRetry(retry, cx, [...p, 'retry'], ids),
    }
    if (onError) {
      const { when: onWhen, steps: recovery, ...others } = onError
      allFieldsRead(others)
      // Recovery steps see the earlier steps; their ids are readable by the retried request and later steps.
      const r = compileSteps(recovery, cx, [...p, 'onError', 'steps'], `${label} onError`, ids)
      compiled.onError = { when: cx.optionalExpr(onWhen, [...p, 'onError', 'when'], ids), steps: r.steps }
      for (const rid of r.ids) ids.add(rid)
    }
    if (id) ids.add(id)
    return compiled
  })
  return { steps, ids }
}
