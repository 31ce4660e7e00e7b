import type { Problem, SourceDocument } from './problems'
import type * as M from './types'

/** `$headers."x-a"`, `$headers.x_a`, `$query.q` …: the request parts an expression or template reads by name. */
const NAMED_READ = /\$(headers|query)\s*\.\s*(?:"([^"]*)"|'([^']*)'|`([^`]*)`|([A-Za-z_][A-Za-z0-9_-]*))/g

/** Blanks out string literals (same length, so offsets hold), except quoted names after a `.` (`$headers."x-a"`). */
function withoutLiterals(text: string): string {
  return text.replace(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/g, (literal, _q, offset: number) =>
    afterDot(text, offset) ? literal : ' '.repeat(literal.length),
  )
}

/** Whether `text` has a `.` right before `offset`, whitespace between allowed (`/\.\s*$/` on the text before it, without scanning all of that). */
function afterDot(text: string, offset: number): boolean {
  let i = offset - 1
  while (i >= 0 && /\s/.test(text[i]!)) i--
  return text[i] === '.'
}

function namedReads(text: string): { part: 'headers' | 'query'; name: string; index: number }[] {
  return [...withoutLiterals(text).matchAll(NAMED_READ)].map((m) => ({
    part: m[1] as 'headers' | 'query',
    name: (m[2] ?? m[3] ?? m[4] ?? m[5] ?? '').toLowerCase(),
    index: m.index,
  }))
}

/** Whether an expression reads the event object (a path not starting with `$`), i.e. the body. */
function readsBodyFields(expression: string): boolean {
  const withoutStrings = withoutLiterals(expression)
  const withoutVariables = withoutStrings.replace(
    /\$[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*(?:`[^`]*`|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_-]*))*/g,
    '',
  )
  return /(^|[^A-Za-z0-9_$.])[A-Za-z_`]/.test(withoutVariables.replace(/\b(and|or|in|true|false|null|function)\b/g, ''))
}

/**
 * Warnings (for `validate`, src/mapping/lintMapping.ts) on a `dedupeKey` that reads a part of the delivery the
 * HMAC signature does not cover. A replay of a signed delivery with that part changed (a fresh delivery-id
 * header) passes both the signature and the deduplication: within the replay window, the event happens twice.
 */
export function dedupeCoverageWarnings(source: SourceDocument): Problem[] {
  const webhook = source.doc.getIn(['webhook'])
  const w = (webhook && typeof webhook === 'object' && 'toJSON' in webhook ? (webhook as { toJSON(): unknown }).toJSON() : undefined) as
    | M.WebhookSpec
    | undefined
  const verify = w?.verify
  const key = w?.dedupeKey
  if (typeof key !== 'string' || !verify || verify === 'none' || typeof verify !== 'object' || verify.scheme !== 'hmac') return []
  const signed = verify.signed
  const covered = new Set(namedReads(signed).map((r) => `${r.part}:${r.name}`))
  const warnings: Problem[] = []
  const path = ['webhook', 'dedupeKey']
  for (const read of namedReads(key)) {
    if (covered.has(`${read.part}:${read.name}`)) continue
    const what = read.part === 'headers' ? `header "${read.name}"` : `query parameter "${read.name}"`
    warnings.push(
      source.problem(
        'UH-W003',
        path,
        `warning: reads the ${what}, which the signature (webhook.verify.signed) does not cover: a replay with another value passes deduplication; take the key from the signed body`,
        {
          offsetInValue: read.index,
        },
      ),
    )
  }
  if (!/\$rawBody\b|\$body\b/.test(signed) && readsBodyFields(key)) {
    warnings.push(
      source.problem(
        'UH-W004',
        path,
        'warning: reads the body, which the signature (webhook.verify.signed) does not cover: a replay with another body passes deduplication',
      ),
    )
  }
  return warnings
}
