import type { CompiledExpression } from '../../expr/compileExpression'
import type { PathSegment } from '../problems'
import type * as M from '../types'
import { allFieldsRead, type CompileContext } from './context'
import { compileSteps, type CompiledStep } from './steps'

export type CompiledOperation = {
  name: string
  steps: CompiledStep[]
  result: [string, CompiledExpression][]
}

export type CompiledOperations = {
  /** `placeholderEmail`: whether the Botpress HITL plugin's made-up address reaches the mapping (default drop). */
  createUser: CompiledOperation & { placeholderEmail: M.PlaceholderEmail }
  createTicket: CompiledOperation
  /** By message type, plus `fallback`. */
  sendMessage: Record<string, CompiledOperation>
  closeTicket: CompiledOperation
  register?: CompiledOperation
  unregister?: CompiledOperation
  checkCredentials?: CompiledOperation
}

function compileOperation(op: M.Operation<Record<string, M.Expression | undefined>>, name: string, cx: CompileContext, path: PathSegment[]): CompiledOperation {
  const { steps, result, ...rest } = op
  allFieldsRead(rest)
  const compiled = compileSteps(steps, cx, [...path, 'steps'], name)
  return { name, steps: compiled.steps, result: cx.exprMap(result, [...path, 'result'], compiled.ids) }
}

const optional = (op: M.Operation | undefined, name: string, cx: CompileContext) => (op ? compileOperation(op, name, cx, ['operations', name]) : undefined)

export function compileOperations(ops: M.Operations, cx: CompileContext): CompiledOperations {
  const { createUser, createTicket, sendMessage, closeTicket, register, unregister, checkCredentials, ...rest } = ops
  allFieldsRead(rest)
  // The hand-off cannot go on without these ids (the schema requires them too).
  if (createUser && !createUser.result?.externalUserId) cx.problem('UH-E019', ['operations', 'createUser'], 'must have result.externalUserId')
  if (createTicket && !createTicket.result?.ticketId) cx.problem('UH-E020', ['operations', 'createTicket'], 'must have result.ticketId')
  const { placeholderEmail, ...createUserSteps } = createUser
  const byType: Record<string, CompiledOperation> = {}
  for (const [type, op] of Object.entries(sendMessage ?? {})) {
    if (op) byType[type] = compileOperation(op, `sendMessage.${type}`, cx, ['operations', 'sendMessage', type])
  }
  return {
    createUser: { ...compileOperation(createUserSteps, 'createUser', cx, ['operations', 'createUser']), placeholderEmail: placeholderEmail ?? 'drop' },
    createTicket: compileOperation(createTicket, 'createTicket', cx, ['operations', 'createTicket']),
    sendMessage: byType,
    closeTicket: compileOperation(closeTicket, 'closeTicket', cx, ['operations', 'closeTicket']),
    register: optional(register, 'register', cx),
    unregister: optional(unregister, 'unregister', cx),
    checkCredentials: optional(checkCredentials, 'checkCredentials', cx),
  }
}
