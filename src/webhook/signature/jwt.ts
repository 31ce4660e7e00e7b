import { createHmac, createPrivateKey, createPublicKey, sign, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import type { CompiledVerify } from '../../mapping/compileMapping'
import { safeEqual } from './compare'
import { readPublicKey } from './rsa'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

type JwtVerify = Extract<CompiledVerify, { scheme: 'jwt' }>
export type Jwk = { kid?: string; kty?: string; [field: string]: unknown }

/** A vendor's key set is fetched again after this long (keys rotate; a fetch per delivery would be wasteful). */
export const JWKS_TTL_MS = 10 * 60_000
/** An unknown `kid` fetches the set again (a rotation), but at most this often, so bad tokens cannot flood the vendor. */
export const JWKS_REFETCH_MIN_MS = 30_000
/** Key sets kept per process: one or two per configuration; the bound keeps a long-lived worker's memory flat. */
export const JWKS_CACHE_LIMIT = 16
/** The tokens signed for fixtures are valid this long. */
const FIXTURE_TOKEN_SECONDS = 300

const jwksCache = new Map<string, { keys: Jwk[]; fetchedAt: number }>()

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url')
const json = (part: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined
  } catch {
    return undefined
  }
}

const HASH = { RS256: 'sha256', ES256: 'sha256', HS256: 'sha256' } as const

/**
 * A vendor's key set, cached per URL in this process: fetched again after JWKS_TTL_MS, or on `refetch` (a kid
 * it lacks) at most every JWKS_REFETCH_MIN_MS.
 */
export async function cachedKeySet(url: string, refetch: boolean, now: number, fetchJson: (url: string) => Promise<unknown>): Promise<Jwk[]> {
  const hit = jwksCache.get(url)
  if (hit && now - hit.fetchedAt < (refetch ? JWKS_REFETCH_MIN_MS : JWKS_TTL_MS)) return hit.keys
  const body = (await fetchJson(url)) as { keys?: unknown }
  const keys = Array.isArray(body?.keys) ? (body.keys as Jwk[]) : []
  jwksCache.delete(url)
  jwksCache.set(url, { keys, fetchedAt: now })
  if (jwksCache.size > JWKS_CACHE_LIMIT) jwksCache.delete(jwksCache.keys().next().value!)
  return keys
}

const keySet = (url: string, input: VerifyInput, now: number, refetch: boolean): Promise<Jwk[]> => {
  if (!input.keySet) throw new Error('no way to fetch the key set here')
  return input.keySet(url, refetch, now)
}

async function verificationKey(
  v: JwtVerify,
  alg: keyof typeof HASH,
  kid: string | undefined,
  input: VerifyInput,
  now: number,
): Promise<KeyObject | Buffer | string> {
  if (v.key) {
    const key = await v.key.render(undefined, input.scope)
    if (!key) throw new Error('no key is configured')
    if (alg === 'HS256') return key
    const pem = readPublicKey(key)
    if (!pem) throw new Error('the key is not a readable PEM public key')
    return pem
  }
  const url = await v.jwksUrl!.render(undefined, input.scope)
  let keys: Jwk[]
  try {
    keys = await keySet(url, input, now, false)
    if (!pick(keys, kid)) keys = await keySet(url, input, now, true)
  } catch (e) {
    throw new Error(`the key set at ${url} could not be fetched (${(e as Error).message})`)
  }
  const jwk = pick(keys, kid)
  if (!jwk) throw new Error(kid ? `unknown kid "${kid}": the key set has no such key` : 'the token has no kid and the key set has several keys')
  return createPublicKey({ key: jwk as never, format: 'jwk' })
}

const pick = (keys: Jwk[], kid: string | undefined) => (kid ? keys.find((k) => k.kid === kid) : keys.length === 1 ? keys[0] : undefined)

/** `scheme: jwt`: a signed JWT in a header (RS256, ES256 or HS256), its `exp`, `nbf`, `iss`, `aud` and required claims checked. */
export async function verifyJwt(v: JwtVerify, input: VerifyInput): Promise<VerifyOutcome> {
  const now = input.now ?? Date.now()
  let token = input.headers[v.header]
  if (!token) return { ok: false, reason: `JWT header ${v.header} missing` }
  if (v.prefix && token.startsWith(v.prefix)) token = token.slice(v.prefix.length)
  token = token.replace(/^Bearer\s+/i, '').trim()
  const parts = token.split('.')
  const header = parts.length === 3 ? json(parts[0]!) : undefined
  const claims = parts.length === 3 ? json(parts[1]!) : undefined
  if (!header || !claims) return { ok: false, reason: 'malformed JWT' }
  const alg = header.alg as keyof typeof HASH
  if (!v.algorithms.includes(alg)) return { ok: false, reason: `JWT algorithm ${String(header.alg)} is not one of ${v.algorithms.join(', ')}` }
  let key: KeyObject | Buffer | string
  try {
    key = await verificationKey(v, alg, typeof header.kid === 'string' ? header.kid : undefined, input, now)
  } catch (e) {
    return { ok: false, reason: `JWT key: ${(e as Error).message}` }
  }
  const data = Buffer.from(`${parts[0]}.${parts[1]}`)
  const signature = Buffer.from(parts[2]!, 'base64url')
  let valid: boolean
  try {
    valid =
      alg === 'HS256'
        ? safeEqual(
            parts[2]!,
            createHmac('sha256', key as string)
              .update(data)
              .digest('base64url'),
          )
        : cryptoVerify(HASH[alg], data, alg === 'ES256' ? { key: key as KeyObject, dsaEncoding: 'ieee-p1363' } : (key as KeyObject), signature)
  } catch {
    valid = false
  }
  if (!valid) return { ok: false, reason: 'JWT signature does not match' }
  return checkClaims(v, claims, input, now)
}

async function checkClaims(v: JwtVerify, claims: Record<string, unknown>, input: VerifyInput, now: number): Promise<VerifyOutcome> {
  const skew = v.clockSkewSeconds * 1000
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'JWT has no exp claim' }
  if (claims.exp * 1000 + skew < now) return { ok: false, reason: `JWT expired at ${new Date(claims.exp * 1000).toISOString()}` }
  if (typeof claims.nbf === 'number' && claims.nbf * 1000 - skew > now) return { ok: false, reason: 'JWT not valid yet (nbf)' }
  // A token issued in the future was not issued by a vendor whose clock is within the skew.
  if (typeof claims.iat === 'number' && claims.iat * 1000 - skew > now) return { ok: false, reason: 'JWT issued in the future (iat)' }
  if (v.issuer) {
    const iss = await v.issuer.render(undefined, input.scope)
    // The expected value is not named: it is rendered from the settings and registration, which may be secret.
    if (claims.iss !== iss) return { ok: false, reason: `JWT iss is ${JSON.stringify(claims.iss)}, not the configured issuer` }
  }
  if (v.audience) {
    const aud = await v.audience.render(undefined, input.scope)
    const given = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (!given.includes(aud)) return { ok: false, reason: `JWT aud is ${JSON.stringify(claims.aud)}, not the configured audience` }
  }
  const missing = v.requiredClaims.filter((c) => claims[c] === undefined)
  if (missing.length) return { ok: false, reason: `JWT lacks the claim(s) ${missing.join(', ')}` }
  return { ok: true }
}

/** The claims a vendor's token carries at `now`: iat, exp, and the issuer, audience and required claims the mapping checks. */
async function vendorClaims(v: JwtVerify, options: SignOptions): Promise<Record<string, unknown>> {
  const claims: Record<string, unknown> = { iat: Math.floor(options.now / 1000), exp: Math.floor(options.now / 1000) + FIXTURE_TOKEN_SECONDS }
  if (v.issuer) claims.iss = await v.issuer.render(undefined, options.scope)
  if (v.audience) claims.aud = await v.audience.render(undefined, options.scope)
  for (const c of v.requiredClaims) if (claims[c] === undefined) claims[c] = 'fixture'
  return claims
}

/**
 * A signed compact JWT: HS256 with `secret`, RS256/ES256 with `privateKey`, and `alg: none` with an empty
 * signature (which verifyJwt refuses: only the attack tests make one).
 */
export function encodeJwt(header: Record<string, unknown>, claims: Record<string, unknown>, key: { secret?: string; privateKey?: string }): string {
  const alg = header.alg
  const data = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
  if (alg === 'none') return `${data}.`
  if (alg === 'HS256')
    return `${data}.${createHmac('sha256', key.secret ?? '')
      .update(data)
      .digest('base64url')}`
  if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`JWT algorithm ${String(alg)} is not supported`)
  if (!key.privateKey) throw new Error(`signing a ${alg} JWT needs fixtures.keys.privateKey (a test key)`)
  const pk = createPrivateKey(key.privateKey)
  return `${data}.${sign('sha256', Buffer.from(data), alg === 'ES256' ? { key: pk, dsaEncoding: 'ieee-p1363' } : pk).toString('base64url')}`
}

/** A JWT as the vendor would send it: HS256 with the configured secret, RS256/ES256 with `fixtures.keys.privateKey`. */
export async function signJwt(v: JwtVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  const alg = v.algorithms[0]!
  const header = { alg, typ: 'JWT', ...(options.keys?.kid ? { kid: options.keys.kid } : {}) }
  const secret = alg === 'HS256' && v.key ? await v.key.render(undefined, options.scope) : undefined
  const token = encodeJwt(header, await vendorClaims(v, options), { secret, privateKey: options.keys?.privateKey })
  return { ...delivery, headers: { ...delivery.headers, [v.header]: `${v.prefix}${token}` } }
}

/** The public key set of the fixture's private key, as a vendor's JWKS endpoint would serve it. */
export function fixtureKeySet(keys: { privateKey?: string; kid?: string } | undefined): { keys: Jwk[] } {
  if (!keys?.privateKey) return { keys: [] }
  const jwk = createPublicKey(createPrivateKey(keys.privateKey)).export({ format: 'jwk' }) as Jwk
  return { keys: [{ ...jwk, ...(keys.kid ? { kid: keys.kid } : {}) }] }
}
