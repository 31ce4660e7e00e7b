import type { Scope } from '../../expr/compileExpression'
import type { CompiledHeaderSignature } from '../../mapping/compile/webhook'
import { formatTimestamp, parseTimestamp } from './timestamp'
import type { SignableDelivery, SignOptions, VerifyInput } from './types'

/**
 * The part `hmac` and `rsa` share: read the signature candidates out of a (maybe structured) header, check the
 * timestamp's replay window, and render the signed text. The templates see `$header` (the signature header's
 * value) and, in `signed`, `$timestamp` (the timestamp text as sent).
 */
export type ReadSignature = { ok: true; candidates: string[]; signed: string } | { ok: false; reason: string }

export async function readHeaderSignature(v: CompiledHeaderSignature, input: VerifyInput): Promise<ReadSignature> {
  const header = input.headers[v.header]
  if (!header) return { ok: false, reason: `signature header ${v.header} missing` }
  const scope: Scope = { ...input.scope, header }
  let timestamp: string | undefined
  if (v.timestamp) {
    timestamp = await v.timestamp.value.render(undefined, scope)
    const at = parseTimestamp(timestamp, v.timestamp.format)
    if (at === undefined) return { ok: false, reason: 'timestamp missing or unreadable' }
    const skew = Math.abs((input.now ?? Date.now()) - at) / 1000
    if (skew > v.timestamp.toleranceSeconds) return { ok: false, reason: `timestamp outside the ${v.timestamp.toleranceSeconds} s window` }
  }
  const candidates = v.signature ? asStrings(await v.signature.evaluate(undefined, scope)) : defaultCandidates(header, v.prefix)
  if (!candidates.length) return { ok: false, reason: `no signature found in header ${v.header}` }
  const signed = await v.signed.render(undefined, { ...scope, timestamp })
  return { ok: true, candidates: v.encoding === 'hex' ? candidates.map((c) => c.toLowerCase()) : candidates, signed }
}

const asStrings = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value])
    .filter((c): c is string | number => typeof c === 'string' || typeof c === 'number')
    .map(String)
    .filter(Boolean)

/** Some vendors send several signatures (key rotation), separated by commas or spaces. */
function defaultCandidates(header: string, prefix: string): string[] {
  return header
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((c) => (prefix && c.startsWith(prefix) ? c.slice(prefix.length) : c))
}

const HEADER_REF = /\$headers\.(?:"([^"]+)"|`([^`]+)`|'([^']+)'|([A-Za-z0-9_-]+))/

/**
 * The header a timestamp template reads (`{{ $headers."x-ts" }}`): where the signer puts the signing time when
 * the mapping has no `headerFormat` placing it in the signature header. A timestamp read from elsewhere (the
 * body) is left as the delivery has it.
 */
function timestampHeader(template: string): string | undefined {
  const m = HEADER_REF.exec(template)
  return m ? (m[1] ?? m[2] ?? m[3] ?? m[4])!.toLowerCase() : undefined
}

/** The scope `signed` renders in, as routeWebhook builds it for a JSON delivery. */
function deliveryScope(delivery: SignableDelivery, options: SignOptions): Scope {
  let body: unknown
  try {
    body = JSON.parse(delivery.body)
  } catch {
    body = undefined
  }
  const query = Object.fromEntries(new URLSearchParams(delivery.query))
  return { ...options.scope, headers: delivery.headers, rawBody: delivery.body, body, query, method: delivery.method, path: delivery.path }
}

/** Stamps the time, signs the `signed` text with `sign`, and writes the header as the vendor would. */
export async function signHeaderSignature(
  v: CompiledHeaderSignature,
  delivery: SignableDelivery,
  options: SignOptions,
  sign: (content: string) => string,
): Promise<SignableDelivery> {
  const headers = { ...delivery.headers }
  let timestamp: string | undefined
  if (v.timestamp) {
    const inHeader = timestampHeader(v.timestamp.value.source)
    if (inHeader || v.headerFormat) timestamp = formatTimestamp(options.now, v.timestamp.format)
    if (inHeader && timestamp) headers[inHeader] = timestamp
    // A timestamp in the body stays as the fixture wrote it (fixtures.now puts the clock near it).
    if (!timestamp) timestamp = await v.timestamp.value.render(undefined, deliveryScope({ ...delivery, headers }, options))
  }
  const stamped = { ...delivery, headers }
  const signature = sign(await v.signed.render(undefined, { ...deliveryScope(stamped, options), timestamp }))
  headers[v.header] = v.headerFormat ? await v.headerFormat.render(undefined, { ...options.scope, signature, timestamp }) : v.prefix + signature
  return stamped
}
