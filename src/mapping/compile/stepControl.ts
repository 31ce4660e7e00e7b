import type { CompiledExpression } from '../../expr/compileExpression'
import type { PathSegment } from '../problems'
import type * as M from '../types'
import { allFieldsRead, type CompileContext, type StepIds } from './context'

// Paging, polling and recovery of one step (`paginate`, `retry`, `onError`): compiled here, run by
// src/operations/stepControl.ts. Kept apart from steps.ts, which compiles the request itself.

export type CompiledPaginate = { next: CompiledExpression; until?: CompiledExpression; maxPages: number }
export type CompiledStepRetry = { statusCodes: number[]; until?: CompiledExpression; limit: number; delayMs: number }

/** Between two tries of a step's `retry` when the mapping gives no `delayMs`: a vendor indexing a new id needs a moment. */
const DEFAULT_STEP_RETRY_DELAY_MS = 500

export function compilePaginate(p: M.Paginate | undefined, cx: CompileContext, path: PathSegment[], ids: StepIds): CompiledPaginate | undefined {
  if (!p) return undefined
  const { next, until, maxPages, ...rest } = p
  allFieldsRead(rest)
  return { next: cx.expr(String(next), [...path, 'next'], ids), until: cx.optionalExpr(until, [...path, 'until'], ids), maxPages }
}

export function compileStepRetry(r: M.StepRetry | undefined, cx: CompileContext, path: PathSegment[], ids: StepIds): CompiledStepRetry | undefined {
  if (!r) return undefined
  const { statusCodes, until, limit, delayMs, ...rest } = r
  allFieldsRead(rest)
  if (!statusCodes?.length && until === undefined)
    cx.problem('UH-E055', path, 'retry needs statusCodes, until or both: otherwise nothing says when to send the step again')
  return { statusCodes: statusCodes ?? [], until: cx.optionalExpr(until, [...path, 'until'], ids), limit, delayMs: delayMs ?? DEFAULT_STEP_RETRY_DELAY_MS }
}
