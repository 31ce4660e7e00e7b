import { stringify } from '../expr/compileTemplate'
import type { FileContent } from './downloadFile'

/**
 * A multipart/form-data body: the body expression's fields as text parts (objects as JSON), then one part per
 * file under `field`. Encoded by the platform's FormData (undici), so boundaries and escaping are standard.
 */
export async function multipartBody(fields: unknown, files: FileContent[], field: string): Promise<{ bytes: Buffer; contentType: string }> {
  const form = new FormData()
  if (fields && typeof fields === 'object') {
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) form.append(k, typeof v === 'object' ? JSON.stringify(v) : stringify(v))
  }
  for (const f of files) form.append(field, new Blob([new Uint8Array(f.bytes)], { type: f.contentType }), f.name)
  const encoded = new Request('http://multipart.invalid/', { method: 'POST', body: form })
  return { bytes: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! }
}

/** The files as a `base64` step's body sees them (`$files`). */
export const base64Files = (files: FileContent[]) =>
  files.map((f) => ({ name: f.name, contentType: f.contentType, size: f.size, base64: f.bytes.toString('base64') }))
