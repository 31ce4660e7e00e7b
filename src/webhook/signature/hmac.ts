import { createHmac } from 'node:crypto'
import type { CompiledVerify } from '../../mapping/compileMapping'
import { safeEqual } from './compare'
import { formatTimestamp, parseTimestamp } from './timestamp'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

type HmacVerify = Extract<CompiledVerify, { scheme: 'hmac' }>

export function hmacDigest(algorithm: HmacVerify['algorithm'], encoding: HmacVerify['encoding'], secret: string, content: string): string {
  return createHmac(algorithm, secret).update(content, 'utf8').digest(encoding)
}

/** `scheme: hmac`: an HMAC of the `signed` template in a header, optionally with a timestamp in a replay window. */
export async function verifyHmac(verify: HmacVerify, input: VerifyInput): Promise<VerifyOutcome> {
  const secret = await verify.secret.render(undefined, input.scope)
  // White space only is no secret either: a key anyone can guess.
  if (!secret.trim()) return { ok: false, reason: 'no webhook secret is configured' }
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
  const expected = hmacDigest(verify.algorithm, verify.encoding, secret, signed)
  // Some vendors send several signatures (key rotation), separated by commas or spaces.
  const candidates = header
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((c) => (verify.prefix && c.startsWith(verify.prefix) ? c.slice(verify.prefix.length) : c))
  const match = candidates.some((c) => safeEqual(verify.encoding === 'hex' ? c.toLowerCase() : c, expected))
  return match ? { ok: true } : { ok: false, reason: 'signature does not match' }
}

const HEADER_REF = /\$headers\.(?:"([^"]+)"|`([^`]+)`|'([^']+)'|([A-Za-z0-9_-]+))/

/**
 * The header a timestamp template reads (`{{ $headers."x-ts" }}`): where the signer puts the signing time.
 * Format v1 says where the timestamp is read, not where it is written; a timestamp read from elsewhere (the
 * body) is left as the delivery has it.
 */
function timestampHeader(template: string): string | undefined {
  const m = HEADER_REF.exec(template)
  return m ? (m[1] ?? m[2] ?? m[3] ?? m[4])!.toLowerCase() : undefined
}

/** The scope `signed` renders in, as routeWebhook builds it for a JSON delivery. */
function deliveryScope(delivery: SignableDelivery, options: SignOptions) {
  let body: unknown
  try {
    body = JSON.parse(delivery.body)
  } catch {
    body = undefined
  }
  const query = Object.fromEntries(new URLSearchParams(delivery.query))
  return { ...options.scope, headers: delivery.headers, rawBody: delivery.body, body, query, method: delivery.method, path: delivery.path }
}

/** Stamps the time (when the scheme has one) and puts prefix + HMAC of the `signed` template in the header. */
export async function signHmac(verify: HmacVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  const secret = await verify.secret.render(undefined, options.scope)
  const headers = { ...delivery.headers }
  if (verify.timestamp) {
    const header = timestampHeader(verify.timestamp.value.source)
    if (header) headers[header] = formatTimestamp(options.now, verify.timestamp.format)
  }
  const stamped = { ...delivery, headers }
  const content = await verify.signed.render(undefined, deliveryScope(stamped, options))
  headers[verify.header] = verify.prefix + hmacDigest(verify.algorithm, verify.encoding, secret, content)
  return stamped
}
