import { shippedMappingNames } from '../mapping/loadMapping'
import { parsePinnedMappingUrl } from '../mapping/mappingUrl'
import { packMapping } from '../mapping/packMapping'

// The configuration travels base64-encoded in the `x-bp-configuration` request header of every call Botpress
// makes to the integration (contract reference §1.3). Botpress's own HITL integrations have configurations of
// a few hundred bytes; what header size Botpress Cloud accepts is not documented. Node's HTTP server, which
// the SDK's server is, refuses the whole request (431) when its headers exceed 16 KiB by default.

/** Node's default `--max-http-header-size`: all request headers together. */
export const NODE_DEFAULT_HEADER_LIMIT = 16 * 1024

/**
 * Above this encoded size `register` warns: half of Node's default limit, leaving room for the other headers
 * (ids, tracing) and for a limit lower than Node's somewhere between Botpress Cloud and the integration.
 */
export const CONFIGURATION_WARN_BYTES = 8 * 1024

/** Bytes of the `x-bp-configuration` header for this configuration. */
export const encodedConfigurationSize = (configuration: unknown): number => Math.ceil(Buffer.byteLength(JSON.stringify(configuration)) / 3) * 4

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

export type ConfigurationAdviceInput = {
  /** Encoded size of the whole configuration. */
  size: number
  /** How the mapping is given. */
  mapping: 'name' | 'url' | 'pasted'
  /** For a pasted mapping: the encoded size the configuration would have with the mapping packed. */
  packedSize?: number
  /** Shipped mapping names, offered for (a). */
  shipped: string[]
}

/** What to do about a configuration over CONFIGURATION_WARN_BYTES, or undefined when it is small enough. */
export function configurationSizeAdvice(a: ConfigurationAdviceInput): string | undefined {
  if (a.size <= CONFIGURATION_WARN_BYTES) return undefined
  const head = `the configuration is ${kib(a.size)} once encoded, over the ${kib(CONFIGURATION_WARN_BYTES)} this integration recommends: it travels in a request header of every call (Node's default limit for all headers is ${kib(NODE_DEFAULT_HEADER_LIMIT)}; Botpress Cloud's is not documented), and a request over the limit fails before the integration sees it.`
  if (a.mapping !== 'pasted') return `${head} The mapping is given by ${a.mapping}, so it is the settings that are large: shorten them.`
  const options = [
    `(a) if it is a shipped mapping, give its name instead (${a.shipped.join(', ')})`,
    `(b) host the file at an https URL and give "https://…/desk.yaml#sha256=<hex of the file>" (register fetches it once and keeps it)`,
  ]
  if (a.packedSize !== undefined && a.packedSize < a.size) {
    options.push(
      `(c) paste its packed form (\`npx universal-hitl pack desk.yaml\`: no comments, no fixtures), ${kib(a.packedSize)} encoded${a.packedSize > CONFIGURATION_WARN_BYTES ? ', still over the recommended size' : ''}`,
    )
  }
  return `${head} Use ${options.join('; ')}.`
}

/** The advice for a configuration as it arrives (`{ mapping, settings }`), or undefined when it is small enough. */
export function adviceForConfiguration(configuration: { mapping?: string; settings?: unknown }): string | undefined {
  const size = encodedConfigurationSize(configuration)
  if (size <= CONFIGURATION_WARN_BYTES) return undefined
  const mapping = configuration.mapping ?? ''
  const shipped = shippedMappingNames()
  if (/^[a-z0-9][a-z0-9-]*$/i.test(mapping.trim())) return configurationSizeAdvice({ size, mapping: 'name', shipped })
  if (isUrl(mapping)) return configurationSizeAdvice({ size, mapping: 'url', shipped })
  let packedSize: number | undefined
  try {
    packedSize = encodedConfigurationSize({ ...configuration, mapping: packMapping(mapping, 'mapping') })
  } catch {
    // an invalid mapping is reported on its own; the advice then leaves packing out
  }
  return configurationSizeAdvice({ size, mapping: 'pasted', packedSize, shipped })
}

const isUrl = (mapping: string) => {
  try {
    return parsePinnedMappingUrl(mapping) !== undefined
  } catch {
    return true
  }
}
