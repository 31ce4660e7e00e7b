// Files uploaded to the Demo Desk: `multipart/form-data` bodies of the message and reply routes, parsed by the
// platform's FormData (undici) and checked against the limits below. The bytes stay in memory; the desk serves
// them at `/files/<id>/<name>` to holders of the API token (like most helpdesks' attachment URLs).
import { DeskError } from './errors'
import type { AttachmentKind } from './types'

/** Largest file the desk takes: the files live in memory, and 10 MB covers the screenshots and PDFs of a chat. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024
/** Files of one message: a chat message carries a few; more is a client bug, not a conversation. */
export const MAX_FILES_PER_MESSAGE = 10
/** A whole multipart body: two files at the limit plus the text fields; bounds what is buffered per request. */
export const MAX_MULTIPART_BYTES = 2 * MAX_FILE_BYTES + 64 * 1024
/** All files the desk keeps for its lifetime (nothing is ever deleted): bounds the memory of a long session. */
export const MAX_STORED_BYTES = 256 * 1024 * 1024
/** The form field file parts are sent under (repeat it for several files). */
export const FILE_FIELD = 'files'

/** A file part of a multipart body, checked. */
export type Upload = { name: string; contentType: string; bytes: Buffer }

export const isMultipart = (contentType: string | undefined) => /^multipart\/form-data\s*(;|$)/i.test(contentType ?? '')

export const megabytes = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`

/** image/*, audio/*, video/* are shown as such; anything else is a file. */
export function kindOf(contentType: string): AttachmentKind {
  const family = contentType.split('/')[0]!.toLowerCase()
  return family === 'image' || family === 'audio' || family === 'video' ? family : 'file'
}

/**
 * Parses a multipart/form-data body into its text fields (each at most once) and its file parts (under
 * FILE_FIELD only). Every refusal is a 400 (413 for size) naming the part.
 */
export async function parseMultipart(
  raw: Buffer,
  contentType: string,
  textFields: readonly string[],
): Promise<{ fields: Record<string, string>; files: Upload[] }> {
  if (!/;\s*boundary=("?)[^";]+\1/i.test(contentType)) {
    throw new DeskError(400, 'invalid_multipart', 'Content-Type multipart/form-data needs a boundary parameter (e.g. multipart/form-data; boundary=xyz)')
  }
  let form: FormData
  try {
    form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData()
  } catch {
    throw new DeskError(
      400,
      'invalid_multipart',
      'The body is not valid multipart/form-data: each part needs a Content-Disposition: form-data; name="…" header, and the body must end with the closing boundary',
    )
  }
  const fields: Record<string, string> = {}
  const files: Upload[] = []
  for (const [name, value] of form.entries()) {
    if (name === FILE_FIELD) {
      if (typeof value === 'string') throw new DeskError(400, 'invalid_request', `\`${FILE_FIELD}\` parts must be files (with a filename), not text`)
      files.push(await checkedUpload(value, files.length + 1))
      continue
    }
    if (!textFields.includes(name)) {
      throw new DeskError(
        400,
        'invalid_request',
        `Unknown form field \`${name}\`; this route takes ${[...textFields, FILE_FIELD].map((f) => `\`${f}\``).join(', ')}`,
      )
    }
    if (typeof value !== 'string')
      throw new DeskError(400, 'invalid_request', `\`${name}\` must be a text field, not a file (files go under \`${FILE_FIELD}\`)`)
    if (name in fields) throw new DeskError(400, 'invalid_request', `\`${name}\` is given twice`)
    // The form encoding turns every line break into CRLF: store the text as a JSON message would be.
    fields[name] = value.replace(/\r\n/g, '\n')
  }
  if (files.length > MAX_FILES_PER_MESSAGE) {
    throw new DeskError(400, 'too_many_files', `${files.length} files in one message; at most ${MAX_FILES_PER_MESSAGE}`)
  }
  return { fields, files }
}

async function checkedUpload(file: File, nth: number): Promise<Upload> {
  const name = file.name.trim()
  if (!name) throw new DeskError(400, 'invalid_request', `File ${nth} has no filename`)
  // A name is one path segment of the file's URL, and shown to agents as is.
  if (/[/\\]/.test(name) || [...name].some((c) => c.charCodeAt(0) < 0x20))
    throw new DeskError(400, 'invalid_request', `File ${nth}: the filename ${JSON.stringify(name)} has a slash or a control character`)
  if (file.size === 0) throw new DeskError(400, 'invalid_request', `File ${nth} (${name}) is empty`)
  if (file.size > MAX_FILE_BYTES) {
    throw new DeskError(413, 'file_too_large', `File ${nth} (${name}) is ${megabytes(file.size)}; the desk takes files up to ${megabytes(MAX_FILE_BYTES)}`)
  }
  // The parser gives a part without Content-Type text/plain (RFC 7578 §4.4); empty only if declared so.
  const contentType = (file.type || 'application/octet-stream').split(';')[0]!.trim().toLowerCase()
  return { name, contentType, bytes: Buffer.from(await file.arrayBuffer()) }
}
