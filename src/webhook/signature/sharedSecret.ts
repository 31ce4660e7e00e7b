import type { CompiledVerify } from '../../mapping/compileMapping'
import { safeEqual } from './compare'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

type SecretVerify = Extract<CompiledVerify, { scheme: 'secret' }>

/** The user name a signer puts before the secret for `in: basic` (the verifier reads only the password). */
const BASIC_USER = 'webhook'

/** `scheme: secret`: the delivery carries the shared secret itself (a header, the query, basic auth or the body). */
export async function verifySharedSecret(verify: SecretVerify, input: VerifyInput): Promise<VerifyOutcome> {
  const secret = await verify.secret.render(undefined, input.scope)
  // White space only is no secret either: a key anyone can guess.
  if (!secret.trim()) return { ok: false, reason: 'no webhook secret is configured' }
  const given = await givenSecret(verify, input)
  if (!given) return { ok: false, reason: 'shared secret missing' }
  return safeEqual(given, secret) ? { ok: true } : { ok: false, reason: 'shared secret does not match' }
}

async function givenSecret(verify: SecretVerify, input: VerifyInput): Promise<string | undefined> {
  switch (verify.in) {
    case 'header':
      return input.headers[verify.name]
    case 'query':
      return input.query[verify.name]
    case 'basic': {
      const m = /^Basic\s+(.+)$/i.exec(input.headers.authorization ?? '')
      return m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':').slice(1).join(':') : undefined
    }
    case 'body': {
      const v = verify.nameExpr ? await verify.nameExpr.evaluate(input.body, input.scope) : undefined
      return typeof v === 'string' ? v : undefined
    }
  }
}

/** Puts the secret where the verifier reads it. For `in: body` the fixture's body carries it as written. */
export async function signSharedSecret(verify: SecretVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  const secret = await verify.secret.render(undefined, options.scope)
  switch (verify.in) {
    case 'header':
      return { ...delivery, headers: { ...delivery.headers, [verify.name]: secret } }
    case 'query': {
      const q = delivery.query
      return { ...delivery, query: `${q ? `${q}&` : ''}${encodeURIComponent(verify.name)}=${encodeURIComponent(secret)}` }
    }
    case 'basic':
      return { ...delivery, headers: { ...delivery.headers, authorization: `Basic ${Buffer.from(`${BASIC_USER}:${secret}`).toString('base64')}` } }
    case 'body':
      return delivery
  }
}
