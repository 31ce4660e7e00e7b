import { DiagnosticError, type DiagnosticCode } from '../diagnostics/codes'
import { createHmac } from 'node:crypto'
import jsonata from 'jsonata'

/** Limits on every evaluation: mappings are shared files, i.e. untrusted code. */
export const EVAL_LIMITS = { timeout: 250, stack: 200, sequence: 100_000 }

export type Scope = Record<string, unknown>

/** A JSONata syntax error with the character offset inside the expression. */
export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message)
  }
}

/** `code` is JSONata's own error code (e.g. T2001); `diagnostic` the project's (docs/errors.md). */
export class ExpressionEvaluationError extends DiagnosticError {
  constructor(
    diagnostic: DiagnosticCode,
    message: string,
    readonly code?: string,
  ) {
    super(diagnostic, message)
  }
}

export type CompiledExpression = {
  source: string
  evaluate(context: unknown, scope: Scope): Promise<unknown>
}

const forbidden = () => {
  throw new ExpressionEvaluationError('UH-E044', '$eval is not available in mappings')
}

function hmac(algorithm: string, key: string, data: string, encoding?: string): string {
  if (!['sha1', 'sha256', 'sha512'].includes(algorithm)) {
    throw new ExpressionEvaluationError('UH-E045', `$hmac: unsupported algorithm "${algorithm}"`)
  }
  return createHmac(algorithm, String(key))
    .update(String(data))
    .digest(encoding === 'base64' ? 'base64' : 'hex')
}

const base64 = (text: string) => Buffer.from(String(text), 'utf8').toString('base64')

function toPlain(value: unknown): unknown {
  // JSONata marks sequences with a `sequence` flag and may return its internal array subclass; copy to plain JSON.
  if (Array.isArray(value)) return value.map(toPlain)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toPlain(v)
    return out
  }
  return value
}

/**
 * The character offset a jsonata syntax error is about. Tokenizer errors (S01xx) give it directly; parser
 * errors give the offset one past the offending token, and for "(end)" the end of the text.
 */
function syntaxErrorPosition(source: string, err: { position?: number; token?: unknown; code?: string }): number {
  const end = source.trimEnd().length
  const at = Math.min(err.position ?? 0, source.length)
  if (err.token === undefined || err.code?.startsWith('S01')) return Math.max(0, Math.min(at, end))
  if (err.token === '(end)') return end
  const text = String(err.token)
  if (source.slice(at - text.length, at) === text) return at - text.length
  // A string or back-quoted name: the token is its value without the quotes.
  const quote = source[at - 1]
  if (quote === '"' || quote === "'" || quote === '`') {
    const open = source.lastIndexOf(quote, at - 2)
    if (open >= 0) return open
  }
  return Math.max(0, at - 1)
}

/**
 * Compiled expressions by source text. A compiled expression keeps no state between evaluations, so a mapping
 * that repeats `{{ ticketId }}` or `$settings.apiToken` in many places compiles it once (jsonata's compile costs
 * far more than the lookup). Bounded: cleared when full, so distinct texts cannot grow memory without end.
 */
const compiledBySource = new Map<string, CompiledExpression>()
const COMPILED_CACHE_CAP = 5000

/** Forgets every compiled expression: the benchmark measures a first validation with it. */
export const clearCompiledExpressions = () => compiledBySource.clear()

export function compileExpression(source: string): CompiledExpression {
  const hit = compiledBySource.get(source)
  if (hit) return hit
  const compiled = compileNew(source)
  if (compiledBySource.size >= COMPILED_CACHE_CAP) compiledBySource.clear()
  compiledBySource.set(source, compiled)
  return compiled
}

function compileNew(source: string): CompiledExpression {
  let expr: jsonata.Expression
  try {
    expr = jsonata(source, EVAL_LIMITS as never)
  } catch (e) {
    const err = e as { message?: string; position?: number; token?: unknown; code?: string }
    throw new ExpressionSyntaxError(err.message ?? String(e), syntaxErrorPosition(source, err))
  }
  expr.registerFunction('eval', forbidden)
  expr.registerFunction('hmac', hmac, '<ssss?:s>')
  expr.registerFunction('base64', base64, '<s:s>')
  return {
    source,
    async evaluate(context, scope) {
      try {
        // A fresh bindings object per call (jsonata < 2.2.2 raced on shared state; keep the habit).
        return toPlain(await expr.evaluate(context as never, { ...scope }))
      } catch (e) {
        // A mapping function's own error ($eval, $hmac) keeps its code; JSONata's errors are evaluation failures.
        if (e instanceof ExpressionEvaluationError) throw e
        const err = e as { message?: string; code?: string }
        throw new ExpressionEvaluationError('UH-E043', err.message ?? String(e), err.code)
      }
    },
  }
}
