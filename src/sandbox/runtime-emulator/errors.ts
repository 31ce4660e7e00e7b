import { randomBytes } from 'node:crypto'
import type { ErrorType } from '@botpress/client'

/** The error body of the runtime API; `@botpress/client` turns it into the class named by `type`. */
export type ApiErrorBody = { id: string; code: number; type: string; message: string }

const statusOf: Record<ErrorType, number> = {
  InvalidPayload: 400,
  InvalidJsonSchema: 400,
  InvalidDataFormat: 400,
  InvalidIdentifier: 400,
  ReferenceNotFound: 400,
  InvalidQuery: 400,
  Runtime: 400,
  BreakingChanges: 400,
  Unauthorized: 401,
  PaymentRequired: 402,
  Forbidden: 403,
  QuotaExceeded: 403,
  ResourceNotFound: 404,
  MethodNotFound: 405,
  AlreadyExists: 409,
  RelationConflict: 409,
  ReferenceConstraint: 409,
  ResourceLockedConflict: 409,
  ResourceGone: 410,
  PayloadTooLarge: 413,
  LimitExceeded: 413,
  UnsupportedMediaType: 415,
  RateLimited: 429,
  Internal: 500,
  Unknown: 500,
  OperationTimeout: 504,
}

/** The first error type the client maps to `status`; used when a fault gives a status but no type. */
export const defaultTypeForStatus = (status: number): string => {
  const found = (Object.keys(statusOf) as ErrorType[]).find((t) => statusOf[t] === status)
  if (found) return found
  return status >= 500 ? 'Internal' : 'Unknown'
}

/** Thrown by route handlers; the server answers it as `{id, code, type, message}`. */
export class ApiFailure extends Error {
  readonly status: number
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message)
    this.status = statusOf[type]
  }
}

export const invalidPayload = (message: string) => new ApiFailure('InvalidPayload', message)
export const notFound = (message: string) => new ApiFailure('ResourceNotFound', message)

/** Same id format as the client's own errors (`err_<yyyymmddhhmmss>x<hex>`). */
export const errorBody = (code: number, type: string, message: string): ApiErrorBody => {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:TZ]/g, '')
    .split('.')[0]
  return { id: `err_${stamp}x${randomBytes(4).toString('hex').toUpperCase()}`, code, type, message }
}
