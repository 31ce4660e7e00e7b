// How the command line ends on a failure: one clean line (or one per mapping problem) and the documented exit
// code (1 problems found, 2 usage or input error); a stack trace only with --debug.
import { describeError } from '../diagnostics/codes'
import { ExpressionEvaluationError } from '../expr/compileExpression'
import { VendorRequestError } from '../http/sendRequest'
import { MappingError } from '../mapping/problems'
import { HostNotAllowedError, OperationResultError } from '../operations/runSteps'
import { CliError } from './inputs'

/** Failures of a run (not of the input): `error: …`, exit 1. Their messages are already redacted. */
const RUN_ERRORS = [VendorRequestError, ExpressionEvaluationError, HostNotAllowedError, OperationResultError]

/** One clean line (or one per mapping problem) and the documented exit code; a stack only with --debug. */
export function reportFailure(e: unknown, debug: boolean, write: (line: string) => void = (l) => console.error(l)): number {
  if (e instanceof MappingError) {
    write(e.message)
    return 1
  }
  const message = (e as Error)?.message ?? String(e)
  if (e instanceof CliError) {
    write(`error: ${message}`)
    return 2
  }
  if (RUN_ERRORS.some((cls) => e instanceof cls)) {
    write(`error: ${describeError(e).split('\n')[0]}`)
    return 1
  }
  write(debug ? `error: ${(e as Error)?.stack ?? message}` : `error: ${message.split('\n')[0]} (unexpected; --debug shows where)`)
  return 1
}
