import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Scope } from '../expr/compileExpression'
import type { CompiledVerify } from '../mapping/compileMapping'

export type VerifyOutcome = { ok: true } | { ok: false; reason: string }

/** Constant-time comparison that does not throw on different lengths (a wrong length is just a mismatch). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  if (x.length !== y.length) {
    timingSafeEqual(x, x) // keep the timing independent of where the mismatch is
    return false
  }
  return timingSafeEqual(x, y)
}

export function parseTimestamp(text: string, format: 'unix' | 'unixMs' | 'iso'): number | undefined {
  const t = text.trim()
  if (!t) return undefined
  if (format === 'iso') {
    const ms = Date.parse(t)
    return Number.isNaN(ms) ? undefined : ms
  }
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined
  return format === 'unix' ? Number(t) * 1000 : Number(t)
}

export type VerifyInput = {
  headers: Record<string, string>
  query: Record<string, string>
  /** The parsed body (only for `scheme: secret, in: body`). */
  body?: unknown
  scope: Scope
  now?: number
}

/** Checks a delivery against the mapping's `verify` block. Reasons are for logs; never include secrets. */
export async function verifySignature(verify: CompiledVerify, input: VerifyInput): Promise<VerifyOutcome> {
  if (verify.scheme === 'none') return { ok: true }
  const secret = await verify.secret.render(undefined, input.scope)
  // White space only is no secret either: an HMAC key anyone can guess.
  if (!secret.trim()) return { ok: false, reason: 'no webhook secret is configured' }

  if (verify.scheme === 'secret') {
    let given: string | undefined
    if (verify.in === 'header') given = input.headers[verify.name]
    else if (verify.in === 'query') given = input.query[verify.name]
    else if (verify.in === 'basic') {
      const auth = input.headers.authorization ?? ''
      const m = /^Basic\s+(.+)$/i.exec(auth)
      given = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':').slice(1).join(':') : undefined
    } else if (verify.nameExpr) {
      const v = await verify.nameExpr.evaluate(input.body, input.scope)
      given = typeof v === 'string' ? v : undefined
    }
    if (!given) return { ok: false, reason: 'shared secret missing' }
    return safeEqual(given, secret) ? { ok: true } : { ok: false, reason: 'shared secret does not match' }
  }

  const header = input.headers[verify.header]
  if (!header) return { ok: false, reason: `signature header ${verify.header} missing` }
  if (verify.timestamp) {
    const text = await verify.timestamp.value.render(undefined, input.scope)
    const at = parseTimestamp(text, verify.timestamp.format)
    if (at === undefined) return { ok: false, reason: 'timestamp missing or unreadable' }
    const skew = Math.abs((input.now ?? Date.now()) - at) / 1000
    if (skew > verify.timestamp.toleranceSeconds) return { ok: false, reason: `timestamp outside the ${verify.timestamp.toleranceSeconds} s window` }
  }
  const signed = await verify.signed.render(undefined, input.scope)
  const expected = createHmac(verify.algorithm, secret).update(signed, 'utf8').digest(verify.encoding)
  // Some vendors send several signatures (key rotation), separated by commas or spaces.
  const candidates = header
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((c) => (verify.prefix && c.startsWith(verify.prefix) ? c.slice(verify.prefix.length) : c))
  const match = candidates.some((c) => safeEqual(verify.encoding === 'hex' ? c.toLowerCase() : c, expected))
  return match ? { ok: true } : { ok: false, reason: 'signature does not match' }
}

/**
 * Whether checking the signature needs the parsed body (`$body` read by the signed text, the secret or the
 * timestamp, or a shared secret carried in the body). When it does not, the router verifies before parsing:
 * an unsigned request costs no parse.
 */
export function verifyReadsBody(verify: CompiledVerify): boolean {
  if (verify.scheme === 'none') return false
  if (verify.scheme === 'secret') return verify.in === 'body' || readsBody(verify.secret.source)
  return [verify.signed.source, verify.secret.source, verify.timestamp?.value.source ?? ''].some(readsBody)
}

const readsBody = (source: string) => /\$body\b/.test(source)

/** Produces the signature header value a vendor would send (fixtures and the demo desk use it). */
export function sign(algorithm: 'sha1' | 'sha256' | 'sha512', encoding: 'hex' | 'base64', secret: string, content: string): string {
  return createHmac(algorithm, secret).update(content, 'utf8').digest(encoding)
}
