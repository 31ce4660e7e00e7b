import { DiagnosticError } from '../diagnostics/codes'
import { createHash } from 'node:crypto'
import got from 'got'

// A shared mapping file by URL, pinned by its hash: `https://example.com/desks/acme.yaml#sha256=<64 hex>`.
// The pin makes the configuration say exactly which file it runs: a file changed at the URL is refused until
// the bot admin reviews it and puts the new hash in the configuration.

/** Mapping files are a few tens of KiB (the largest shipped one is 47 KiB); anything far larger is not one. */
export const MAX_MAPPING_FILE_BYTES = 512 * 1024
/** A config save should not hang on a slow host. */
export const MAPPING_FETCH_TIMEOUT_MS = 10_000

/** Longer than this, a configuration's `mapping` is a pasted file, not a URL (checked on every request: cheap). */
const MAX_MAPPING_URL_LENGTH = 2048

export type PinnedMappingUrl = { url: string; sha256: string }

export class MappingSourceError extends DiagnosticError {}

const PIN = /#sha256=([0-9a-f]{64})$/i

/** `undefined` when `mapping` is not a URL (a shipped name or a pasted file); throws for a URL it refuses. */
export function parsePinnedMappingUrl(mapping: string): PinnedMappingUrl | undefined {
  if (mapping.length > MAX_MAPPING_URL_LENGTH) return undefined
  const value = mapping.trim()
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /\s/.test(value)) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new MappingSourceError('UH-E029', `the mapping "${value.slice(0, 100)}" looks like a URL but is not a valid one`)
  }
  if (url.protocol !== 'https:') throw new MappingSourceError('UH-E030', `a mapping URL must use https (got ${url.protocol.slice(0, -1)}): ${redactUrl(url)}`)
  const pin = PIN.exec(value)
  if (!pin) {
    throw new MappingSourceError(
      'UH-E031',
      `a mapping URL needs an integrity pin: add "#sha256=<hex>" with the SHA-256 of the file (e.g. \`sha256sum desk.yaml\`) to ${redactUrl(url)}`,
    )
  }
  url.hash = ''
  return { url: url.toString(), sha256: pin[1]!.toLowerCase() }
}

/** The URL without credentials or query (which may carry a token), for messages. */
const redactUrl = (url: URL) => `${url.origin}${url.pathname}`

export const sha256Hex = (text: string | Buffer) => createHash('sha256').update(text).digest('hex')

/** Whether `text` is the file the pin names. */
export const matchesPin = (text: string, pin: PinnedMappingUrl) => sha256Hex(text) === pin.sha256

/**
 * Fetches the pinned file: https only, no redirects, at most MAX_MAPPING_FILE_BYTES, MAPPING_FETCH_TIMEOUT_MS;
 * the bytes must hash to the pin. `ca` adds a trusted certificate authority (tests serve a self-signed
 * certificate on loopback); certificates are always checked.
 */
export async function fetchPinnedMapping(pin: PinnedMappingUrl, options: { ca?: string } = {}): Promise<string> {
  const where = redactUrl(new URL(pin.url))
  const chunks: Buffer[] = []
  let size = 0
  try {
    const stream = got.stream(pin.url, {
      followRedirect: false,
      timeout: { request: MAPPING_FETCH_TIMEOUT_MS },
      retry: { limit: 1 },
      https: options.ca ? { certificateAuthority: options.ca } : undefined,
      headers: { accept: 'application/yaml, text/yaml, text/plain, */*' },
    })
    // A redirect is not followed (the pin names this URL's file) and is as much a failure as a 404.
    const status = await new Promise<number>((resolve, reject) => {
      stream.once('response', (res: { statusCode: number }) => resolve(res.statusCode))
      stream.once('error', reject)
    })
    if (status < 200 || status >= 300) {
      stream.destroy()
      throw new MappingSourceError('UH-E032', `could not fetch the mapping file ${where}: HTTP ${status}`)
    }
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_MAPPING_FILE_BYTES) {
        stream.destroy()
        throw new MappingSourceError('UH-E033', `the mapping file at ${where} is over ${MAX_MAPPING_FILE_BYTES / 1024} KiB; that is not a mapping`)
      }
      chunks.push(chunk)
    }
  } catch (e) {
    if (e instanceof MappingSourceError) throw e
    const status = (e as { response?: { statusCode?: number } }).response?.statusCode
    throw new MappingSourceError('UH-E032', `could not fetch the mapping file ${where}: ${status ? `HTTP ${status}` : (e as Error).message}`)
  }
  const bytes = Buffer.concat(chunks)
  const actual = sha256Hex(bytes)
  if (actual !== pin.sha256) {
    throw new MappingSourceError(
      'UH-E034',
      `the mapping file at ${where} is not the pinned one: its sha256 is ${actual}, the configuration pins ${pin.sha256}. If the file was changed on purpose, review it and put #sha256=${actual} in the mapping URL.`,
    )
  }
  return bytes.toString('utf8')
}
