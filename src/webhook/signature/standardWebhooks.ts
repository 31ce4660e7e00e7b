import type { CompiledVerify } from '../../mapping/compileMapping'
import { safeEqual } from './compare'
import { hmacDigest } from './hmac'
import { formatTimestamp, parseTimestamp } from './timestamp'
import type { SignableDelivery, SignOptions, VerifyInput, VerifyOutcome } from './types'

type StandardWebhooksVerify = Extract<CompiledVerify, { scheme: 'standardWebhooks' }>

// https://www.standardwebhooks.com: `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
// (space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), keyed by the base64 after `whsec_`.
const SECRET_PREFIX = 'whsec_'

const keyOf = (secret: string) => Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64')
const signedText = (id: string, timestamp: string, body: string) => `${id}.${timestamp}.${body}`

export async function verifyStandardWebhooks(v: StandardWebhooksVerify, input: VerifyInput): Promise<VerifyOutcome> {
  const secret = await v.secret.render(undefined, input.scope)
  if (!secret.trim()) return { ok: false, reason: 'no webhook secret is configured' }
  const id = input.headers['webhook-id']
  const timestamp = input.headers['webhook-timestamp']
  const header = input.headers['webhook-signature']
  if (!id || !timestamp || !header) return { ok: false, reason: 'webhook-id, webhook-timestamp or webhook-signature header missing' }
  const at = parseTimestamp(timestamp, 'unix')
  if (at === undefined) return { ok: false, reason: 'timestamp missing or unreadable' }
  if (Math.abs((input.now ?? Date.now()) - at) / 1000 > v.toleranceSeconds) return { ok: false, reason: `timestamp outside the ${v.toleranceSeconds} s window` }
  const expected = hmacDigest('sha256', 'base64', keyOf(secret), signedText(id, timestamp, String(input.scope.rawBody ?? '')))
  const candidates = header
    .split(' ')
    .filter((c) => c.startsWith('v1,'))
    .map((c) => c.slice(3))
  const matches = candidates.map((c) => safeEqual(c, expected))
  return matches.includes(true) ? { ok: true } : { ok: false, reason: 'signature does not match' }
}

export async function signStandardWebhooks(v: StandardWebhooksVerify, delivery: SignableDelivery, options: SignOptions): Promise<SignableDelivery> {
  const secret = await v.secret.render(undefined, options.scope)
  const id = delivery.headers['webhook-id'] ?? `msg_fixture_${options.now}`
  const timestamp = formatTimestamp(options.now, 'unix')
  const signature = hmacDigest('sha256', 'base64', keyOf(secret), signedText(id, timestamp, delivery.body))
  return { ...delivery, headers: { ...delivery.headers, 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` } }
}
