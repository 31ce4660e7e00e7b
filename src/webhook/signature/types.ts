import type { Scope } from '../../expr/compileExpression'

export type VerifyOutcome = { ok: true } | { ok: false; reason: string }

/** A received delivery, as the verifier reads it. */
export type VerifyInput = {
  headers: Record<string, string>
  query: Record<string, string>
  /** The parsed body (only for `scheme: secret, in: body`). */
  body?: unknown
  /** What the mapping's templates see: `$settings`, `$registration`, and the delivery (`$headers`, `$rawBody`, ...). */
  scope: Scope
  now?: number
}

/** A delivery to sign as the vendor would (fixtures, the bench); header names lower case. */
export type SignableDelivery = { method: string; path: string; query: string; headers: Record<string, string>; body: string }

export type SignOptions = {
  /** `$settings` and `$registration`: where the secret comes from. */
  scope: Scope
  /** The signing time (epoch ms) for schemes with a timestamp. */
  now: number
}
