import { DiagnosticError } from '../diagnostics/codes'
import { once } from 'node:events'
import got, { HTTPError, RequestError } from 'got'
import { lookup as lookupType } from 'mime-types'

// Files of the end user's messages, fetched from Botpress to be uploaded to the helpdesk. Only Botpress's own
// file hosts are fetched from (a message payload is user input: its URL must not make the integration fetch
// arbitrary, e.g. internal, addresses), and never more than the helpdesk's limit is read.

/**
 * Where Botpress serves files: the Files API's CDN for public content (webchat uploads and `upsertFile` with
 * `public_content`). A separate list from `http.allowedHosts`: a mapping cannot widen it.
 */
export const BOTPRESS_FILE_HOSTS: readonly string[] = ['files.bpcontent.cloud']
/** A file download that takes longer fails (and the message falls back to its link): the handler has a budget. */
const DOWNLOAD_TIMEOUT_MS = 15_000

/** A file of the message: where Botpress serves it and what it is called. */
export type MessageFile = { url: string; name: string; contentType?: string }
/** A downloaded file: what a `files` step sends. */
export type FileContent = { name: string; contentType: string; size: number; bytes: Buffer }

export class FileHostNotAllowedError extends DiagnosticError {}

/** Why a file could not be attached: the message goes as its link instead, with this note for the agent. */
export class FileNotAttached extends Error {
  constructor(
    readonly file: MessageFile,
    readonly note: string,
  ) {
    super(`${file.name}: ${note}`)
  }
}

const hostAllowed = (host: string, hosts: readonly string[]) => hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === h))
const megabytes = (n: number) => `${(n / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`

/** `image/*` style patterns; none = any type. */
export function contentTypeAllowed(contentType: string, patterns: string[] | undefined): boolean {
  if (!patterns?.length) return true
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  return patterns.some((p) => (p.endsWith('/*') ? type.startsWith(p.slice(0, -1).toLowerCase()) : type === p.toLowerCase()))
}

/** Why `url` is not a Botpress file host (http(s) and on `hosts`), or undefined when it is one. */
function botpressHostRefusal(url: URL, hosts: readonly string[]): string | undefined {
  if (/^https?:$/.test(url.protocol) && hostAllowed(url.hostname.toLowerCase(), hosts)) return undefined
  return `files are only downloaded from Botpress file hosts (${hosts.join(', ')}), not ${url.host || url.href}`
}

/**
 * Downloads one file, streamed: stops reading as soon as it is over `maxBytes` (the whole file is never held
 * beyond the limit). A host outside `hosts` is an error; a failed download, a redirect off those hosts, a file
 * over the limit or of a type the step does not take is `FileNotAttached` (the caller sends the link instead).
 */
export async function downloadFile(
  file: MessageFile,
  limits: { maxBytes: number; contentTypes?: string[]; hosts: readonly string[]; rewrite?: (url: string) => string },
): Promise<FileContent> {
  let url: URL
  try {
    url = new URL(file.url)
  } catch {
    throw new FileNotAttached(file, `its URL "${file.url}" is not a URL`)
  }
  const refused = botpressHostRefusal(url, limits.hosts)
  if (refused) throw new FileHostNotAllowedError('UH-E061', `${refused}: ${file.name} was not sent`)
  const { contentType, size, bytes } = await streamFile(
    { url, refusal: (u) => botpressHostRefusal(u, limits.hosts), rewrite: limits.rewrite },
    file,
    limits.maxBytes,
    { source: 'Botpress', limitOf: "the helpdesk's" },
  )
  if (!contentTypeAllowed(contentType, limits.contentTypes)) throw new FileNotAttached(file, `the helpdesk does not take ${contentType} files here`)
  return { name: file.name, contentType, size, bytes }
}

/**
 * Redirects one download follows: a file host or CDN sends a signed URL in one or two hops; a chain longer than
 * this is a loop or a misconfiguration, not a file.
 */
export const MAX_FILE_REDIRECTS = 5
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/**
 * Where a download starts, as the mapping wrote it (already checked against its host allowlist), and how it
 * continues: `refusal` says why a redirect target is not on that same allowlist; `credentials` go only to
 * `url`'s origin (scheme, host and port), never to a redirect to another one; `rewrite` sends each request
 * elsewhere (fixtures, local runs) while the checks see the URLs the vendor gave.
 */
export type Download = {
  url: URL
  refusal: (url: URL) => string | undefined
  credentials?: { headers: Record<string, string>; query: [string, string][] }
  rewrite?: (url: string) => string
}

/**
 * GETs the download's URL, streamed: stops reading as soon as it is over `maxBytes`; follows redirects itself
 * (got's own following would not check the hosts, and with `followRedirect: false` it takes a 3xx for the file).
 * Failures are `FileNotAttached` naming `words.source` (where it came from) and `words.limitOf` (whose limit it broke).
 */
export async function streamFile(
  download: Download,
  file: MessageFile,
  maxBytes: number,
  words: { source: string; limitOf: string },
): Promise<Omit<FileContent, 'name'>> {
  const seen = new Set<string>()
  let url = download.url
  for (;;) {
    seen.add(url.href)
    const sameOrigin = url.origin === download.url.origin
    const target = new URL(download.rewrite ? download.rewrite(url.href) : url.href)
    if (sameOrigin) for (const [k, v] of download.credentials?.query ?? []) if (!target.searchParams.has(k)) target.searchParams.append(k, v)
    const answer = await getOnce(target, sameOrigin ? (download.credentials?.headers ?? {}) : {}, file, maxBytes, words)
    if (!('status' in answer)) return answer
    const next = redirectTarget(answer, url, file, words.source)
    const refused = download.refusal(next)
    if (refused) throw new FileNotAttached(file, `${words.source} redirected it to ${next.origin}, where it may not be fetched from: ${refused}`)
    if (seen.has(next.href)) throw new FileNotAttached(file, `downloading it from ${words.source} redirects in a loop`)
    if (seen.size > MAX_FILE_REDIRECTS) throw new FileNotAttached(file, `downloading it from ${words.source} took more than ${MAX_FILE_REDIRECTS} redirects`)
    url = next
  }
}

/** A redirect's Location, resolved against the URL that answered it (as the vendor gave it, not rewritten). */
function redirectTarget(answer: Redirect, from: URL, file: MessageFile, source: string): URL {
  if (!answer.location) throw new FileNotAttached(file, `downloading it from ${source} answered ${answer.status} without a Location to follow`)
  try {
    return new URL(answer.location, from)
  } catch {
    throw new FileNotAttached(file, `downloading it from ${source} answered ${answer.status} with a Location that is not a URL`)
  }
}

type Redirect = { status: number; location?: string }

/** One GET: the file, or the redirect it answered (its body unread). */
async function getOnce(
  url: URL,
  headers: Record<string, string>,
  file: MessageFile,
  maxBytes: number,
  words: { source: string; limitOf: string },
): Promise<Omit<FileContent, 'name'> | Redirect> {
  const chunks: Buffer[] = []
  let size = 0
  let contentType = file.contentType ?? 'application/octet-stream'
  try {
    const stream = got.stream(url, { headers, timeout: { request: DOWNLOAD_TIMEOUT_MS }, followRedirect: false, retry: { limit: 0 } })
    const [response] = (await once(stream, 'response')) as [{ statusCode: number; headers: Record<string, string | undefined> }]
    if (response.statusCode >= 300 && response.statusCode < 400) {
      stream.destroy()
      if (!REDIRECT_STATUSES.has(response.statusCode)) throw new FileNotAttached(file, `downloading it from ${words.source} answered ${response.statusCode}`)
      return { status: response.statusCode, location: response.headers.location }
    }
    if (response.headers['content-type']) contentType = response.headers['content-type']
    const declared = Number(response.headers['content-length'])
    if (declared > maxBytes) {
      stream.destroy()
      throw new FileNotAttached(file, `${megabytes(declared)} is over ${words.limitOf} ${megabytes(maxBytes)} limit`)
    }
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > maxBytes) {
        stream.destroy()
        throw new FileNotAttached(file, `it is over ${words.limitOf} ${megabytes(maxBytes)} limit`)
      }
      chunks.push(chunk)
    }
  } catch (e) {
    if (e instanceof FileNotAttached) throw e
    if (e instanceof HTTPError) throw new FileNotAttached(file, `downloading it from ${words.source} answered ${e.response.statusCode}`)
    if (e instanceof RequestError) throw new FileNotAttached(file, `downloading it from ${words.source} failed (${e.code ?? e.message})`)
    throw e
  }
  return { contentType: contentType.split(';')[0]!.trim(), size, bytes: Buffer.concat(chunks) }
}

/** The file's declared content type, else its name's extension's (mime-db, via mime-types), else application/octet-stream. */
export function contentTypeOf(file: MessageFile): string {
  if (file.contentType) return file.contentType.split(';')[0]!.trim()
  return lookupType(file.name) || 'application/octet-stream'
}

/**
 * The file inside a JSON answer (`rehost: {base64: "<field path>"}`): the dotted `field` of `answer` decoded from
 * base64 (line breaks allowed), at most `maxBytes` once decoded. Not JSON, no such text field, not base64, or
 * too large is `FileNotAttached` saying which.
 */
export function fileFromBase64Answer(file: MessageFile, answer: Omit<FileContent, 'name'>, field: string, maxBytes: number): FileContent {
  let json: unknown
  try {
    json = JSON.parse(answer.bytes.toString('utf8'))
  } catch {
    throw new FileNotAttached(file, `the helpdesk answered ${answer.contentType}, not the JSON with the file's base64 at "${field}"`)
  }
  const value = field.split('.').reduce<unknown>((at, key) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), json)
  if (typeof value !== 'string') throw new FileNotAttached(file, `the helpdesk's JSON answer has no text at "${field}" (the file's base64)`)
  const text = value.replace(/\s+/g, '')
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  const firstPad = text.indexOf('=')
  if (text.length % 4 !== 0 || /[^A-Za-z0-9+/=]/.test(text) || (firstPad !== -1 && firstPad < text.length - padding))
    throw new FileNotAttached(file, `"${field}" in the helpdesk's JSON answer is not base64`)
  const size = (text.length / 4) * 3 - padding
  if (size > maxBytes) throw new FileNotAttached(file, `it is over the ${megabytes(maxBytes)} limit once decoded from base64`)
  return { name: file.name, contentType: contentTypeOf(file), size, bytes: Buffer.from(text, 'base64') }
}
