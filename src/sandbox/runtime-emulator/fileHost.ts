// The emulator's stand-in for the storage behind the Files API: `upsertFile` answers an `uploadUrl` here (the
// real one is a pre-signed S3 URL), the bytes are PUT to it, and the file is then served at its `url`. Strict
// like S3 with a signed URL: a wrong or stale token or another Content-Type than the one declared is 403, a
// body whose length differs from the declared `size` is 400, and nothing is served before the upload.
import type { Store } from './store'

/** Paths of the file host, beside the API's `/v1/...`. */
export const FILE_HOST_PREFIX = '/_files/'
const UPLOAD_PATH = /^\/_files\/upload\/([^/]+)$/
const CONTENT_PATH = /^\/_files\/content\/([^/]+)\/[^/]+$/

export const fileUrlsOn = (baseUrl: () => string) => (file: { id: string; key: string }, uploadToken: string) => ({
  url: `${baseUrl()}${FILE_HOST_PREFIX}content/${encodeURIComponent(file.id)}/${encodeURIComponent(file.key)}`,
  uploadUrl: `${baseUrl()}${FILE_HOST_PREFIX}upload/${encodeURIComponent(file.id)}?token=${uploadToken}`,
})

export type FileHostAnswer = { status: number; headers: Record<string, string>; body: Buffer }

const text = (status: number, message: string): FileHostAnswer => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: Buffer.from(message),
})

export type FileHostRequest = { method: string; path: string; query: Record<string, string | string[]>; contentType?: string; body: Buffer }

/** The answer of the file host to one request (its path starts with FILE_HOST_PREFIX). */
export function answerFileHost(store: Store, r: FileHostRequest): FileHostAnswer {
  const upload = UPLOAD_PATH.exec(r.path)
  if (upload) {
    if (r.method !== 'PUT') return text(405, `${r.method} is not allowed on an upload URL (PUT the bytes)`)
    const stored = store.data.files.get(decodeURIComponent(upload[1]!))
    if (!stored || r.query.token !== stored.uploadToken) return text(403, 'SignatureDoesNotMatch: unknown or replaced upload URL')
    if ((r.contentType ?? '') !== stored.file.contentType)
      return text(403, `SignatureDoesNotMatch: Content-Type "${r.contentType ?? ''}" is not the file's "${stored.file.contentType}"`)
    if (r.body.length !== stored.file.size) return text(400, `IncompleteBody: ${r.body.length} bytes sent, ${stored.file.size} declared`)
    stored.content = r.body
    stored.file = { ...stored.file, status: 'upload_completed', updatedAt: new Date().toISOString() }
    return { status: 200, headers: {}, body: Buffer.alloc(0) }
  }
  const content = CONTENT_PATH.exec(r.path)
  if (content) {
    if (r.method !== 'GET') return text(405, `${r.method} is not allowed on a file URL`)
    const stored = store.data.files.get(decodeURIComponent(content[1]!))
    if (!stored?.content) return text(404, 'NoSuchKey: no file uploaded at this URL')
    return { status: 200, headers: { 'content-type': stored.file.contentType }, body: stored.content }
  }
  return text(404, `NoSuchKey: ${r.path}`)
}
