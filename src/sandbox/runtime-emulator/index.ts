// A local, in-memory stand-in for the Botpress runtime API (`BP_API_URL`), good enough for `@botpress/client`:
// same paths, methods, bodies and error JSON. It records every call and can fail, delay or drop chosen calls.
//
// Behaviour worth knowing (details next to the code in routes.ts / store.ts):
// - data is scoped by `x-bot-id`; a record of another bot answers 404 like a missing one;
// - `direction`: messages written by an integration caller (`x-integration-id` present) are `incoming`, by a bot
//   `outgoing`;
// - a record's `integration` is the caller's `x-integration-alias`, else the body's `integrationName`, else
//   `x-integration-id`; get-or-create only matches records of the same integration (and channel);
// - states expire after `expiry` ms without a write (reads do not refresh them); `payload: null` deletes;
// - lists are newest first, `pageSize` items per page behind `meta.nextToken`;
// - files: `upsertFile` answers an `uploadUrl` on the emulator itself (`/_files/...`, no bearer, like a pre-signed
//   URL); PUT the bytes there, then the file is served at its `url` (fileHost.ts). Only upsertFile is routed
//   of the Files API (no getFile/listFiles/deleteFile, no indexing).
// Bodies are checked first against the API's rules: unknown and required fields, lengths, id formats
// (requestRules.ts, 400 InvalidPayload).
// Not emulated: `<alias>:` prefixing of tags and event types in bot-side views (tags are stored and answered
// as written), delivery of scheduled messages/events, `meta.cached` (always false), request and state size
// limits, tag names the integration did not declare, the format of ids in paths and query strings (a
// malformed one is a 404 here), payload schemas of message types, quotas and rate limits.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Conversation, Event, Message, User } from '@botpress/client'
import { ApiFailure, defaultTypeForStatus, errorBody, invalidPayload } from './errors'
import { isObject, parseQuery } from './input'
import { createRoutes, matchRoute, type RouteHooks } from './routes'
import { checkRequestBody, type DeclaredTags } from './requestRules'
export { declaredTagsOf, type DeclaredTags } from './requestRules'
import { Store, stateKey, type EmulatorData, type StoredState } from './store'
import { BodyTooLargeError, readBodyBytes } from '../../http/localServer'
import { FILE_HOST_PREFIX, answerFileHost, fileUrlsOn } from './fileHost'

/** Largest body taken (API call or file upload): the emulator keeps files in memory; the API's own cap is 100 MB. */
const MAX_BODY_BYTES = 100 * 1024 * 1024

export { stateKey, FILE_HOST_PREFIX }
export type { EmulatorData, StoredState }

export type RecordedCall = {
  method: string
  path: string
  query: Record<string, string | string[]>
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty or bytes (file host calls). */
  body: unknown
  /** Calls to the file host (`uploadUrl`, a file's `url`): bytes sent (PUT) or served (GET). */
  bytes?: number
  /** The client operation it reached (`getOrCreateMessage`, ...); undefined when no route matched. */
  op?: string
  /** 0 while in flight, and for dropped calls (the status the emulator would have sent when `loseAnswer`). */
  status: number
  response: unknown
  at: number
}

/**
 * A failure for the next `times` (default 1) calls matching `method` (any when absent) and `path`.
 * `path`: a RegExp, or a string matched whole where `:name` stands for one segment and `*` for anything.
 * Order of effects: wait `delayMs`, then drop the socket (`drop`: nothing written), else answer `status` with
 * an error of `type` (default derived from the status), else handle the call normally; `loseAnswer` then
 * drops the socket instead of answering (the write happened, the caller cannot know it).
 */
export type Fault = {
  method?: string
  path: string | RegExp
  times?: number
  status?: number
  type?: string
  message?: string
  delayMs?: number
  drop?: boolean
  loseAnswer?: boolean
}

export type RuntimeEmulator = {
  url: string
  port: number
  /** Every call, in arrival order. */
  calls: RecordedCall[]
  /** Calls with `method` (`*` for any) whose path matches `pathPattern` (same syntax as `Fault.path`). */
  callsTo(method: string, pathPattern: string | RegExp): RecordedCall[]
  clearCalls(): void
  /**
   * Calls per client operation since the last clearCalls (answered or not), e.g. `{ getOrCreateMessage: 3 }`;
   * `caller` keeps only the integration's (`x-integration-id` set) or only the bot's.
   */
  callCounts(caller?: 'integration' | 'bot'): Record<string, number>
  injectFault(f: Fault): void
  clearFaults(): void
  /** Live records of every bot, for assertions (do not mutate). States are keyed by `stateKey(...)`. */
  data: EmulatorData
  /** Called (with a copy) for every message created, by any caller; returns an unsubscribe function. */
  onMessageCreated(listener: (m: Message) => void): () => void
  onEventCreated(listener: (e: Event) => void): () => void
  close(): Promise<void>
}

export type RuntimeEmulatorOptions = {
  /** 0 (default) picks a free port. */
  port?: number
  /** When set, every call must carry `Authorization: Bearer <token>` (401 Unauthorized otherwise). */
  token?: string
  log?: (line: string) => void
  /** Items per page of the list endpoints (default 100). */
  pageSize?: number
  /**
   * Tags each integration (by id) declared, e.g. `{ [integrationId]: declaredTagsOf(definition) }`: its
   * requests with other tag names are refused, as by the API. Integrations not listed are not checked.
   */
  integrationTags?: Record<string, DeclaredTags>
}

export type { User, Conversation, Message, Event }

const pathMatcher = (pattern: string | RegExp): ((path: string) => boolean) => {
  if (pattern instanceof RegExp) return (path) => pattern.test(path)
  const source = pattern
    .split(/(:\w+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('')
  const re = new RegExp(`^${source}$`)
  return (path) => re.test(path)
}

const methodMatches = (wanted: string | undefined, method: string) => wanted === undefined || wanted === '*' || wanted.toUpperCase() === method

const flattenHeaders = (h: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(
    Object.entries(h)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v!]),
  )

export function startRuntimeEmulator(opts: RuntimeEmulatorOptions = {}): Promise<RuntimeEmulator> {
  const log = opts.log ?? (() => {})
  const store = new Store()
  const calls: RecordedCall[] = []
  const faults: { fault: Fault; matches: (path: string) => boolean; left: number }[] = []
  const messageListeners = new Set<(m: Message) => void>()
  const eventListeners = new Set<(e: Event) => void>()
  const sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>()
  let closed = false

  // Listeners get copies, and their failures must not turn into API errors.
  const notify = <T>(listeners: Set<(x: T) => void>, x: T) => {
    for (const listener of listeners) {
      try {
        listener(structuredClone(x))
      } catch (e) {
        log(`listener failed: ${e instanceof Error ? e.stack : String(e)}`)
      }
    }
  }
  const hooks: RouteHooks = {
    messageCreated: (m) => notify(messageListeners, m),
    eventCreated: (e) => notify(eventListeners, e),
  }
  let baseUrl = ''
  const routes = createRoutes(
    store,
    hooks,
    opts.pageSize ?? 100,
    fileUrlsOn(() => baseUrl),
  )
  // Faulted calls never reach `answer`: their operation is found from the path alone.
  const routeOf = (c: RecordedCall) => {
    try {
      const m = matchRoute(routes, c.method, c.path)
      return m && m !== 'method-not-allowed' ? m.route.op : undefined
    } catch {
      return undefined // a malformed path: counted nowhere, like the API would refuse it
    }
  }

  const takeFault = (method: string, path: string): Fault | undefined => {
    const i = faults.findIndex((f) => methodMatches(f.fault.method, method) && f.matches(path))
    if (i < 0) return undefined
    const entry = faults[i]!
    if (--entry.left <= 0) faults.splice(i, 1)
    return entry.fault
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleeping.delete(entry)
          resolve()
        }, ms),
        wake: resolve,
      }
      sleeping.add(entry)
    })

  /** Status and JSON answer of a call that is not faulted. */
  const answer = (call: RecordedCall, bodyIsJson: boolean): [number, unknown] => {
    try {
      if (opts.token !== undefined && call.headers.authorization !== `Bearer ${opts.token}`)
        throw new ApiFailure('Unauthorized', 'Missing or invalid bearer token')
      const match = matchRoute(routes, call.method, call.path)
      if (match === undefined) throw new ApiFailure('ResourceNotFound', `No route for ${call.method} ${call.path}`)
      if (match !== 'method-not-allowed') call.op = match.route.op
      if (match === 'method-not-allowed') throw new ApiFailure('MethodNotFound', `${call.method} is not supported on ${call.path}`)
      const botId = call.headers['x-bot-id']
      if (!botId) throw invalidPayload('Missing required header x-bot-id')
      if (!bodyIsJson) throw invalidPayload('The request body is not valid JSON')
      if (call.body !== undefined && !isObject(call.body)) throw invalidPayload('The request body must be a JSON object')
      const ctx = {
        botId,
        integrationId: call.headers['x-integration-id'] || undefined,
        integrationAlias: call.headers['x-integration-alias'] || undefined,
      }
      const body = (call.body ?? {}) as Record<string, unknown>
      checkRequestBody(match.route.op, body, ctx.integrationId ? opts.integrationTags?.[ctx.integrationId] : undefined)
      return [match.route.status, match.route.run({ ctx, params: match.params, query: call.query, body })]
    } catch (e) {
      if (e instanceof ApiFailure) return [e.status, errorBody(e.status, e.type, e.message)]
      log(`internal error on ${call.method} ${call.path}: ${e instanceof Error ? e.stack : String(e)}`)
      return [500, errorBody(500, 'Internal', e instanceof Error ? e.message : String(e))]
    }
  }

  const send = (call: RecordedCall, res: ServerResponse, status: number, response: unknown) => {
    const text = JSON.stringify(response)
    call.status = status
    call.response = JSON.parse(text) // a snapshot: stored records keep changing after the call
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
    log(`${call.method} ${call.path} → ${status}`)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    let bytes: Buffer
    try {
      bytes = await readBodyBytes(req, MAX_BODY_BYTES)
    } catch (e) {
      if (!(e instanceof BodyTooLargeError)) throw e
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' })
      return void res.end(JSON.stringify(errorBody(413, 'PayloadTooLarge', e.message)))
    }
    const isFileHost = url.pathname.startsWith(FILE_HOST_PREFIX)
    const raw = isFileHost ? '' : bytes.toString('utf8')
    let body: unknown
    let bodyIsJson = true
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw)
      } catch {
        body = raw
        bodyIsJson = false
      }
    }
    const call: RecordedCall = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: parseQuery(url.search),
      headers: flattenHeaders(req.headers),
      body,
      ...(isFileHost && { bytes: bytes.length }),
      status: 0,
      response: undefined,
      at,
    }
    calls.push(call)

    const fault = takeFault(call.method, call.path)
    if (fault?.delayMs) await sleep(fault.delayMs)
    if (closed || res.destroyed) return void req.socket.destroy()
    if (fault?.drop) {
      log(`${call.method} ${call.path} → dropped (fault)`)
      return void req.socket.destroy()
    }
    if (fault?.status !== undefined) {
      const type = fault.type ?? defaultTypeForStatus(fault.status)
      return send(call, res, fault.status, errorBody(fault.status, type, fault.message ?? `Injected fault (${type})`))
    }
    if (isFileHost) {
      const a = answerFileHost(store, { method: call.method, path: call.path, query: call.query, contentType: call.headers['content-type'], body: bytes })
      call.status = a.status
      if (call.method === 'GET') call.bytes = a.body.length
      if (a.status >= 400) call.response = a.body.toString('utf8')
      res.writeHead(a.status, { ...a.headers, 'content-length': a.body.length })
      res.end(a.body)
      return void log(`${call.method} ${call.path} → ${a.status}`)
    }
    const [status, response] = answer(call, bodyIsJson)
    if (fault?.loseAnswer) {
      log(`${call.method} ${call.path} → ${status}, answer lost (fault)`)
      return void req.socket.destroy()
    }
    send(call, res, status, response)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`request failed: ${e instanceof Error ? e.stack : String(e)}`)
      req.socket.destroy()
    })
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      const port = (server.address() as AddressInfo).port
      baseUrl = `http://127.0.0.1:${port}`
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        calls,
        callsTo: (method, pathPattern) => {
          const matches = pathMatcher(pathPattern)
          return calls.filter((c) => methodMatches(method, c.method) && matches(c.path))
        },
        clearCalls: () => void calls.splice(0),
        callCounts: (caller) => {
          const counts: Record<string, number> = {}
          for (const c of calls) {
            if (caller !== undefined && (caller === 'integration') !== Boolean(c.headers['x-integration-id'])) continue
            const op = c.op ?? routeOf(c)
            if (op) counts[op] = (counts[op] ?? 0) + 1
          }
          return counts
        },
        injectFault: (fault) => {
          const left = fault.times ?? 1
          if (left > 0) faults.push({ fault, matches: pathMatcher(fault.path), left })
        },
        clearFaults: () => void faults.splice(0),
        data: store.data,
        onMessageCreated: (listener) => {
          messageListeners.add(listener)
          return () => void messageListeners.delete(listener)
        },
        onEventCreated: (listener) => {
          eventListeners.add(listener)
          return () => void eventListeners.delete(listener)
        },
        close: () =>
          new Promise<void>((done) => {
            closed = true
            for (const s of sleeping) {
              clearTimeout(s.timer)
              s.wake()
            }
            sleeping.clear()
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}
