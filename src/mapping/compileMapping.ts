import type { PathSegment, Problem, SourceDocument } from './problems'
import { CompileContext, allFieldsRead } from './compile/context'
import { compileHttp, type CompiledHttp } from './compile/http'
import { compileOperations, type CompiledOperations } from './compile/operations'
import { compileWebhook, type CompiledWebhook } from './compile/webhook'
import type * as M from './types'

// Each section of the format compiles in its own module under ./compile; these are the names the engine uses.
export type { CompiledAuth } from './compile/auth'
export type { CompiledHttp } from './compile/http'
export { DEFAULT_RETRY } from './compile/http'
export type { CompiledOperation, CompiledOperations } from './compile/operations'
export type { CompiledRequest, CompiledStep } from './compile/steps'
export type { CompiledEventRule, CompiledHandshake, CompiledVerify, CompiledWebhook } from './compile/webhook'

export type CompiledMapping = {
  file: M.MappingFile
  /**
   * Whether the hand-off (http, the hand-off operations, the webhook) reads `$registration`: then its handlers
   * load the stored registration. Reads in register and unregister are not counted (as before the split).
   */
  usesRegistration: boolean
  http: CompiledHttp
  operations: CompiledOperations
  webhook: CompiledWebhook
}

const readByHandoff = (path: PathSegment[]) => !(path[0] === 'operations' && (path[1] === 'register' || path[1] === 'unregister'))

/** Compiles every template and expression of a schema-valid mapping; collects positioned problems. */
export function compileMapping(file: M.MappingFile, source: SourceDocument): { mapping?: CompiledMapping; problems: Problem[] } {
  // vendor and settings need no compiling (parseSettings reads the declarations); fixtures are run as written
  // by src/fixtures.
  const { version: _version, vendor: _vendor, settings, http, operations, webhook, fixtures: _fixtures, ...rest } = file
  allFieldsRead(rest)
  const cx = new CompileContext(source, settings)
  const compiled = { http: compileHttp(http, cx), operations: compileOperations(operations, cx), webhook: compileWebhook(webhook, cx) }
  const mapping: CompiledMapping = { file, usesRegistration: cx.registrationReads.some(readByHandoff), ...compiled }
  return { mapping: cx.problems.length ? undefined : mapping, problems: cx.problems }
}
