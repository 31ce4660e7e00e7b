// Demo Desk: a small in-memory helpdesk (REST API, signed webhooks with retries, agent console) so the whole
// hand-off can be seen without any external account. Plain `node:http`, bound to 127.0.0.1, no Botpress code.
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { listenOnLoopback } from '../../http/localServer'
import { handleApi, sendJson, serveFile } from './api'
import { avatarSvg, CONSOLE_CSP, renderConsole } from './console'
import { DeskStore } from './store'
import type { Agent, Delivery, Message, Ticket } from './types'
import { DEFAULT_RETRY_DELAYS_MS, WebhookDispatcher } from './webhooks'

export * from './types'
export { DeskError } from './errors'
export { DEFAULT_RETRY_DELAYS_MS, signDelivery } from './webhooks'
export { FILE_FIELD, MAX_FILE_BYTES, MAX_FILES_PER_MESSAGE, MAX_MULTIPART_BYTES, MAX_STORED_BYTES } from './files'

export type DemoDeskOptions = {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number
  /** Bearer token of the REST API (and of the console page). Default: a random one. */
  apiToken?: string
  /** Waits before webhook attempts 2, 3, …; attempts = length + 1. Default [200, 1000, 3000]. */
  retryDelaysMs?: number[]
  /** Timeout of one webhook attempt. Default 5000 ms. */
  deliveryTimeoutMs?: number
  /** Console polling interval. Default 1000 ms. */
  pollMs?: number
  /** All uploaded files the desk keeps in memory (507 past it). Default MAX_STORED_BYTES (256 MB). */
  maxStoredFileBytes?: number
  /** One line per API request and per webhook attempt. Tokens and secrets are never logged. */
  log?: (line: string) => void
}

/** What the desk lets its owner read (copies; changing them changes nothing). */
export type DemoDeskStore = Pick<
  DeskStore,
  | 'tickets'
  | 'contacts'
  | 'messages'
  | 'webhooks'
  | 'deliveries'
  | 'agents'
  | 'files'
  | 'getTicket'
  | 'getContact'
  | 'getAgent'
  | 'messagesOf'
  | 'ticketWithMessages'
  | 'fileContent'
>

export type DemoDeskEvents = {
  /** A ticket was created or changed (assigned, solved, closed). */
  ticket: (ticket: Ticket) => void
  /** A message was added (including history lines at ticket creation). */
  message: (message: Message, ticket: Ticket) => void
  /** A delivery was queued, retried or finished. */
  delivery: (delivery: Delivery) => void
}

export type DemoDesk = {
  /** `http://127.0.0.1:<port>` — the console is at `/`, the API under `/api`. */
  url: string
  port: number
  apiToken: string
  store: DemoDeskStore
  agents: Agent[]
  /** Subscribes to changes; returns the unsubscribe function. */
  on<E extends keyof DemoDeskEvents>(event: E, cb: DemoDeskEvents[E]): () => void
  /** Stops the server, cancels pending webhook retries and aborts attempts in flight. */
  close(): Promise<void>
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

export async function startDemoDesk(opts: DemoDeskOptions = {}): Promise<DemoDesk> {
  const apiToken = opts.apiToken ?? `demo_${randomBytes(16).toString('hex')}`
  const log = opts.log ?? (() => {})
  const store = new DeskStore(opts.maxStoredFileBytes)
  const listeners: { [E in keyof DemoDeskEvents]: Set<DemoDeskEvents[E]> } = {
    ticket: new Set(),
    message: new Set(),
    delivery: new Set(),
  }
  const safely = (fn: () => void) => {
    try {
      fn()
    } catch (err) {
      log(`listener error: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  const dispatcher = new WebhookDispatcher(store, {
    retryDelaysMs: opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    timeoutMs: opts.deliveryTimeoutMs ?? 5000,
    log,
    onDelivery: (d) => {
      for (const cb of listeners.delivery) safely(() => cb(structuredClone(d)))
    },
  })
  store.onChange((change) => {
    if (change.kind === 'ticket') for (const cb of listeners.ticket) safely(() => cb(structuredClone(change.ticket)))
    else for (const cb of listeners.message) safely(() => cb(structuredClone(change.message), structuredClone(change.ticket)))
    dispatcher.handle(change)
  })

  let consoleHtml = ''
  const ctx = { store, dispatcher, apiToken }

  const server = http.createServer((req, res) => {
    const started = Date.now()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const done = (status: number) => log(`${req.method} ${url.pathname} ${status} (${Date.now() - started} ms)`)
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      handleApi(ctx, req, res, url).then(done, (err) => {
        sendJson(res, 500, { error: { code: 'internal', message: String(err) } })
        done(500)
      })
      return
    }
    const file = /^\/files\/([^/]+)\/([^/]+)$/.exec(url.pathname)
    if (file) {
      let id = ''
      let name = ''
      try {
        id = decodeURIComponent(file[1]!)
        name = decodeURIComponent(file[2]!)
      } catch {
        // a malformed escape names no file: 404 below
      }
      return done(serveFile(ctx, req, res, id, name))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: { code: 'method_not_allowed', message: `${req.method} is not allowed here` } })
      return done(405)
    }
    if (url.pathname === '/') {
      // The page carries the API token: refuse it to pages that reached us through DNS rebinding.
      const host = (req.headers.host ?? '').replace(/:\d+$/, '')
      if (!LOCAL_HOSTS.has(host)) {
        sendJson(res, 403, { error: { code: 'forbidden', message: 'Open the console at http://127.0.0.1' } })
        return done(403)
      }
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': CONSOLE_CSP,
        'Cache-Control': 'no-store',
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': 'no-referrer',
      })
      res.end(req.method === 'HEAD' ? undefined : consoleHtml)
      return done(200)
    }
    const avatar = /^\/avatars\/([a-z]+)\.svg$/.exec(url.pathname)
    const svg = avatar && avatarSvg(avatar[1])
    if (svg) {
      res.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=3600' })
      res.end(req.method === 'HEAD' ? undefined : svg)
      return done(200)
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204)
      res.end()
      return done(204)
    }
    sendJson(res, 404, { error: { code: 'not_found', message: `No page ${url.pathname}` } })
    done(404)
  })

  const port = await listenOnLoopback(server, opts.port)
  const baseUrl = `http://127.0.0.1:${port}`
  store.baseUrl = baseUrl

  const agents: Agent[] = [
    { id: 'agt_1', name: 'Alice Agent', email: 'alice@demo-desk.local', avatarUrl: `${baseUrl}/avatars/alice.svg` },
    { id: 'agt_2', name: 'Bob Builder', email: 'bob@demo-desk.local', avatarUrl: `${baseUrl}/avatars/bob.svg` },
  ]
  for (const a of agents) store.addAgent(a)
  consoleHtml = renderConsole({ apiToken, agents, pollMs: opts.pollMs })
  log(`Demo Desk listening on ${baseUrl} (console: ${baseUrl}/)`)

  let closing: Promise<void> | undefined
  return {
    url: baseUrl,
    port,
    apiToken,
    store,
    agents: structuredClone(agents),
    on(event, cb) {
      const set = listeners[event] as Set<typeof cb>
      set.add(cb)
      return () => {
        set.delete(cb)
      }
    },
    close() {
      closing ??= (async () => {
        await dispatcher.close()
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
      })()
      return closing
    },
  }
}
