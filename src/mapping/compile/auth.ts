import type { CompiledTemplate } from '../../expr/compileTemplate'
import type { PathSegment } from '../problems'
import type * as M from '../types'
import { allFieldsRead, type CompileContext, type StepIds } from './context'

/** `http.auth` or a request's `auth`, templates compiled; src/auth applies it to a request. */
export type CompiledAuth =
  | { type: 'basic'; username: CompiledTemplate; password: CompiledTemplate }
  | { type: 'bearer'; token: CompiledTemplate }
  | { type: 'apiKey'; in: 'header' | 'query'; name: string; value: CompiledTemplate }
  | { type: 'none' }

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
  }
}
