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

export class ExpressionEvaluationError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

export type CompiledExpression = {
  source: string
  evaluate(context: unknown, scope: Scope): Promise<unknown>
}

const forbidden = () => {
  throw new ExpressionEvaluationError('$eval is not available in mappings')
}

function hmac(algorithm: string, key: string, data: string, encoding?: string): string {
  if (!['sha1', 'sha256', 'sha512'].includes(algorithm)) {
    throw new ExpressionEvaluationError(`$hmac: unsupported algorithm "${algorithm}"`)
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

export function compileExpression(source: string): CompiledExpression {
  let expr: jsonata.Expression
  try {
    expr = jsonata(source, EVAL_LIMITS as never)
  } catch (e) {
    const err = e as { message?: string; position?: number; token?: string }
    // jsonata's position points one past the offending token; report the token's first character.
    const tokenLength = typeof err.token === 'string' ? err.token.length : 1
    const position = Math.max(0, (err.position ?? 1) - tokenLength)
    throw new ExpressionSyntaxError(err.message ?? String(e), position)
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
        const err = e as { message?: string; code?: string }
        throw new ExpressionEvaluationError(err.message ?? String(e), err.code)
      }
    },
  }
}
