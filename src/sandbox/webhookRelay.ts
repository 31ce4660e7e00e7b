// What webhook.botpress.cloud does for an integration: receives the helpdesk's HTTP request at
// `<base>/<webhookId>[/sub/path]`, hands it to the integration as `webhook_received` (method, sub path, query
// string, headers, raw body) and answers the helpdesk with the integration's status and body.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CallResult } from './integrationServer'

export type RelayedRequest = { method: string; path: string; query: string; headers: Record<string, string>; body: string }
export type RelayLogEntry = { at: Date; method: string; path: string; status: number; ms: number; error?: string }

export type WebhookRelay = { url: string; port: number; close(): Promise<void> }

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })

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
    const done = (status: number, body: string, contentType: string, error?: string) => {
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) })
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
      done(result.status, result.body, contentType)
    } catch (e) {
      done(502, JSON.stringify({ message: 'the integration could not be reached' }), 'application/json', (e as Error).message)
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
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
