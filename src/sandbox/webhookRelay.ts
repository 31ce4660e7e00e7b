// What webhook.botpress.cloud does for an integration: receives the helpdesk's HTTP request at
// `<base>/<webhookId>[/sub/path]`, hands it to the integration as `webhook_received` (method, sub path, query
// string, headers, raw body) and answers the helpdesk with the integration's status and body.
import { createServer } from 'node:http'
import { listenOnLoopback, readBody } from '../http/localServer'
import type { CallResult } from './integrationServer'

export type RelayedRequest = { method: string; path: string; query: string; headers: Record<string, string>; body: string }
export type RelayLogEntry = { at: Date; method: string; path: string; status: number; ms: number; error?: string }

export type WebhookRelay = { url: string; port: number; close(): Promise<void> }

export async function startWebhookRelay(opts: {
  webhookId: string
  /** `botpressCaller(...).webhook`. */
  forward: (req: RelayedRequest) => Promise<CallResult>
  port?: number
  /** One entry per delivery (no headers, no body: they carry signatures). */
  onRequest?: (entry: RelayLogEntry) => void
}): Promise<WebhookRelay> {
  const prefix = `/${opts.webhookId}`
  const server = createServer(async (req, res) => {
    const started = Date.now()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = (req.method ?? 'POST').toUpperCase()
    const done = (status: number, body: string, contentType: string, error?: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': contentType, ...headers, 'content-length': Buffer.byteLength(body) })
      res.end(body)
      opts.onRequest?.({ at: new Date(), method, path: url.pathname, status, ms: Date.now() - started, error })
    }
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      return done(404, JSON.stringify({ message: `No webhook at ${url.pathname}` }), 'application/json')
    }
    try {
      const body = await readBody(req)
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
      const result = await opts.forward({ method, path: url.pathname.slice(prefix.length) || '/', query: url.search.replace(/^\?/, ''), headers, body })
      const contentType = result.json !== undefined ? 'application/json' : 'text/plain; charset=utf-8'
      // Handshake replies may carry headers the helpdesk checks (e.g. an echoed X-Hook-Secret).
      const { 'content-length': _l, connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, date: _d, ...passed } = result.headers
      done(result.status, result.body, passed['content-type'] ?? contentType, undefined, passed)
    } catch (e) {
      done(502, JSON.stringify({ message: 'the integration could not be reached' }), 'application/json', (e as Error).message)
    }
  })
  const port = await listenOnLoopback(server, opts.port)
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
