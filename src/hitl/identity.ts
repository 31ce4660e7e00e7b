import { createHash } from 'node:crypto'
import type { Engine } from '../engine/createEngine'

/**
 * The address the HITL plugin makes up when the bot has no e-mail for the user:
 * `<userId>@no-reply.<botId>.botpress.com` (underscores of the bot id become dashes). Nobody reads it.
 */
const PLACEHOLDER_EMAIL = /^[^@\s]+@no-reply\.[a-z0-9-]+\.botpress\.com$/i

export const isPlaceholderEmail = (email: string | undefined): boolean => !!email && PLACEHOLDER_EMAIL.test(email)

/** The e-mail the helpdesk may see: the plugin's placeholder only when the mapping says `placeholderEmail: keep`. */
export function helpdeskEmail(engine: Engine, email: string | undefined): string | undefined {
  if (!email) return undefined
  if (isPlaceholderEmail(email) && engine.mapping.operations.createUser.placeholderEmail !== 'keep') return undefined
  return email
}

/**
 * The helpdesk identity a Botpress user's `id` tag belongs to, kept in its `helpdesk` tag: a fingerprint of
 * the mapping's vendor and the account it talks to (the rendered base URL). Another helpdesk, or another
 * account of the same one, gives another fingerprint, so startHitl knows the link is stale. Settings such as
 * tokens are left out: rotating a token does not change who the user is.
 */
export async function helpdeskFingerprint(engine: Engine): Promise<string> {
  const { vendor, baseUrl } = await engine.helpdeskAccount()
  return createHash('sha256').update(`${vendor}\n${baseUrl}`).digest('hex').slice(0, 16)
}
