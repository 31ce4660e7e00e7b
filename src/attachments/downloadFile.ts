import { DiagnosticError } from '../diagnostics/codes'
import got, { HTTPError, RequestError } from 'got'

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

/**
 * Downloads one file, streamed: stops reading as soon as it is over `maxBytes` (the whole file is never held
 * beyond the limit). A host outside `hosts` is an error; a failed download, a file over the limit or of a type
 * the step does not take is `FileNotAttached` (the caller sends the link instead).
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
  if (!/^https?:$/.test(url.protocol) || !hostAllowed(url.hostname.toLowerCase(), limits.hosts)) {
    throw new FileHostNotAllowedError(
      'UH-E061',
      `files are only downloaded from Botpress file hosts (${limits.hosts.join(', ')}), not ${url.host || file.url}: ${file.name} was not sent`,
    )
  }
  const from = limits.rewrite ? limits.rewrite(url.href) : url
  const { contentType, size, bytes } = await streamFile(from, {}, file, limits.maxBytes, { source: 'Botpress', limitOf: "the helpdesk's" })
  if (!contentTypeAllowed(contentType, limits.contentTypes)) throw new FileNotAttached(file, `the helpdesk does not take ${contentType} files here`)
  return { name: file.name, contentType, size, bytes }
}

/**
 * GETs `url` with `headers`, streamed: stops reading as soon as it is over `maxBytes`. Failures are
 * `FileNotAttached` naming `words.source` (where it came from) and `words.limitOf` (whose limit it broke).
 */
export async function streamFile(
  url: URL | string,
  headers: Record<string, string>,
  file: MessageFile,
  maxBytes: number,
  words: { source: string; limitOf: string },
): Promise<Omit<FileContent, 'name'>> {
  const chunks: Buffer[] = []
  let size = 0
  let contentType = file.contentType ?? 'application/octet-stream'
  try {
    const stream = got.stream(url, { headers, timeout: { request: DOWNLOAD_TIMEOUT_MS }, followRedirect: false, retry: { limit: 0 } })
    stream.on('response', (r: { headers: Record<string, string | undefined> }) => {
      if (r.headers['content-type']) contentType = r.headers['content-type']
      const declared = Number(r.headers['content-length'])
      if (declared > maxBytes) stream.destroy(new FileNotAttached(file, `${megabytes(declared)} is over ${words.limitOf} ${megabytes(maxBytes)} limit`))
    })
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
