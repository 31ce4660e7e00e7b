import { DiagnosticError } from '../diagnostics/codes'

export class WebhookBodyError extends DiagnosticError {}

/** Parses a delivery's raw body as the mapping says (`json`, `form` or `auto` by content type). */
export function parseWebhookBody(raw: string, mode: 'json' | 'form' | 'auto', contentType: string | undefined): unknown {
  const form = mode === 'form' || (mode === 'auto' && /application\/x-www-form-urlencoded/i.test(contentType ?? ''))
  if (form) {
    const out: Record<string, string | string[]> = {}
    for (const [k, v] of new URLSearchParams(raw)) {
      const prev = out[k]
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
    }
    return out
  }
  if (raw.trim() === '') {
    if (mode === 'json') throw new WebhookBodyError('UH-E049', 'empty body; expected JSON')
    return {}
  }
  try {
    return JSON.parse(raw)
  } catch (e) {
    throw new WebhookBodyError('UH-E049', `body is not valid JSON (${(e as Error).message})`)
  }
}

/** `a=1&b=2` (or an object) → a plain object of strings. */
export function parseQuery(query: string | Record<string, string> | undefined): Record<string, string> {
  if (!query) return {}
  if (typeof query === 'object') return { ...query }
  return Object.fromEntries(new URLSearchParams(query.startsWith('?') ? query.slice(1) : query))
}
