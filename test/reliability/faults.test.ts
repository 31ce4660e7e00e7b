// Faults in both directions, with the Demo Desk (real signed webhooks, redelivered on non-2xx) and the shipped
// demo-desk mapping through the built bundle:
// - integration → helpdesk: a proxy fails 10% of the desk API calls: 429 / 503 with Retry-After (the desk did
//   nothing), 500 after the desk acted, or a connection dropped after the desk acted;
// - helpdesk → integration: a relay fails 10% of deliveries (500 before forwarding, or the answer lost after
//   the integration handled it), and the emulator fails 10% of the integration's Botpress calls around them.
// Counts: user and agent messages delivered once / never / twice (goal: all once).
// Faults are transient: one request is failed at most twice in a row (the retry limit is 2), as a real
// outage of a few hundred milliseconds would be; a longer outage is the vendor's redelivery's job.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actionOutput, type BotpressCaller } from '../../src/sandbox/integrationServer'
import { listenOnLoopback, readBody } from '../../src/http/localServer'
import { startDemoDesk, type DemoDesk } from '../../src/sandbox/demo-desk'
import { keepOutput, rememberSecrets, report, seeded, startBundle } from './support'

type Bundle = Awaited<ReturnType<typeof startBundle>>

const USER_MESSAGES = 150
const AGENT_MESSAGES = 150
const FAULT_RATE = 0.1
const CONCURRENCY = 3
const MAX_FAULTS_IN_A_ROW = 2
const QUIET_MS = 1500
const SETTLE_LIMIT_MS = 60_000

const random = seeded(0xfa17)
const counts: Record<string, number> = {}
const count = (k: string) => {
  counts[k] = (counts[k] ?? 0) + 1
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Limits one key's faults to MAX_FAULTS_IN_A_ROW in a row. */
function transient() {
  const streak = new Map<string, number>()
  return (key: string): boolean => {
    const n = streak.get(key) ?? 0
    const fail = n < MAX_FAULTS_IN_A_ROW && random() < FAULT_RATE
    streak.set(key, fail ? n + 1 : 0)
    return fail
  }
}

/** The desk's API behind a faulty network. */
async function faultyProxy(target: string, active: () => boolean): Promise<{ url: string; server: Server }> {
  const shouldFail = transient()
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const key = `${req.method} ${req.url} ${req.headers['idempotency-key'] ?? body}`
    const fault = active() && shouldFail(key) ? (['429', '503', '500 after acting', 'drop after acting'] as const)[Math.floor(random() * 4)]! : undefined
    if (fault === '429' || fault === '503') {
      count(`helpdesk ${fault} + Retry-After`)
      res.writeHead(Number(fault), { 'content-type': 'application/json', 'retry-after': '0' })
      return res.end(JSON.stringify({ error: { code: 'busy', message: 'try again' } }))
    }
    const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers: forwardable(req), body: body || undefined })
    const text = await upstream.text()
    if (fault === '500 after acting') {
      count('helpdesk 500 after acting')
      res.writeHead(500, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ error: { code: 'internal', message: 'oops' } }))
    }
    if (fault === 'drop after acting') {
      count('helpdesk connection dropped after acting')
      return req.socket.destroy()
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
    res.end(text)
  })
  const port = await listenOnLoopback(server)
  return { url: `http://127.0.0.1:${port}`, server }
}

const forwardable = (req: IncomingMessage) => {
  const h: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) h[k] = v
  return h
}

describe('reliability: helpdesk and Botpress faults, both directions', () => {
  let b: Bundle
  let desk: DemoDesk
  let proxy: Server
  let relay: Server
  let faulting = false

  beforeAll(async () => {
    b = await startBundle()
    desk = await startDemoDesk({ retryDelaysMs: [50, 100, 200, 400, 800, 1600] })
    const p = await faultyProxy(desk.url, () => faulting)
    proxy = p.server
    const settings = `baseUrl: ${p.url}\napiToken: ${desk.apiToken}\n`
    const bp = b.caller('faults', { mapping: 'demo-desk', settings })
    const shouldFail = transient()
    relay = createServer(async (req, res) => {
      const body = await readBody(req)
      const headers = forwardable(req)
      const key = headers['x-desk-delivery'] ?? body
      const fault = faulting && shouldFail(key) ? (random() < 0.5 ? 'refused' : 'answer lost') : undefined
      if (fault === 'refused') {
        count('delivery refused (500) before the integration')
        res.writeHead(500)
        return res.end()
      }
      const r = await bp.webhook({ method: req.method ?? 'POST', path: '/', query: '', headers, body })
      if (fault === 'answer lost') {
        count("delivery handled, the integration's answer lost")
        return req.socket.destroy()
      }
      res.writeHead(r.status, { 'content-type': 'application/json' })
      res.end(r.body)
    })
    const relayPort = await listenOnLoopback(relay)
    const registered = await bp.call('register', { webhookUrl: `http://127.0.0.1:${relayPort}/` })
    expect(registered.status, registered.body).toBe(200)
    rememberSecrets(desk.apiToken, ...desk.store.webhooks.map((w) => w.secret))
    ;(globalThis as Record<string, unknown>).__faults = { bp }
  })

  afterAll(async () => {
    faulting = false
    await desk?.close()
    proxy?.close()
    relay?.close()
    await b?.stop()
  })

  it(`${USER_MESSAGES} user and ${AGENT_MESSAGES} agent messages under ${FAULT_RATE * 100}% faults: each delivered exactly once`, async () => {
    const { bp } = (globalThis as unknown as { __faults: { bp: BotpressCaller } }).__faults
    const started = performance.now()
    const created = await bp.action('createUser', { name: 'Jane Faults', email: 'jane.faults@example.com' })
    expect(created.status, created.body).toBe(200)
    const userId = actionOutput(created, 'userId')
    const hitl = await bp.action('startHitl', { userId, title: 'Faults', description: 'reliability', messageHistory: [] })
    expect(hitl.status, hitl.body).toBe(200)
    const conversationId = actionOutput(hitl, 'conversationId')
    const { conversation } = await b.botClient.getConversation({ id: conversationId })
    const ticketId = conversation.tags.id!
    const { user: botUser } = await b.botClient.getUser({ id: b.identity('faults').botUserId })
    faulting = true

    // The user side: the bot writes each message into the hitl conversation; Botpress hands it to the
    // integration (message_created). A failed hand-over is sent again with the same message (as the bot
    // retrying its send would), so only the integration's idempotency stands between a retry and a duplicate.
    const integrationPaths = [/^\/v1\/chat\/users\/[^/]+$/, /^\/v1\/chat\/messages\/[^/]+$/]
    const sendUser = async (i: number) => {
      const payload = { text: `user-${i}`, userId }
      const { message } = await b.botClient.createMessage({ conversationId, userId: botUser.id, type: 'text', payload, tags: {} })
      for (let attempt = 1; attempt <= 4; attempt++) {
        if (random() < FAULT_RATE) {
          const path = integrationPaths[Math.floor(random() * integrationPaths.length)]!
          b.emulator.injectFault({ path, method: path.source.includes('users') ? 'GET' : 'PUT', status: 503, times: 1 })
          count('Botpress call fault armed (user side: next matching call fails)')
        }
        const r = await bp.messageCreated({ type: 'text', payload, conversation, message, user: botUser })
        if (r.status === 200) return
        count('message_created failed, sent again')
      }
    }
    await inBatches(USER_MESSAGES, sendUser)
    b.emulator.clearFaults()

    // The agent side: the agent replies in the desk; the desk delivers each reply (signed), redelivering
    // until a 2xx; the emulator fails some of the integration's Botpress calls on the way.
    const agentPaths = [
      /^\/v1\/chat\/messages$/,
      /^\/v1\/chat\/conversations$/,
      /^\/v1\/chat\/states\/conversation\/[^/]+\/deliveries$/,
      /^\/v1\/chat\/users\/get-or-create$/,
    ]
    const sendAgent = async (i: number) => {
      if (random() < FAULT_RATE) {
        const path = agentPaths[Math.floor(random() * agentPaths.length)]!
        b.emulator.injectFault({ path, status: 503, times: 1, drop: random() < 0.3 })
        count('Botpress call fault armed (agent side: next matching call fails)')
      }
      const res = await fetch(`${desk.url}/api/tickets/${ticketId}/reply`, {
        method: 'POST',
        headers: { authorization: `Bearer ${desk.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agentId: 'agt_1', text: `agent-${i}` }),
      })
      expect(res.status).toBe(201)
    }
    await inBatches(AGENT_MESSAGES, sendAgent)
    await settle(desk, b)
    faulting = false
    b.emulator.clearFaults()

    const userCounts = new Map<string, number>()
    for (const m of desk.store.messagesOf(ticketId)) if (m.authorType === 'contact') userCounts.set(m.text, (userCounts.get(m.text) ?? 0) + 1)
    const agentCounts = new Map<string, number>()
    for (const m of b.emulator.data.messages.values()) {
      const text = (m.payload as { text?: string }).text
      if (m.conversationId === conversationId && text?.startsWith('agent-')) agentCounts.set(text, (agentCounts.get(text) ?? 0) + 1)
    }
    const tally = (n: number, prefix: string, got: Map<string, number>) => {
      let once = 0
      let never = 0
      let twice = 0
      for (let i = 0; i < n; i++) {
        const c = got.get(`${prefix}-${i}`) ?? 0
        if (c === 0) never++
        else if (c === 1) once++
        else twice++
      }
      return { once, never, twice }
    }
    const user = tally(USER_MESSAGES, 'user', userCounts)
    const agent = tally(AGENT_MESSAGES, 'agent', agentCounts)
    const redelivered = desk.store.deliveries.filter((d) => d.attempts.length > 1).length
    const failedDeliveries = desk.store.deliveries.filter((d) => d.status === 'failed').length
    for (const [k, v] of Object.entries(counts).sort()) report(`faults injected: ${k}: ${v}`)
    report(`faults: desk deliveries ${desk.store.deliveries.length}, redelivered ${redelivered}, given up ${failedDeliveries}`)
    report(`faults: user messages ${USER_MESSAGES}: once ${user.once}, never ${user.never}, twice or more ${user.twice}`)
    report(`faults: agent messages ${AGENT_MESSAGES}: once ${agent.once}, never ${agent.never}, twice or more ${agent.twice}`)
    report(`faults: ${((performance.now() - started) / 1000).toFixed(1)} s`)
    keepOutput(desk.store.deliveries.flatMap((d) => d.attempts.map((a) => `delivery ${d.id} attempt ${a.attempt}: ${a.statusCode ?? a.error}`)))
    expect({ user, agent }).toEqual({ user: { once: USER_MESSAGES, never: 0, twice: 0 }, agent: { once: AGENT_MESSAGES, never: 0, twice: 0 } })
  })
})

async function inBatches(n: number, run: (i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await run(next++)
    }),
  )
}

/** Waits until no delivery is pending and nothing new has reached Botpress for QUIET_MS. */
async function settle(desk: DemoDesk, b: Bundle) {
  const deadline = Date.now() + SETTLE_LIMIT_MS
  let lastCalls = -1
  let quietSince = Date.now()
  while (Date.now() < deadline) {
    const pending = desk.store.deliveries.some((d) => d.status === 'pending')
    if (b.emulator.calls.length !== lastCalls || pending) {
      lastCalls = b.emulator.calls.length
      quietSince = Date.now()
    } else if (Date.now() - quietSince > QUIET_MS) return
    await sleep(100)
  }
}
