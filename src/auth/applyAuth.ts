import type { Scope } from '../expr/compileExpression'
import type { CompiledAuth } from '../mapping/compileMapping'
import { tokenFor, type TokenContext } from './tokenAuth'

/** What auth adds to a request; `tokenKey` when it carries a cached token (a 401 drops it and retries once). */
export type Credentials = { headers: Record<string, string>; query: [string, string][]; tokenKey?: string }

/** What applying auth may need besides the templates' context: where obtained tokens are kept. */
export type AuthContext = TokenContext

const NO_CREDENTIALS: Credentials = { headers: {}, query: [] }

/**
 * The credentials a request carries, from the step's `auth` or else `http.auth`. Runs between rendering a
 * step's request and sending it (src/operations/runSteps.ts), so every vendor call, of operations and of webhook
 * lookups, is authorised the same way. Token auth obtains its token through the context (cached in its store).
 */
export async function applyAuth(auth: CompiledAuth | undefined, ax: AuthContext, context: unknown, scope: Scope): Promise<Credentials> {
  if (!auth) return NO_CREDENTIALS
  switch (auth.type) {
    case 'none':
      return NO_CREDENTIALS
    case 'basic': {
      const user = await auth.username.render(context, scope)
      const pass = await auth.password.render(context, scope)
      return { headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` }, query: [] }
    }
    case 'bearer':
      return { headers: { authorization: `Bearer ${await auth.token.render(context, scope)}` }, query: [] }
    case 'apiKey': {
      const value = await auth.value.render(context, scope)
      return auth.in === 'header' ? { headers: { [auth.name.toLowerCase()]: value }, query: [] } : { headers: {}, query: [[auth.name, value]] }
    }
    case 'token': {
      const token = await tokenFor(auth, ax, context, scope)
      return { headers: { [auth.header]: `${auth.prefix}${token.value}` }, query: [], tokenKey: token.key }
    }
  }
}
