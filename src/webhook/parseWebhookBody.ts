import { MAX_FORM_FIELDS, MAX_JSON_DEPTH } from './limits'

/** A body the mapping cannot read; `status` is what the vendor is answered (400, or 413 for an over-limit body). */
export class WebhookBodyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message)
  }
}

export const isFormBody = (mode: 'json' | 'form' | 'auto', contentType: string | undefined) =>
  mode === 'form' || (mode === 'auto' && /application\/x-www-form-urlencoded/i.test(contentType ?? ''))

/** Parses a delivery's raw body as the mapping says (`json`, `form` or `auto` by content type), within the limits. */
export function parseWebhookBody(raw: string, mode: 'json' | 'form' | 'auto', contentType: string | undefined): unknown {
  if (isFormBody(mode, contentType)) return parseForm(raw)
  if (raw.trim() === '') {
    if (mode === 'json') throw new WebhookBodyError('empty body; expected JSON')
    return {}
  }
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (e) {
    throw new WebhookBodyError(`body is not valid JSON (${(e as Error).message})`)
  }
  if (depthOver(value, MAX_JSON_DEPTH)) throw new WebhookBodyError(`body nests deeper than ${MAX_JSON_DEPTH} levels`, 413)
  return value
}

/** Linear in the body: a repeated field appends to its list (never copies it); `__proto__` stays a plain key. */
function parseForm(raw: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>()
  let count = 0
  for (const [k, v] of new URLSearchParams(raw)) {
    if (++count > MAX_FORM_FIELDS) throw new WebhookBodyError(`form body has more than ${MAX_FORM_FIELDS} fields`, 413)
    const prev = fields.get(k)
    if (prev === undefined) fields.set(k, v)
    else if (Array.isArray(prev)) prev.push(v)
    else fields.set(k, [prev, v])
  }
  return Object.fromEntries(fields)
}

/** Whether `value` nests deeper than `max` (iterative: a deep body cannot overflow the stack here). */
function depthOver(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (depth > max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return false
}

/** `a=1&b=2` (or an object) → a plain object of strings. */
export function parseQuery(query: string | Record<string, string> | undefined): Record<string, string> {
  if (!query) return {}
  if (typeof query === 'object') return { ...query }
  return Object.fromEntries(new URLSearchParams(query.startsWith('?') ? query.slice(1) : query))
}
