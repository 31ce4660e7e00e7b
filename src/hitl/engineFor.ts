import * as sdk from '@botpress/sdk'
import { createEngine, type Engine, UnsupportedMessageTypeError } from '../engine/createEngine'
import { VendorRequestError } from '../http/sendRequest'
import { envRequestLogger } from '../http/requestLog'
import { vendorOriginOverride } from '../http/vendorOrigin'
import { loadMapping } from '../mapping/loadMapping'
import { MappingError } from '../mapping/problems'
import { HostNotAllowedError, OperationResultError } from '../operations/runSteps'
import { ExpressionEvaluationError } from '../expr/compileExpression'
import type { Client, Ctx } from './types'

/** The configuration → compiled mapping (cached) → an engine with the stored registration values. */
export async function engineFor(ctx: Ctx, client: Client, options?: { webhookUrl?: string; withRegistration?: boolean }): Promise<Engine> {
  const loaded = asRuntimeError(() => loadMapping({ mapping: ctx.configuration.mapping, settings: ctx.configuration.settings }))
  let registration: Record<string, unknown> | undefined
  // Only mappings that read `$registration` pay for the state lookup.
  if (loaded.mapping.usesRegistration && options?.withRegistration !== false) {
    registration = (await getRegistration(client, ctx.integrationId))?.values
  }
  return createEngine(loaded, { registration, webhookUrl: options?.webhookUrl, rewriteUrl: vendorOriginOverride(), onRequest: envRequestLogger() })
}

export async function getRegistration(client: Client, integrationId: string) {
  try {
    const { state } = await client.getState({ type: 'integration', id: integrationId, name: 'registration' })
    return state.payload ?? undefined
  } catch (e) {
    if (sdk.isApiError(e) && e.type === 'ResourceNotFound') return undefined
    throw e
  }
}

const ENGINE_ERRORS = [MappingError, VendorRequestError, UnsupportedMessageTypeError, OperationResultError, ExpressionEvaluationError, HostNotAllowedError]

/** Engine errors carry messages meant for the bot builder (already redacted): show them as RuntimeErrors. */
export function toRuntimeError(e: unknown): unknown {
  if (ENGINE_ERRORS.some((cls) => e instanceof cls)) return new sdk.RuntimeError((e as Error).message)
  return e
}

export function asRuntimeError<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    throw toRuntimeError(e)
  }
}

export async function withRuntimeErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw toRuntimeError(e)
  }
}
