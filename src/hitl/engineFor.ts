import * as sdk from '@botpress/sdk'
import { createEngine, type Engine, UnsupportedMessageTypeError } from '../engine/createEngine'
import { VendorRequestError } from '../http/sendRequest'
import { envRequestLogger } from '../http/requestLog'
import { vendorOriginOverride } from '../http/vendorOrigin'
import { loadMapping } from '../mapping/loadMapping'
import { MappingError } from '../mapping/problems'
import { HostNotAllowedError, OperationResultError } from '../operations/runSteps'
import { ExpressionEvaluationError } from '../expr/compileExpression'
import { IntegrationStateTokenStore } from './tokenState'
import type { Client, Ctx } from './types'

/** Where Botpress Cloud receives an integration's webhooks: `<base>/<webhookId>`. */
const BOTPRESS_WEBHOOK_BASE = 'https://webhook.botpress.cloud'

/**
 * The configuration → compiled mapping (cached) → an engine with the stored registration values and tokens kept
 * in integration state. `withRegistration`: true always loads the registration, false never, absent when the
 * hand-off reads `$registration`.
 */
export async function engineFor(ctx: Ctx, client: Client, options?: { webhookUrl?: string; withRegistration?: boolean }): Promise<Engine> {
  const loaded = asRuntimeError(() => loadMapping({ mapping: ctx.configuration.mapping, settings: ctx.configuration.settings }))
  let registration: Record<string, unknown> | undefined
  let registeredUrl: string | undefined
  // Only mappings that read `$registration` pay for the state lookup, unless the caller needs it (unregister).
  if (options?.withRegistration === true || (loaded.mapping.usesRegistration && options?.withRegistration !== false)) {
    const stored = await getRegistration(client, ctx.integrationId)
    registration = stored?.values
    registeredUrl = stored?.webhookUrl
  }
  // `$webhookUrl` in webhook expressions (HubSpot signs the URL): the one registered, else Botpress's own.
  const webhookUrl = options?.webhookUrl ?? registeredUrl ?? `${BOTPRESS_WEBHOOK_BASE}/${ctx.webhookId}`
  return createEngine(loaded, {
    registration,
    webhookUrl,
    rewriteUrl: vendorOriginOverride(),
    onRequest: envRequestLogger(),
    tokens: new IntegrationStateTokenStore(client, ctx.integrationId),
  })
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
