import { constants, createPrivateKey, createPublicKey, sign, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import type { CompiledVerify } from '../../mapping/compileMapping'
import { readHeaderSignature, signHeaderSignature } from './headerSignature'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

type RsaVerify = Extract<CompiledVerify, { scheme: 'rsa' }>

const paddingOf = (v: RsaVerify) =>
  v.padding === 'pss'
    ? // Vendors sign with the digest's length as salt; AUTO verifies any salt length.
      { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }
    : { padding: constants.RSA_PKCS1_PADDING }

/** A PEM key from a setting: pasted keys often lose their line breaks or carry `\n` escapes. */
export function readPublicKey(pem: string): KeyObject | undefined {
  try {
    return createPublicKey(pem.replace(/\\n/g, '\n'))
  } catch {
    return undefined
  }
}

/** `scheme: rsa`: an RSA signature (PKCS#1 v1.5 or PSS) of the `signed` template, checked with a PEM public key. */
export async function verifyRsa(v: RsaVerify, input: VerifyInput): Promise<VerifyOutcome> {
  const pem = await v.publicKey.render(undefined, input.scope)
  if (!pem) return { ok: false, reason: 'no public key is configured' }
  const key = readPublicKey(pem)
  if (!key) return { ok: false, reason: 'the public key is not a readable PEM key; paste it with its BEGIN/END lines' }
  const read = await readHeaderSignature(v, input)
  if (!read.ok) return read
  const data = Buffer.from(read.signed, 'utf8')
  const ok = read.candidates.some((c) => cryptoVerify(v.algorithm, data, { key, ...paddingOf(v) }, Buffer.from(c, v.encoding)))
  return ok ? { ok: true } : { ok: false, reason: 'signature does not match' }
}

/** Signs with the fixture's own private key (`fixtures.keys.privateKey`). */
export async function signRsa(v: RsaVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  const pem = options.keys?.privateKey
  if (!pem) throw new Error('signing an rsa delivery needs fixtures.keys.privateKey (a test key whose public half the fixture settings hold)')
  const key = createPrivateKey(pem)
  const padding = v.padding === 'pss' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : paddingOf(v)
  return signHeaderSignature(v, delivery, options, (content) => sign(v.algorithm, Buffer.from(content, 'utf8'), { key, ...padding }).toString(v.encoding))
}
