import { createHash } from 'node:crypto'
import type { Scope } from '../expr/compileExpression'
import type { Redactor } from '../http/redact'
import { VendorRequestError } from '../http/sendRequest'
import type { CompiledStep } from '../mapping/compile/steps'
import type { CompiledTokenAuth } from '../mapping/compile/auth'
import type { TokenStore } from './tokenStore'

/** What obtaining a token needs besides the auth block: where tokens are kept and how the token steps are sent. */
export type TokenContext = {
  tokens: TokenStore
  /** Every token and refresh token obtained is added, so no log line or error shows it. */
  redactor: Redactor
  /** Prefixes token keys: a changed configuration (other client id, other account) does not reuse old tokens. */
  namespace: string
  now: () => number
  /** Runs the token steps like any steps (host allowlist, fixtures' stub, dry-run log), returns `$steps`. */
  runTokenSteps(steps: CompiledStep[], scope: Scope): Promise<Record<string, unknown>>
}

/**
 * Tokens are dropped this long before the vendor says they expire (a request signed just before expiry must not
 * arrive after it); at most half the lifetime, for vendors that give very short-lived tokens.
 */
export const TOKEN_EXPIRY_MARGIN_SECONDS = 60

/** OAuth2 errors (RFC 6749 5.2) that mean the refresh token is revoked or expired; Zoho says `invalid_code`. */
const REVOKED_REFRESH_ERRORS = ['invalid_grant', 'invalid_code', 'invalid_token']

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16)

// Concurrent requests of one process that need the same missing token wait for one token request.
const inFlight = new WeakMap<TokenStore, Map<string, Promise<string>>>()

/** The token for a request (cached, or obtained now) and the key it is kept under (a 401 drops that key). */
export async function tokenFor(auth: CompiledTokenAuth, tx: TokenContext, context: unknown, scope: Scope): Promise<{ value: string; key: string }> {
  const userKey = auth.key ? await auth.key.render(context, scope) : ''
  const key = `${tx.namespace}:${auth.label}${userKey ? `:${sha(userKey)}` : ''}`
  const cached = await tx.tokens.get(key)
  if (cached && (cached.expiresAt === undefined || cached.expiresAt > tx.now())) {
    tx.redactor.remember(cached.value)
    return { value: cached.value, key }
  }
  let pending = inFlight.get(tx.tokens)
  if (!pending) {
    pending = new Map()
    inFlight.set(tx.tokens, pending)
  }
  let minting = pending.get(key)
  if (!minting) {
    minting = mint(auth, tx, key, context, scope).finally(() => pending!.delete(key))
    pending.set(key, minting)
  }
  return { value: await minting, key }
}

async function mint(auth: CompiledTokenAuth, tx: TokenContext, key: string, context: unknown, scope: Scope): Promise<string> {
  let stepScope = scope
  let refresh: { key: string; current: string } | undefined
  if (auth.refresh) {
    const pasted = await auth.refresh.pasted.render(context, scope)
    if (!pasted) throw new VendorRequestError('UH-E038', `${auth.label}: no refresh token is configured: paste one in ${auth.refresh.settingHint}`)
    tx.redactor.remember(pasted)
    // Keyed by the pasted token: pasting a new one starts over from it instead of a rotated old one.
    const refreshKey = `${tx.namespace}:${auth.label}:refresh:${sha(pasted)}`
    const rotated = await tx.tokens.get(refreshKey)
    refresh = { key: refreshKey, current: rotated?.value ?? pasted }
    tx.redactor.remember(refresh.current)
    stepScope = { ...scope, refreshToken: refresh.current }
  }
  let steps: Record<string, unknown>
  try {
    steps = await tx.runTokenSteps(auth.steps, stepScope)
  } catch (e) {
    if (e instanceof VendorRequestError) throw tokenFailure(auth, tx, e.message, e.status, e.responseBody)
    throw e
  }
  const resultScope = { ...stepScope, steps }
  const token = await auth.token.evaluate(context, resultScope)
  const lastBody = (Object.values(steps).at(-1) as { body?: unknown } | undefined)?.body
  if (typeof token !== 'string' && typeof token !== 'number') {
    // Some token endpoints (Zoho) answer 200 with an error object instead of a token.
    throw tokenFailure(
      auth,
      tx,
      `${auth.label}: the token request gave no token (${auth.token.source} is ${token === undefined ? 'undefined' : 'not a string'})`,
      undefined,
      lastBody,
    )
  }
  const value = String(token)
  tx.redactor.remember(value)
  const lifetime = Number(auth.expiresIn ? await auth.expiresIn.evaluate(context, resultScope) : NaN)
  const expiresAt = Number.isFinite(lifetime) && lifetime > 0 ? tx.now() + (lifetime - Math.min(TOKEN_EXPIRY_MARGIN_SECONDS, lifetime / 2)) * 1000 : undefined
  if (refresh) {
    const rotated = await auth.refresh!.rotated.evaluate(context, resultScope)
    if (typeof rotated === 'string' && rotated && rotated !== refresh.current) {
      tx.redactor.remember(rotated)
      await tx.tokens.set(refresh.key, { value: rotated })
    }
  }
  // A lifetime of 0 (or less) means the vendor wants the token used once: it is not kept.
  if (!(Number.isFinite(lifetime) && lifetime <= 0)) await tx.tokens.set(key, { value, expiresAt })
  return value
}

/** The OAuth2 error of a token endpoint's answer (`error` and `error_description`), when it has one. */
function oauthError(body: unknown): { code?: string; description?: string } {
  if (!body || typeof body !== 'object') return {}
  const b = body as Record<string, unknown>
  return { code: typeof b.error === 'string' ? b.error : undefined, description: typeof b.error_description === 'string' ? b.error_description : undefined }
}

function tokenFailure(auth: CompiledTokenAuth, tx: TokenContext, message: string, status: number | undefined, body: unknown): VendorRequestError {
  const { code, description } = oauthError(body)
  const vendor = [code, description].filter((v) => v && !message.includes(v)).join(': ')
  const detail = tx.redactor.text(`could not obtain a token: ${message}${vendor ? ` (${vendor})` : ''}`)
  if (auth.refresh && code && REVOKED_REFRESH_ERRORS.includes(code)) {
    return new VendorRequestError(
      'UH-E039',
      `${detail}; the refresh token was revoked or has expired: paste a new refresh token in ${auth.refresh.settingHint}`,
      status,
      body,
    )
  }
  return new VendorRequestError('UH-E037', detail, status, body)
}
