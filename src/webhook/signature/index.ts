// One module per signature scheme, each with its verifier and its signer (the signer is the verifier's inverse:
// fixtures and the bench sign with it, so a mapping's signed fixtures test what its verifier accepts).
// A new scheme adds a module and a case to both switches below.
import type { CompiledVerify } from '../../mapping/compileMapping'
import type { CompiledTemplate } from '../../expr/compileTemplate'
import { signHmac, verifyHmac } from './hmac'
import { signJwt, verifyJwt } from './jwt'
import { signRsa, verifyRsa } from './rsa'
import { signSharedSecret, verifySharedSecret } from './sharedSecret'
import { signStandardWebhooks, verifyStandardWebhooks } from './standardWebhooks'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

export { safeEqual } from './compare'
export { hmacDigest } from './hmac'
export { cachedKeySet, encodeJwt, fixtureKeySet, JWKS_CACHE_LIMIT } from './jwt'
export { formatTimestamp, parseTimestamp, type TimestampFormat } from './timestamp'
export type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

/** Checks a delivery against the mapping's `verify` block. Reasons are for logs; never include secrets. */
export async function verifySignature(verify: CompiledVerify, input: VerifyInput): Promise<VerifyOutcome> {
  switch (verify.scheme) {
    case 'none':
      return { ok: true }
    case 'hmac':
      return verifyHmac(verify, input)
    case 'rsa':
      return verifyRsa(verify, input)
    case 'jwt':
      return verifyJwt(verify, input)
    case 'standardWebhooks':
      return verifyStandardWebhooks(verify, input)
    case 'secret':
      return verifySharedSecret(verify, input)
  }
}

/**
 * Whether checking the signature needs the parsed body (`$body` read by the signed text, the secret or the
 * timestamp, or a shared secret carried in the body). When it does not, the router verifies before parsing:
 * an unsigned request costs no parse.
 */
export function verifyReadsBody(verify: CompiledVerify): boolean {
  const readsBody = (source: string) => /\$body\b/.test(source)
  switch (verify.scheme) {
    case 'none':
      return false
    case 'secret':
      return verify.in === 'body' || readsBody(verify.secret.source)
    case 'hmac':
    case 'rsa':
      return [verify.signed.source, verifyKeyTemplate(verify)?.source ?? '', verify.timestamp?.value.source ?? '', verify.signature?.source ?? ''].some(
        readsBody,
      )
    case 'standardWebhooks':
      return readsBody(verify.secret.source)
    case 'jwt':
      // Claims may be compared with the body: parse first.
      return true
  }
}

/** The delivery as the vendor would send it under the mapping's `verify` block (a new object; the input is kept). */
export async function signDelivery(verify: CompiledVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  switch (verify.scheme) {
    case 'none':
      return delivery
    case 'hmac':
      return signHmac(verify, delivery, options)
    case 'rsa':
      return signRsa(verify, delivery, options)
    case 'jwt':
      return signJwt(verify, delivery, options)
    case 'standardWebhooks':
      return signStandardWebhooks(verify, delivery, options)
    case 'secret':
      return signSharedSecret(verify, delivery, options)
  }
}

/** The template holding what a verifier cannot work without (secret or key); none for a key set fetched by URL. */
export function verifyKeyTemplate(verify: CompiledVerify): CompiledTemplate | undefined {
  switch (verify.scheme) {
    case 'none':
      return undefined
    case 'hmac':
    case 'standardWebhooks':
    case 'secret':
      return verify.secret
    case 'rsa':
      return verify.publicKey
    case 'jwt':
      return verify.key
  }
}
