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
  /** The keys of a JWKS URL (`jwt` with `jwksUrl`); `refetch` when a kid is unknown (the vendor rotated keys). */
  keySet?: (url: string, refetch: boolean, now: number) => Promise<{ kid?: string; [field: string]: unknown }[]>
}

/** A delivery to sign as the vendor would (fixtures, the bench); header names lower case. */
export type SignableDelivery = { method: string; path: string; query: string; headers: Record<string, string>; body: string }

export type SignOptions = {
  /** `$settings` and `$registration`: where the secret comes from. */
  scope: Scope
  /** The signing time (epoch ms) for schemes with a timestamp. */
  now: number
  /** The fixture's own test keys (`fixtures.keys`): what rsa and asymmetric jwt deliveries are signed with. */
  keys?: { privateKey?: string; kid?: string }
}
