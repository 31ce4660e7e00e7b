// One module per signature scheme, each with its verifier and its signer (the signer is the verifier's inverse:
// fixtures and the bench sign with it, so a mapping's signed fixtures test what its verifier accepts).
// A new scheme adds a module and a case to both switches below.
import type { CompiledVerify } from '../../mapping/compileMapping'
import { signHmac, verifyHmac } from './hmac'
import { signSharedSecret, verifySharedSecret } from './sharedSecret'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

export { safeEqual } from './compare'
export { hmacDigest } from './hmac'
export { formatTimestamp, parseTimestamp, type TimestampFormat } from './timestamp'
export type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

/** Checks a delivery against the mapping's `verify` block. Reasons are for logs; never include secrets. */
export async function verifySignature(verify: CompiledVerify, input: VerifyInput): Promise<VerifyOutcome> {
  switch (verify.scheme) {
    case 'none':
      return { ok: true }
    case 'hmac':
      return verifyHmac(verify, input)
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
      return [verify.signed.source, verify.secret.source, verify.timestamp?.value.source ?? ''].some(readsBody)
  }
}

/** The delivery as the vendor would send it under the mapping's `verify` block (a new object; the input is kept). */
export async function signDelivery(verify: CompiledVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  switch (verify.scheme) {
    case 'none':
      return delivery
    case 'hmac':
      return signHmac(verify, delivery, options)
    case 'secret':
      return signSharedSecret(verify, delivery, options)
  }
}
