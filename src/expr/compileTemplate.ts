import { compileExpression, type CompiledExpression, ExpressionSyntaxError, type Scope } from './compileExpression'

export type CompiledTemplate = {
  source: string
  /** True when the template has no `{{ }}` part. */
  constant: boolean
  render(context: unknown, scope: Scope, options?: { encode?: boolean }): Promise<string>
}

type Part = { text: string } | { expr: CompiledExpression }

const OPEN = '{{'
const CLOSE = '}}'

/** Renders a value of any JSON type into template text. */
export function stringify(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

export function compileTemplate(source: string): CompiledTemplate {
  const parts: Part[] = []
  let cursor = 0
  while (cursor < source.length) {
    const open = source.indexOf(OPEN, cursor)
    if (open < 0) {
      parts.push({ text: source.slice(cursor) })
      break
    }
    if (open > cursor) parts.push({ text: source.slice(cursor, open) })
    const close = source.indexOf(CLOSE, open + OPEN.length)
    if (close < 0) throw new ExpressionSyntaxError('"{{" is never closed by "}}"', open)
    const inner = source.slice(open + OPEN.length, close)
    if (!inner.trim()) throw new ExpressionSyntaxError('empty "{{ }}" in template', open)
    try {
      parts.push({ expr: compileExpression(inner) })
    } catch (e) {
      if (e instanceof ExpressionSyntaxError) {
        throw new ExpressionSyntaxError(e.message, open + OPEN.length + e.position)
      }
      throw e
    }
    cursor = close + CLOSE.length
  }
  const constant = parts.every((p) => 'text' in p)
  return {
    source,
    constant,
    async render(context, scope, options) {
      let out = ''
      for (const part of parts) {
        if ('text' in part) out += part.text
        else {
          const text = stringify(await part.expr.evaluate(context, scope))
          out += options?.encode ? encodeURIComponent(text) : text
        }
      }
      return out
    },
  }
}
