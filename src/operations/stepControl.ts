import { DiagnosticError } from '../diagnostics/codes'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Scope } from '../expr/compileExpression'
import { stringify } from '../expr/compileTemplate'
import { VendorRequestError } from '../http/sendRequest'
import type { CompiledStep } from '../mapping/compileMapping'

// Paging, polling and recovery around one step's request (`paginate`, `retry`, `onError`). The request itself
// is built and sent by runSteps.ts; this module decides how often and with which page.

export type StepResult = { status: number; headers: Record<string, string>; body: unknown }
/** A paginated step's result: the last page, plus every page in order. */
export type PagedResult = StepResult & { pages: StepResult[] }

/** What the next page changes: a URL taken from the response (used as is), or query parameters to set. */
export type PageOverride = { url?: string; query?: Record<string, string> }

export class StepControlError extends DiagnosticError {}

/** Names the place of an expression error (`register step "hooks" paginate.next: …`); from runSteps.ts. */
export type Locate = <T>(where: string, run: () => Promise<T>) => Promise<T>

/**
 * Runs one step's request with its controls: `onError` around `paginate` around `retry`. `send` builds and
 * sends the request (with a page override); `recover` runs the recovery steps (their results join `$steps`).
 */
export async function runControlledStep(
  step: CompiledStep,
  scope: Scope,
  send: (page?: PageOverride) => Promise<StepResult>,
  recover: (steps: CompiledStep[], scope: Scope) => Promise<void>,
  locate: Locate,
): Promise<StepResult | PagedResult> {
  const paged = () => paginate(step, scope, locate, (page) => withRetry(step, scope, locate, () => send(page)))
  try {
    return await paged()
  } catch (e) {
    if (!step.onError || !(e instanceof VendorRequestError)) throw e
    const error = { status: e.status, body: e.responseBody, message: e.message }
    const errorScope = { ...scope, error }
    const when = step.onError.when
    if (when && !(await locate(`${step.label} onError.when`, () => when.evaluate(error, errorScope)))) throw e
    await recover(step.onError.steps, errorScope)
    // Once: a second failure is the step's error (a recovery that does not help must not loop).
    return paged()
  }
}

async function withRetry(step: CompiledStep, scope: Scope, locate: Locate, send: () => Promise<StepResult>): Promise<StepResult> {
  const retry = step.retry
  if (!retry) return send()
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= retry.limit
    let response: StepResult
    try {
      response = await send()
    } catch (e) {
      if (!last && e instanceof VendorRequestError && e.status !== undefined && retry.statusCodes.includes(e.status)) {
        await sleep(retry.delayMs)
        continue
      }
      throw e
    }
    if (!last && retry.statusCodes.includes(response.status)) {
      await sleep(retry.delayMs)
      continue
    }
    const until = retry.until
    if (!until || (await locate(`${step.label} retry.until`, () => until.evaluate(response, { ...scope, response })))) return response
    if (last) throw new StepControlError('UH-E059', `${step.label}: retry.until (${until.source}) still false after ${retry.limit + 1} tries`)
    await sleep(retry.delayMs)
  }
}

async function paginate(
  step: CompiledStep,
  scope: Scope,
  locate: Locate,
  send: (page?: PageOverride) => Promise<StepResult>,
): Promise<StepResult | PagedResult> {
  const p = step.paginate
  if (!p) return send()
  const pages: StepResult[] = [await send()]
  while (pages.length < p.maxPages) {
    const current = pages[pages.length - 1]!
    const pageScope = { ...scope, pages, page: pages.length - 1 }
    const until = p.until
    if (until && (await locate(`${step.label} paginate.until`, () => until.evaluate(current, pageScope)))) break
    const next = await locate(`${step.label} paginate.next`, () => p.next.evaluate(current, pageScope))
    if (next === undefined || next === null || next === '' || next === false) break
    pages.push(await send(pageOverride(next, step.label)))
  }
  return { ...pages[pages.length - 1]!, pages }
}

function pageOverride(next: unknown, label: string): PageOverride {
  if (typeof next === 'string') return { url: next }
  if (typeof next === 'object' && !Array.isArray(next)) {
    const query: Record<string, string> = {}
    for (const [k, v] of Object.entries(next as Record<string, unknown>)) if (v !== undefined && v !== null) query[k] = stringify(v)
    return { query }
  }
  throw new StepControlError(
    'UH-E060',
    `${label}: paginate.next gave ${JSON.stringify(next)}; it must give the next page's URL (a string), query parameters (an object) or nothing (no more pages)`,
  )
}
