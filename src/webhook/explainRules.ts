// Why a delivery produced what it did: each event rule's `when` against each event object — true, false or
// undefined — and, when not true, which field paths it reads are missing. `route --explain` prints it, and a
// failing webhook fixture prints it under its problems.
import { compileExpression, ExpressionEvaluationError, type Scope } from '../expr/compileExpression'
import { fieldPaths, pathPrefixSource } from '../expr/expressionPaths'
import type { CompiledEventRule } from '../mapping/compileMapping'

export type RuleVerdict = {
  rule: string
  when: string
  /** `true`/`false` as evaluated; `undefined` when the expression gave nothing; `error` when it failed. */
  verdict: 'true' | 'false' | 'undefined' | 'error'
  /** The evaluated value when it is neither a boolean nor undefined (truthy/falsy as JSONata sees it). */
  value?: unknown
  error?: string
  /** Paths the expression reads that the object lacks, cut at their first missing segment (`ticket.assignee`). */
  missing: string[]
}

/** One event object of the delivery (a batch has several) and every rule's verdict on it. */
export type ObjectExplanation = { index: number; rules: RuleVerdict[]; matched?: string }

async function missingPaths(source: string, object: unknown, scope: Scope): Promise<string[]> {
  const out: string[] = []
  for (const p of fieldPaths(source)) {
    for (let n = 1; n <= p.segments.length; n++) {
      if (n === 1 && p.segments[0]!.variable) continue
      const prefix = pathPrefixSource(p, n)
      const value = await compileExpression(prefix)
        .evaluate(object, scope)
        .catch(() => undefined)
      if (value === undefined) {
        if (!out.includes(prefix)) out.push(prefix)
        break
      }
    }
  }
  return out
}

/** Every rule's verdict on one event object (not only up to the first match: the point is to see them all). */
export async function explainObject(rules: CompiledEventRule[], object: unknown, scope: Scope, index: number): Promise<ObjectExplanation> {
  const verdicts: RuleVerdict[] = []
  let matched: string | undefined
  for (const rule of rules) {
    const base = { rule: rule.label, when: rule.when.source }
    let value: unknown
    try {
      value = await rule.when.evaluate(object, scope)
    } catch (e) {
      if (!(e instanceof ExpressionEvaluationError)) throw e
      verdicts.push({ ...base, verdict: 'error', error: e.message, missing: await missingPaths(rule.when.source, object, scope) })
      continue
    }
    if (value && matched === undefined) matched = rule.label
    const verdict = value === true ? 'true' : value === undefined ? 'undefined' : value === false ? 'false' : value ? 'true' : 'false'
    verdicts.push({
      ...base,
      verdict,
      ...(typeof value !== 'boolean' && value !== undefined ? { value } : {}),
      missing: verdict === 'true' ? [] : await missingPaths(rule.when.source, object, scope),
    })
  }
  return { index, rules: verdicts, matched }
}

/** Human-readable lines: `object 1: webhook rule "agent reply": false (missing: message.author)`. */
export function formatExplanation(objects: ObjectExplanation[]): string[] {
  const lines: string[] = []
  for (const o of objects) {
    lines.push(`event object ${o.index + 1}: ${o.matched ? `first match ${o.matched}` : 'no rule matched'}`)
    for (const r of o.rules) {
      const extra = [
        r.value !== undefined ? `value ${JSON.stringify(r.value)}` : '',
        r.error ? r.error : '',
        r.missing.length ? `missing: ${r.missing.join(', ')}` : '',
      ].filter(Boolean)
      lines.push(`  ${r.rule}: ${r.verdict}${extra.length ? ` (${extra.join('; ')})` : ''}  — when: ${r.when.replace(/\s+/g, ' ').trim()}`)
    }
  }
  return lines
}
