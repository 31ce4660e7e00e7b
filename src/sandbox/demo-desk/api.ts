// The REST API: JSON in, JSON out, `Authorization: Bearer <apiToken>` on every /api route.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BodyTooLargeError, readBodyBytes } from '../../http/localServer'
import { DeskError } from './errors'
import { isMultipart, MAX_MULTIPART_BYTES, megabytes, parseMultipart, type Upload } from './files'
import type { DeskStore } from './store'
import { ATTACHMENT_KINDS, WEBHOOK_EVENTS, type Attachment, type AttachmentKind, type WebhookEvent, type WebhookSubscription } from './types'
import type { WebhookDispatcher } from './webhooks'

/** A JSON body: tickets and messages are text; 1 MB is far above any of them (files go as multipart). */
const MAX_BODY_BYTES = 1_000_000

export type ApiContext = { store: DeskStore; dispatcher: WebhookDispatcher; apiToken: string }

type Route = {
  method: string
  pattern: RegExp
  /** The text fields the route takes as multipart/form-data (with files); absent: JSON only. */
  formFields?: readonly string[]
  handler: (ctx: ApiContext, params: string[], body: unknown, url: URL, uploads: Upload[]) => { status: number; body?: unknown }
}

// ---------- input helpers ----------
function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {}
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DeskError(400, 'invalid_request', 'The body must be a JSON object')
  }
  return body as Record<string, unknown>
}

function requiredString(o: Record<string, unknown>, key: string): string {
  const v = o[key]
  if (typeof v === 'number') return String(v)
  if (typeof v !== 'string' || v.trim() === '') throw new DeskError(400, 'invalid_request', `\`${key}\` is required (a non-empty string)`)
  return v
}

function optionalString(o: Record<string, unknown>, key: string): string | null {
  const v = o[key]
  if (v === undefined || v === null) return null
  if (typeof v === 'number') return String(v)
  if (typeof v !== 'string') throw new DeskError(400, 'invalid_request', `\`${key}\` must be a string`)
  return v
}

function parseAttachments(v: unknown): Attachment[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new DeskError(400, 'invalid_request', '`attachments` must be an array')
  return v.map((a, i) => {
    const o = asObject(a)
    const url = o.url
    if (typeof url !== 'string' || !/^(https?:|data:)/.test(url)) {
      throw new DeskError(400, 'invalid_request', `\`attachments[${i}].url\` must be an http(s) or data: URL`)
    }
    const kind = o.kind ?? 'file'
    if (!ATTACHMENT_KINDS.includes(kind as AttachmentKind)) {
      throw new DeskError(400, 'invalid_request', `\`attachments[${i}].kind\` must be one of ${ATTACHMENT_KINDS.join(', ')}`)
    }
    const title = o.title
    if (title !== undefined && title !== null && typeof title !== 'string') {
      throw new DeskError(400, 'invalid_request', `\`attachments[${i}].title\` must be a string`)
    }
    return { url, title: (title as string | undefined) ?? null, kind: kind as AttachmentKind }
  })
}

function publicWebhook(w: WebhookSubscription) {
  const { secret: _secret, ...rest } = w
  return rest
}

// ---------- routes ----------
const routes: Route[] = [
  {
    method: 'POST',
    pattern: /^\/api\/contacts$/,
    handler: ({ store }, _p, body) => {
      const o = asObject(body)
      const { contact, created } = store.createContact({
        name: requiredString(o, 'name'),
        email: optionalString(o, 'email'),
        externalId: optionalString(o, 'externalId'),
      })
      return { status: created ? 201 : 200, body: { contact } }
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/contacts$/,
    handler: ({ store }) => ({ status: 200, body: { contacts: store.contacts } }),
  },
  {
    method: 'GET',
    pattern: /^\/api\/contacts\/([^/]+)$/,
    handler: ({ store }, [id]) => {
      const contact = store.getContact(id)
      if (!contact) throw new DeskError(404, 'not_found', `No contact ${id}`)
      return { status: 200, body: { contact } }
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/tickets$/,
    handler: ({ store }, _p, body) => {
      const o = asObject(body)
      const historyIn = o.history ?? []
      if (!Array.isArray(historyIn)) throw new DeskError(400, 'invalid_request', '`history` must be an array')
      const history = historyIn.map((h, i) => {
        const line = asObject(h)
        const author = line.author ?? 'contact'
        if (author !== 'contact' && author !== 'bot') {
          throw new DeskError(400, 'invalid_request', `\`history[${i}].author\` must be "contact" or "bot"`)
        }
        const text = line.text
        if (typeof text !== 'string') throw new DeskError(400, 'invalid_request', `\`history[${i}].text\` must be a string`)
        return { author: author as 'contact' | 'bot', text }
      })
      const ticket = store.createTicket({
        contactId: requiredString(o, 'contactId'),
        subject: requiredString(o, 'subject'),
        description: optionalString(o, 'description'),
        history,
      })
      return { status: 201, body: { ticket } }
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/tickets$/,
    handler: ({ store }, _p, _b, url) => {
      const status = url.searchParams.get('status')
      const tickets = store.tickets.filter((t) => !status || t.status === status).map((t) => store.ticketWithMessages(t.id))
      return { status: 200, body: { tickets } }
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/tickets\/([^/]+)$/,
    handler: ({ store }, [id]) => {
      const ticket = store.ticketWithMessages(id)
      if (!ticket) throw new DeskError(404, 'not_found', `No ticket ${id}`)
      return { status: 200, body: { ticket } }
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/tickets\/([^/]+)\/messages$/,
    formFields: ['text', 'authorType'],
    handler: ({ store }, [id], body, _url, uploads) => {
      const o = asObject(body)
      const authorType = o.authorType ?? 'contact'
      if (authorType !== 'contact' && authorType !== 'system') {
        throw new DeskError(400, 'invalid_request', '`authorType` must be "contact" or "system"')
      }
      const attachments = parseAttachments(o.attachments)
      const text = o.text ?? ''
      if (typeof text !== 'string') throw new DeskError(400, 'invalid_request', '`text` must be a string')
      if (text.trim() === '' && attachments.length === 0 && uploads.length === 0) {
        throw new DeskError(400, 'invalid_request', '`text` is required (or at least one attachment or file)')
      }
      const message = store.postMessage(id, { text, authorType, attachments, uploads })
      return { status: 201, body: { message } }
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/tickets\/([^/]+)\/close$/,
    handler: ({ store }, [id]) => ({ status: 200, body: { ticket: store.close(id) } }),
  },
  {
    method: 'POST',
    pattern: /^\/api\/tickets\/([^/]+)\/assign$/,
    handler: ({ store }, [id], body) => ({ status: 200, body: { ticket: store.assign(id, asObject(body).agentId) } }),
  },
  {
    method: 'POST',
    pattern: /^\/api\/tickets\/([^/]+)\/reply$/,
    formFields: ['agentId', 'text'],
    handler: ({ store }, [id], body, _url, uploads) => {
      const o = asObject(body)
      const attachments = parseAttachments(o.attachments)
      // Like the contact's messages: text, files, or both.
      const hasFiles = attachments.length + uploads.length > 0
      const text = hasFiles && (o.text === undefined || o.text === null || o.text === '') ? '' : requiredString(o, 'text')
      return { status: 201, body: { message: store.reply(id, o.agentId, text, attachments, uploads) } }
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/tickets\/([^/]+)\/solve$/,
    handler: ({ store }, [id], body) => ({ status: 200, body: { ticket: store.solve(id, asObject(body).agentId) } }),
  },
  {
    method: 'GET',
    pattern: /^\/api\/agents$/,
    handler: ({ store }) => ({ status: 200, body: { agents: store.agents } }),
  },
  {
    method: 'GET',
    pattern: /^\/api\/agents\/([^/]+)$/,
    handler: ({ store }, [id]) => {
      const agent = store.getAgent(id)
      if (!agent) throw new DeskError(404, 'not_found', `No agent ${id}`)
      return { status: 200, body: { agent } }
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/webhooks$/,
    handler: ({ store }, _p, body) => {
      const o = asObject(body)
      const url = requiredString(o, 'url')
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        throw new DeskError(400, 'invalid_request', '`url` must be an absolute http(s) URL')
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new DeskError(400, 'invalid_request', '`url` must be an absolute http(s) URL')
      }
      let events: WebhookEvent[] = [...WEBHOOK_EVENTS]
      if (o.events !== undefined && o.events !== null) {
        if (!Array.isArray(o.events) || o.events.length === 0) {
          throw new DeskError(400, 'invalid_request', '`events` must be a non-empty array')
        }
        for (const e of o.events) {
          if (!WEBHOOK_EVENTS.includes(e as WebhookEvent)) {
            throw new DeskError(400, 'invalid_request', `Unknown event ${JSON.stringify(e)}; known: ${WEBHOOK_EVENTS.join(', ')}`)
          }
        }
        events = [...new Set(o.events as WebhookEvent[])]
      }
      const webhook: WebhookSubscription = {
        id: store.nextId('whk'),
        url,
        secret: `whsec_${randomBytes(24).toString('hex')}`,
        events,
        createdAt: new Date().toISOString(),
      }
      store.addWebhook(webhook)
      return { status: 201, body: { webhook } }
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/webhooks$/,
    handler: ({ store }) => ({ status: 200, body: { webhooks: store.webhooks.map(publicWebhook) } }),
  },
  {
    method: 'DELETE',
    pattern: /^\/api\/webhooks\/([^/]+)$/,
    handler: ({ store, dispatcher }, [id]) => {
      if (!store.removeWebhook(id)) throw new DeskError(404, 'not_found', `No webhook ${id}`)
      dispatcher.cancelFor(id)
      return { status: 204 }
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/deliveries$/,
    handler: ({ store }, _p, _b, url) => {
      const webhookId = url.searchParams.get('webhookId')
      const ticketId = url.searchParams.get('ticketId')
      const deliveries = store.deliveries.filter((d) => (!webhookId || d.webhookId === webhookId) && (!ticketId || d.ticketId === ticketId))
      return { status: 200, body: { deliveries } }
    },
  },
]

// ---------- plumbing ----------
export function sendJson(res: ServerResponse, status: number, body?: unknown) {
  if (body === undefined) {
    res.writeHead(status, { 'Cache-Control': 'no-store' })
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  })
  res.end(text)
}

function sendError(res: ServerResponse, err: DeskError, extraHeaders: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v)
  sendJson(res, err.status, { error: { code: err.code, message: err.message } })
}

/** Whether the request carries `Authorization: Bearer <apiToken>` (the API and the served files). */
export function authorized(req: IncomingMessage, apiToken: string): boolean {
  const header = req.headers.authorization ?? ''
  const m = /^Bearer\s+(.+)$/i.exec(header)
  if (!m) return false
  const given = Buffer.from(m[1].trim())
  const expected = Buffer.from(apiToken)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

// ---------- served files ----------
/** `GET /files/<id>/<name>`: an uploaded file, to holders of the API token. Returns the status sent. */
export function serveFile(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, id: string, name: string): number {
  const fail = (e: DeskError) => {
    sendError(res, e, e.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="demo-desk"' } : {})
    return e.status
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(new DeskError(405, 'method_not_allowed', `${req.method} is not allowed on a file`))
  if (!authorized(req, ctx.apiToken)) return fail(new DeskError(401, 'unauthorized', 'Files need `Authorization: Bearer <apiToken>`, like the API'))
  const stored = ctx.store.fileContent(id)
  if (!stored || stored.file.name !== name) return fail(new DeskError(404, 'not_found', `No file ${id}/${name}`))
  const { file, bytes } = stored
  const shown = file.contentType.startsWith('image/') || file.contentType.startsWith('audio/') || file.contentType.startsWith('video/')
  res.writeHead(200, {
    'Content-Type': file.contentType,
    'Content-Length': file.size,
    'Content-Disposition': `${shown ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    // A user's upload is served from the console's origin: it must never run as a page there.
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'private, no-store',
  })
  res.end(req.method === 'HEAD' ? undefined : bytes)
  return 200
}

// ---------- idempotency keys ----------
// A POST with `Idempotency-Key: <key>` is done once: repeating it (a client retrying after a lost answer)
// replays the first 2xx answer instead of creating a second message, ticket or subscription.
const IDEMPOTENCY_KEYS_KEPT = 10_000
const answered = new WeakMap<ApiContext, Map<string, { status: number; body?: unknown }>>()

function idempotencyKeyOf(ctx: ApiContext, req: IncomingMessage, path: string) {
  const key = req.headers['idempotency-key']
  if (req.method !== 'POST' || typeof key !== 'string' || key.trim() === '') return undefined
  let seen = answered.get(ctx)
  if (!seen) {
    seen = new Map()
    answered.set(ctx, seen)
  }
  const id = `${path}\u0000${key}`
  return {
    previous: seen.get(id),
    remember(out: { status: number; body?: unknown }) {
      if (out.status < 200 || out.status >= 300) return
      if (seen.size >= IDEMPOTENCY_KEYS_KEPT) seen.delete(seen.keys().next().value as string)
      seen.set(id, out)
    },
  }
}

/** The body, read whole up to `maxBytes`; past it drained, then a 413 saying the sizes. */
async function readCapped(req: IncomingMessage, maxBytes: number, what: string): Promise<Buffer> {
  try {
    return await readBodyBytes(req, maxBytes, { drain: true })
  } catch (e) {
    if (!(e instanceof BodyTooLargeError)) throw e
    throw new DeskError(413, 'payload_too_large', `The ${what} is ${megabytes(e.size)}; the desk takes at most ${megabytes(maxBytes)}`)
  }
}

/** JSON, or multipart/form-data (text fields + files) on the routes that take files. */
async function readRequestBody(req: IncomingMessage, route: Route, path: string): Promise<{ body: unknown; uploads: Upload[] }> {
  const contentType = req.headers['content-type']
  if (isMultipart(contentType)) {
    if (!route.formFields) {
      req.resume()
      throw new DeskError(
        415,
        'unsupported_media_type',
        `${route.method} ${path} takes a JSON body, not multipart/form-data (only messages and replies take files)`,
      )
    }
    const raw = await readCapped(req, MAX_MULTIPART_BYTES, 'multipart body')
    const { fields, files } = await parseMultipart(raw, contentType!, route.formFields)
    return { body: fields, uploads: files }
  }
  const raw = (await readCapped(req, MAX_BODY_BYTES, 'JSON body')).toString('utf8')
  if (raw.trim() === '') return { body: undefined, uploads: [] }
  try {
    return { body: JSON.parse(raw), uploads: [] }
  } catch {
    throw new DeskError(400, 'invalid_json', 'The body is not valid JSON')
  }
}

/** Handles one /api request. Returns the status sent (for the access log). */
export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
  try {
    if (!authorized(req, ctx.apiToken)) {
      throw new DeskError(401, 'unauthorized', 'Missing or invalid `Authorization: Bearer <apiToken>`')
    }
    const path = url.pathname.replace(/\/+$/, '') || '/'
    let pathMatched = false
    for (const route of routes) {
      const m = route.pattern.exec(path)
      if (!m) continue
      pathMatched = true
      if (route.method !== req.method) continue
      const { body, uploads } = await readRequestBody(req, route, path)
      const params = m.slice(1).map((p) => decodeURIComponent(p))
      const idempotency = idempotencyKeyOf(ctx, req, path)
      if (idempotency?.previous) {
        res.setHeader('Idempotent-Replayed', 'true')
        sendJson(res, idempotency.previous.status, idempotency.previous.body)
        return idempotency.previous.status
      }
      const out = route.handler(ctx, params, body, url, uploads)
      idempotency?.remember(out)
      sendJson(res, out.status, out.body)
      return out.status
    }
    if (pathMatched) throw new DeskError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}`)
    throw new DeskError(404, 'not_found', `No route ${req.method} ${path}`)
  } catch (err) {
    const e = err instanceof DeskError ? err : new DeskError(500, 'internal', err instanceof Error ? err.message : String(err))
    sendError(res, e, e.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="demo-desk"' } : {})
    return e.status
  }
}
