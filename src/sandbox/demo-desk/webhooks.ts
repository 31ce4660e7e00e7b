// Webhook deliveries: signed POSTs to every subscription, in order per (subscription, ticket), retried with
// backoff on a non-2xx answer or a network error (same delivery id and body, fresh timestamp and signature).
import { createHmac } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { DeskStore, StoreChange } from './store'
import type { Delivery, DeliveryAttempt, WebhookPayload } from './types'

export const DEFAULT_RETRY_DELAYS_MS = [200, 1000, 3000]

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` — the `X-Desk-Signature` header value. */
export function signDelivery(secret: string, timestamp: number | string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`
}

type PostResult = { statusCode: number | null; error: string | null }

export type DispatcherOptions = {
  /** Waits before attempts 2, 3, …; attempts = length + 1. */
  retryDelaysMs: number[]
  /** Per-attempt timeout. */
  timeoutMs: number
  log: (line: string) => void
  onDelivery: (delivery: Delivery) => void
}

export class WebhookDispatcher {
  private readonly queues = new Map<string, Promise<void>>()
  /** Wake-ups of deliveries waiting for their next attempt, by delivery id. */
  private readonly waits = new Map<string, () => void>()
  private readonly inFlight = new Set<http.ClientRequest>()
  private closed = false

  constructor(
    private readonly store: DeskStore,
    private readonly opts: DispatcherOptions,
  ) {}

  /** Turns a store change into one delivery per interested subscription. */
  handle(change: StoreChange) {
    if (!change.webhookEvent || this.closed) return
    const event = change.webhookEvent
    const contact = this.store.getContact(change.ticket.contactId) ?? null
    for (const sub of this.store.webhooks) {
      if (!sub.events.includes(event)) continue
      const id = this.store.nextId('dlv')
      const payload: WebhookPayload = {
        id,
        event,
        createdAt: change.kind === 'message' ? change.message.createdAt : change.ticket.updatedAt,
        ticket: change.ticket,
        contact,
        ...(change.kind === 'message' ? { message: change.message } : {}),
        ...(change.agent ? { agent: change.agent } : {}),
      }
      const delivery: Delivery = {
        id,
        webhookId: sub.id,
        url: sub.url,
        event,
        ticketId: change.ticket.id,
        status: 'pending',
        attempts: [],
        createdAt: new Date().toISOString(),
        finishedAt: null,
        payload,
      }
      this.store.putDelivery(delivery)
      this.opts.onDelivery(structuredClone(delivery))
      this.enqueue(`${sub.id}:${change.ticket.id}`, () => this.run(delivery, sub.secret))
    }
  }

  /** Stops pending deliveries of a removed subscription (the one in flight finishes its attempt). */
  cancelFor(webhookId: string) {
    for (const d of this.store.deliveries) {
      if (d.webhookId !== webhookId || d.status !== 'pending') continue
      this.finish(d.id, 'cancelled')
      this.waits.get(d.id)?.()
    }
  }

  async close() {
    this.closed = true
    for (const req of this.inFlight) req.destroy(new Error('desk closed'))
    this.wakeAll()
    await Promise.allSettled([...this.queues.values()])
  }

  private enqueue(key: string, task: () => Promise<void>) {
    const prev = this.queues.get(key) ?? Promise.resolve()
    const next = prev.then(task, task)
    this.queues.set(key, next)
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key)
    })
  }

  private live(id: string): Delivery | undefined {
    return this.store.liveDelivery(id)
  }

  private finish(id: string, status: Delivery['status']) {
    const d = this.live(id)
    if (d?.status !== 'pending') return
    d.status = status
    d.finishedAt = new Date().toISOString()
    this.opts.onDelivery(structuredClone(d))
  }

  private async run(delivery: Delivery, secret: string) {
    const rawBody = JSON.stringify(delivery.payload)
    const maxAttempts = this.opts.retryDelaysMs.length + 1
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const d = this.live(delivery.id)
      if (d?.status !== 'pending') return
      if (this.closed) return this.finish(d.id, 'cancelled')
      const timestamp = Math.floor(Date.now() / 1000)
      const startedAt = new Date()
      const result = await this.post(d.url, rawBody, {
        'Content-Type': 'application/json',
        'User-Agent': 'DemoDesk-Webhooks/1',
        'X-Desk-Event': d.event,
        'X-Desk-Delivery': d.id,
        'X-Desk-Timestamp': String(timestamp),
        'X-Desk-Signature': signDelivery(secret, timestamp, rawBody),
      })
      const record: DeliveryAttempt = {
        attempt,
        startedAt: startedAt.toISOString(),
        timestamp,
        statusCode: result.statusCode,
        error: result.error,
        durationMs: Date.now() - startedAt.getTime(),
      }
      d.attempts.push(record)
      const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300
      this.opts.log(`webhook ${d.event} ${d.id} → ${d.url} attempt ${attempt}/${maxAttempts}: ${result.statusCode ?? result.error}`)
      if (ok) return this.finish(d.id, 'delivered')
      if (attempt === maxAttempts || this.closed) return this.finish(d.id, this.closed ? 'cancelled' : 'failed')
      this.opts.onDelivery(structuredClone(d))
      await this.wait(d.id, this.opts.retryDelaysMs[attempt - 1])
    }
  }

  private wait(deliveryId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.waits.delete(deliveryId)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.waits.set(deliveryId, done)
    })
  }

  private wakeAll() {
    for (const wake of [...this.waits.values()]) wake()
  }

  private post(url: string, body: string, headers: Record<string, string>): Promise<PostResult> {
    return new Promise((resolve) => {
      let target: URL
      try {
        target = new URL(url)
      } catch {
        return resolve({ statusCode: null, error: 'invalid URL' })
      }
      const lib = target.protocol === 'https:' ? https : http
      // agent: false → one connection per attempt, so receivers can close promptly.
      const req = lib.request(target, {
        method: 'POST',
        agent: false,
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
        timeout: this.opts.timeoutMs,
      })
      this.inFlight.add(req)
      let settled = false
      const settle = (r: PostResult) => {
        this.inFlight.delete(req)
        if (!settled) {
          settled = true
          resolve(r)
        }
      }
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => settle({ statusCode: res.statusCode ?? null, error: null }))
        res.on('error', () => settle({ statusCode: res.statusCode ?? null, error: null }))
      })
      req.on('timeout', () => req.destroy(new Error(`timeout after ${this.opts.timeoutMs} ms`)))
      req.on('error', (err: NodeJS.ErrnoException) => settle({ statusCode: null, error: err.code ?? err.message }))
      req.end(body)
    })
  }
}
