import { createHmac } from 'node:crypto'
import type { CompiledVerify } from '../../mapping/compileMapping'
import { safeEqual } from './compare'
import { readHeaderSignature, signHeaderSignature } from './headerSignature'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

type HmacVerify = Extract<CompiledVerify, { scheme: 'hmac' }>

export function hmacDigest(algorithm: HmacVerify['algorithm'], encoding: HmacVerify['encoding'], secret: string | Buffer, content: string): string {
  return createHmac(algorithm, secret).update(content, 'utf8').digest(encoding)
}

/** `scheme: hmac`: an HMAC of the `signed` template in a header, optionally with a timestamp in a replay window. */
export async function verifyHmac(verify: HmacVerify, input: VerifyInput): Promise<VerifyOutcome> {
  const secret = await verify.secret.render(undefined, input.scope)
  // White space only is no secret either: a key anyone can guess.
  if (!secret.trim()) return { ok: false, reason: 'no webhook secret is configured' }
  const read = await readHeaderSignature(verify, input)
  if (!read.ok) return read
  const expected = hmacDigest(verify.algorithm, verify.encoding, secret, read.signed)
  // Every candidate is compared (no early exit), each in constant time.
  const matches = read.candidates.map((c) => safeEqual(c, expected))
  return matches.includes(true) ? { ok: true } : { ok: false, reason: 'signature does not match' }
}

export async function signHmac(verify: HmacVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  const secret = await verify.secret.render(undefined, options.scope)
  return signHeaderSignature(verify, delivery, options, (content) => hmacDigest(verify.algorithm, verify.encoding, secret, content))
}
