import { describeError } from '../diagnostics/codes'
import * as sdk from '@botpress/sdk'
import { FileHostNotAllowedError } from '../attachments/downloadFile'
import { StepControlError } from '../operations/stepControl'
import { createEngine, type Engine, UnsupportedMessageTypeError } from '../engine/createEngine'
import { VendorRequestError } from '../http/sendRequest'
import { envRequestLogger } from '../http/requestLog'
import { vendorOriginOverride } from '../http/vendorOrigin'
import { loadMapping } from '../mapping/loadMapping'
import { MappingSourceError } from '../mapping/mappingUrl'
import { MappingError } from '../mapping/problems'
import { HostNotAllowedError, OperationResultError } from '../operations/runSteps'
import { ExpressionEvaluationError } from '../expr/compileExpression'
import { configuredMapping } from './configuredMapping'
import { readState } from './states'
import { IntegrationStateTokenStore } from './tokenState'
import type { Client, Ctx } from './types'
import { BoundedCache } from './workerCache'

// Engines per configuration (integration + mapping + settings), with the registration values they were built
// with. A worker serves few configurations (the same reason as loadMapping's cache cap); 32 leaves room for
// configuration changes without growing for ever.
const ENGINES_KEPT = 32
const engines = new BoundedCache<string, Engine>(ENGINES_KEPT)
// One token store per integration, shared by its engines; each handler call binds it to that call's client.
const tokenStores = new BoundedCache<string, IntegrationStateTokenStore>(ENGINES_KEPT)

/** Where Botpress Cloud receives an integration's webhooks: `<base>/<webhookId>` (`$webhookUrl` in webhook rules). */
const BOTPRESS_WEBHOOK_BASE = 'https://webhook.botpress.cloud'

function tokenStoreFor(ctx: Ctx, client: Client): IntegrationStateTokenStore {
  let store = tokenStores.get(ctx.integrationId)
  if (!store) {
    store = new IntegrationStateTokenStore(client, ctx.integrationId)
    tokenStores.set(ctx.integrationId, store)
  }
  store.bind(client)
  return store
}

export type EngineOptions = {
  webhookUrl?: string
  /**
   * false: build without reading the registration (register, before it exists); true: read it even when the
   * hand-off does not (unregister steps read `$registration.webhookId`); absent: when the hand-off reads it.
   */
  withRegistration?: boolean
  /** true: read the registration again instead of the worker's copy (the webhook, after a signature check failed). */
  fresh?: boolean
  /** true: fetch a pinned mapping URL now and keep it in integration state (register). */
  fetchMapping?: boolean
}

/**
 * The configuration → compiled mapping (cached) → an engine with the stored registration values. On a warm
 * worker this makes no Botpress call: the registration is read once per configuration, and again only when
 * asked (`fresh`), e.g. after a signature check failed with the kept values.
 */
export async function engineFor(ctx: Ctx, client: Client, options: EngineOptions = {}): Promise<Engine> {
  return (await engineWithOrigin(ctx, client, options)).engine
}

/** Like engineFor, plus whether its registration values came from this worker's memory. */
export async function engineWithOrigin(ctx: Ctx, client: Client, options: EngineOptions = {}): Promise<{ engine: Engine; cached: boolean }> {
  const configured = await withRuntimeErrors(() => configuredMapping(ctx, client, { fetch: options.fetchMapping }))
  const loaded = asRuntimeError(() => loadMapping({ mapping: configured.mapping, settings: ctx.configuration.settings }))
  await configured.keep?.()
  // Only mappings that read `$registration` pay for the state lookup (and unregister, which must have it).
  const needsRegistration = options.withRegistration === true || (loaded.mapping.usesRegistration && options.withRegistration !== false)
  const tokens = tokenStoreFor(ctx, client)
  const webhookUrl = options.webhookUrl ?? `${BOTPRESS_WEBHOOK_BASE}/${ctx.webhookId}`
  const build = (registration?: Record<string, unknown>) =>
    createEngine(loaded, {
      registration,
      webhookUrl,
      rewriteUrl: vendorOriginOverride(),
      onRequest: envRequestLogger(),
      tokens,
      fileHosts: fileHostsOverride(),
    })
  if (options.webhookUrl !== undefined) {
    // Lifecycle calls (rare): built fresh, with the registration as stored now.
    return { engine: build(needsRegistration ? (await getRegistration(client, ctx.integrationId))?.values : undefined), cached: false }
  }
  const key = `${ctx.integrationId}\u0000${loaded.hash}\u0000${needsRegistration}`
  const kept = options.fresh ? undefined : engines.get(key)
  if (kept) return { engine: kept, cached: needsRegistration }
  const engine = build(needsRegistration ? (await getRegistration(client, ctx.integrationId))?.values : undefined)
  engines.set(key, engine)
  return { engine, cached: false }
}

/** A registration was written or removed by this worker: the next engine reads it again. */
export function forgetRegistration(ctx: Ctx) {
  engines.deleteWhere((key) => key.startsWith(`${ctx.integrationId}\u0000`))
}

/**
 * Local testing only: UNIVERSAL_HITL_FILE_HOSTS=127.0.0.1 lets `files` steps download from those hosts (the
 * runtime emulator's files) instead of Botpress's file hosts. Not settable from a bot's configuration.
 */
function fileHostsOverride(): string[] | undefined {
  const hosts = process.env.UNIVERSAL_HITL_FILE_HOSTS
  return hosts
    ? hosts
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean)
    : undefined
}

export const getRegistration = (client: Client, integrationId: string) => readState(client, 'integration', integrationId, 'registration')

const ENGINE_ERRORS = [
  FileHostNotAllowedError,
  StepControlError,
  MappingError,
  MappingSourceError,
  VendorRequestError,
  UnsupportedMessageTypeError,
  OperationResultError,
  ExpressionEvaluationError,
  HostNotAllowedError,
]

/** Engine errors carry messages meant for the bot builder (already redacted): show them as RuntimeErrors. */
export function toRuntimeError(e: unknown): unknown {
  if (ENGINE_ERRORS.some((cls) => e instanceof cls)) return new sdk.RuntimeError(describeError(e))
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
