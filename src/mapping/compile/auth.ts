import type { CompiledExpression } from '../../expr/compileExpression'
import type { CompiledTemplate } from '../../expr/compileTemplate'
import type { PathSegment } from '../problems'
import type * as M from '../types'
import { allFieldsRead, type CompileContext, type StepIds } from './context'
import { compileSteps, type CompiledStep } from './steps'

/**
 * Token auth, whatever the flow: steps that obtain the token (an OAuth2 flow compiles to one POST to its token
 * URL), expressions reading the token, its lifetime and a rotated refresh token from `$steps`, and how a request
 * carries the token. src/auth/tokenAuth.ts runs it and caches the token.
 */
export type CompiledTokenAuth = {
  type: 'token'
  flow: 'oauth2ClientCredentials' | 'oauth2RefreshToken' | 'tokenRequest'
  /** Where the auth is declared (`http.auth`): names it in errors and keys its tokens. */
  label: string
  steps: CompiledStep[]
  token: CompiledExpression
  expiresIn?: CompiledExpression
  /** Refresh token flow: the pasted token, and what the vendor returned in its place (rotation). */
  refresh?: { pasted: CompiledTemplate; rotated: CompiledExpression; settingHint: string }
  key?: CompiledTemplate
  header: string
  prefix: string
}

/** `http.auth` or a request's `auth`, templates compiled; src/auth applies it to a request. */
export type CompiledAuth =
  | { type: 'basic'; username: CompiledTemplate; password: CompiledTemplate }
  | { type: 'bearer'; token: CompiledTemplate }
  | { type: 'apiKey'; in: 'header' | 'query'; name: string; value: CompiledTemplate }
  | { type: 'none' }
  | CompiledTokenAuth

/** The id of the synthetic step an OAuth2 flow compiles to: its expressions read `$steps.token`. */
const OAUTH_STEP = 'token'

/** An expression slot filled by the compiler (not written by the author). */
const fixed = (source: string, evaluate: CompiledExpression['evaluate']): CompiledExpression => ({ source, evaluate })

export function compileAuth(auth: M.Auth | undefined, cx: CompileContext, path: PathSegment[], stepIds?: StepIds): CompiledAuth | undefined {
  if (!auth) return undefined
  switch (auth.type) {
    case 'basic': {
      const { type, username, password, ...rest } = auth
      allFieldsRead(rest)
      return { type, username: cx.tmpl(username, [...path, 'username'], stepIds), password: cx.tmpl(password, [...path, 'password'], stepIds) }
    }
    case 'bearer': {
      const { type, token, ...rest } = auth
      allFieldsRead(rest)
      return { type, token: cx.tmpl(token, [...path, 'token'], stepIds) }
    }
    case 'apiKey': {
      const { type, in: where, name, value, ...rest } = auth
      allFieldsRead(rest)
      return { type, in: where, name, value: cx.tmpl(value, [...path, 'value'], stepIds) }
    }
    case 'none':
      return { type: 'none' }
    case 'oauth2ClientCredentials': {
      const { type, tokenUrl, clientId, clientSecret, scope, header, prefix, ...rest } = auth
      allFieldsRead(rest)
      return compileOAuth2({ type, tokenUrl, clientId, clientSecret, scope, header, prefix }, undefined, cx, path)
    }
    case 'oauth2RefreshToken': {
      const { type, tokenUrl, clientId, clientSecret, refreshToken, scope, header, prefix, ...rest } = auth
      allFieldsRead(rest)
      return compileOAuth2({ type, tokenUrl, clientId, clientSecret, scope, header, prefix }, refreshToken, cx, path)
    }
    case 'tokenRequest':
      return compileTokenRequest(auth, cx, path)
  }
}

const labelOf = (path: PathSegment[]) =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[')

type OAuth2Common = Omit<M.OAuth2RefreshTokenAuth, 'type' | 'refreshToken'> & { type: M.OAuth2ClientCredentialsAuth['type'] | M.OAuth2RefreshTokenAuth['type'] }

function compileOAuth2(auth: OAuth2Common, refreshSource: string | undefined, cx: CompileContext, path: PathSegment[]): CompiledTokenAuth {
  const { type, tokenUrl, clientId, clientSecret, scope, header, prefix } = auth
  const id = cx.tmpl(clientId, [...path, 'clientId'])
  const secret = cx.tmpl(clientSecret, [...path, 'clientSecret'])
  const scopes = scope !== undefined ? cx.tmpl(scope, [...path, 'scope']) : undefined
  const pasted = refreshSource !== undefined ? cx.tmpl(refreshSource, [...path, 'refreshToken']) : undefined
  // RFC 6749 4.4 / 6: a form POST with the grant; client id and secret in the body, which every vendor accepts.
  const form = fixed('(OAuth2 token request)', async (context, s) => {
    const fields: Record<string, string> =
      type === 'oauth2RefreshToken' ? { grant_type: 'refresh_token', refresh_token: String(s.refreshToken ?? '') } : { grant_type: 'client_credentials' }
    fields.client_id = await id.render(context, s)
    fields.client_secret = await secret.render(context, s)
    if (scopes) fields.scope = await scopes.render(context, s)
    return fields
  })
  const step: CompiledStep = {
    label: `${labelOf(path)} token request`,
    id: OAUTH_STEP,
    secretResponse: true,
    request: {
      method: 'POST',
      url: cx.tmpl(tokenUrl, [...path, 'tokenUrl']),
      query: [],
      headers: [],
      auth: { type: 'none' },
      form,
      idempotent: false,
      okStatus: [],
    },
  }
  const field = (name: string) =>
    fixed(`$steps.token.body.${name}`, async (_c, s) => (s.steps as Record<string, { body?: Record<string, unknown> }>)?.token?.body?.[name])
  return {
    type: 'token',
    flow: type,
    label: labelOf(path),
    steps: [step],
    token: field('access_token'),
    expiresIn: field('expires_in'),
    refresh: pasted ? { pasted, rotated: field('refresh_token'), settingHint: settingNamed(refreshSource!) } : undefined,
    header: (header ?? 'authorization').toLowerCase(),
    prefix: prefix ?? 'Bearer ',
  }
}

/** The setting a template reads (`{{ $settings.zohoRefreshToken }}` → zohoRefreshToken), to name it in messages. */
function settingNamed(template: string): string {
  const m = /\$settings\.([A-Za-z_][A-Za-z0-9_]*)/.exec(template)
  return m ? `the setting ${m[1]}` : 'the settings'
}

function compileTokenRequest(auth: M.TokenRequestAuth, cx: CompileContext, path: PathSegment[]): CompiledTokenAuth {
  const { type, steps, token, expiresIn, key, header, prefix, ...rest } = auth
  allFieldsRead(rest)
  const label = labelOf(path)
  const compiled = compileSteps(steps, cx, [...path, 'steps'], label)
  compiled.steps.forEach((s, i) => {
    s.secretResponse = true
    // The token's own requests must not need the token: without an auth of their own they carry none.
    if (!s.request.auth) s.request.auth = { type: 'none' }
    else if (s.request.auth.type === 'token')
      cx.problem('UH-E022', [...path, 'steps', i, 'request', 'auth'], 'a token request cannot itself use token auth; give it basic, apiKey, bearer or none')
  })
  return {
    type: 'token',
    flow: type,
    label,
    steps: compiled.steps,
    token: cx.expr(String(token), [...path, 'token'], compiled.ids),
    expiresIn: cx.optionalExpr(expiresIn, [...path, 'expiresIn'], compiled.ids),
    key: key !== undefined ? cx.tmpl(key, [...path, 'key']) : undefined,
    header: (header ?? 'authorization').toLowerCase(),
    prefix: prefix ?? 'Bearer ',
  }
}
