import type { Scope } from '../expr/compileExpression'
import type { CompiledAuth } from '../mapping/compileMapping'
import type { TokenStore } from './tokenStore'

/** What auth adds to a request. */
export type Credentials = { headers: Record<string, string>; query: [string, string][] }

/** What applying auth may need besides the templates' context: where obtained tokens are kept. */
export type AuthContext = { tokens: TokenStore }

const NO_CREDENTIALS: Credentials = { headers: {}, query: [] }

/**
 * The credentials a request carries, from the step's `auth` or else `http.auth`. Runs between rendering a
 * step's request and sending it (src/operations/runSteps.ts), so every vendor call, of operations and of webhook
 * lookups, is authorised the same way. The token store is unused until token auth (issue 9, item 2) caches
 * tokens there; callers already pass it.
 */
export async function applyAuth(auth: CompiledAuth | undefined, _store: AuthContext, context: unknown, scope: Scope): Promise<Credentials> {
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
  }
}
