import * as sdk from '@botpress/sdk'
import { fetchPinnedMapping, matchesPin, parsePinnedMappingUrl, type PinnedMappingUrl } from '../mapping/mappingUrl'
import { readState } from './states'
import type { Client, Ctx } from './types'

/** Mapping texts fetched by URL, per worker, keyed by URL and pin (a new pin is a new entry). */
const byPin = new Map<string, string>()
const CACHE_CAP = 8
const keyOf = (pin: PinnedMappingUrl) => `${pin.url}#${pin.sha256}`

export type ConfiguredMapping = {
  /** What loadMapping reads: a shipped name or YAML text. */
  mapping: string
  /** For a URL fetched now: keeps the text in integration state, once it has been validated. */
  keep?: () => Promise<void>
}

/**
 * The configuration's `mapping` as loadMapping takes it. A pinned URL is fetched by `register` (`fetch: true`)
 * and kept in integration state `mappingFile`; other requests read that state once per worker.
 */
export async function configuredMapping(ctx: Ctx, client: Client, options: { fetch?: boolean } = {}): Promise<ConfiguredMapping> {
  const pin = parsePinnedMappingUrl(ctx.configuration.mapping ?? '')
  if (!pin) return { mapping: ctx.configuration.mapping }
  const key = keyOf(pin)
  if (options.fetch) {
    const text = await fetchPinnedMapping(pin)
    return {
      mapping: text,
      keep: async () => {
        await client.setState({ type: 'integration', id: ctx.integrationId, name: 'mappingFile', payload: { url: pin.url, sha256: pin.sha256, text } })
        remember(key, text)
      },
    }
  }
  const cached = byPin.get(key)
  if (cached !== undefined) return { mapping: cached }
  const stored = await storedMappingFile(client, ctx.integrationId)
  if (!stored || stored.url !== pin.url || stored.sha256 !== pin.sha256 || !matchesPin(stored.text, pin)) {
    throw new sdk.RuntimeError(
      `the mapping ${pin.url}#sha256=${pin.sha256.slice(0, 12)}… has not been fetched${stored ? ` (the stored file is ${stored.url}#sha256=${stored.sha256.slice(0, 12)}…)` : ''}: save the configuration again so that register fetches it`,
    )
  }
  return { mapping: remember(key, stored.text) }
}

function remember(key: string, text: string): string {
  if (byPin.size >= CACHE_CAP) byPin.delete(byPin.keys().next().value as string)
  byPin.set(key, text)
  return text
}

const storedMappingFile = (client: Client, integrationId: string) => readState(client, 'integration', integrationId, 'mappingFile')
