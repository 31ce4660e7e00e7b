import { createHmac } from 'node:crypto'
import { Client } from '@botpress/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Fault } from '../src/sandbox/runtime-emulator'
import { signedAcmeDelivery, startStack } from './support/harness'

type Stack = Awaited<ReturnType<typeof startStack>>

/**
 * The hot path's guarantees through the built bundle behind the real SDK server and the runtime emulator:
 * nothing twice under concurrent or repeated deliveries, nothing lost under Botpress faults, the fewest calls.
 */
describe('hot path: idempotent deliveries through the SDK server', () => {
  let s: Stack
  /** The runtime API as another worker of this integration sees it (x-integration-id set). */
  let otherWorker: Client
  let tickets = 0

  beforeAll(async () => {
    s = await startStack()
    otherWorker = new Client({ apiUrl: s.emulator.url, botId: s.identity.botId, token: 'bp-token', integrationId: s.identity.integrationId })
    s.helpdesk.route({ method: 'GET', path: /^\/api\/agents\//, respond: (r) => ({ body: { agent: { id: r.path.split('/').pop(), name: 'Agent' } } }) })
  })
  afterAll(async () => s?.stop())

  /** A hand-off session opened elsewhere (this worker has never seen it). */
  async function openSession() {
    const ticketId = `T-${++tickets}-${Date.now()}`
    const { conversation } = await otherWorker.createConversation({ channel: 'hitl', tags: { id: ticketId } })
    return { ticketId, conversationId: conversation.id }
  }

  const agentMessage = (ticketId: string, id: string, agent = 'a_7') =>
    signedAcmeDelivery(
      {
        event: 'message.created',
        ticket: { id: ticketId },
        message: { id, text: `text of ${id}`, author: { type: 'agent', id: agent, name: `Agent ${agent}` } },
      },
      { delivery: `dlv-${id}` },
    )
  const messagesIn = (conversationId: string) => [...s.emulator.data.messages.values()].filter((m) => m.conversationId === conversationId)
  const eventsIn = (conversationId: string, type: string) =>
    [...s.emulator.data.events.values()].filter((e) => e.conversationId === conversationId && e.type === type)

  it('identical deliveries at the same moment (pairs, bursts of 5) create each agent message once', async () => {
    const { ticketId, conversationId } = await openSession()
    for (const copies of [2, 2, 5, 5]) {
      const id = `m_burst_${copies}_${Math.random().toString(36).slice(2)}`
      const delivery = agentMessage(ticketId, id)
      const answers = await Promise.all(Array.from({ length: copies }, () => s.bp.webhook(delivery)))
      expect(answers.map((a) => a.status)).toEqual(Array(copies).fill(200))
      expect(messagesIn(conversationId).filter((m) => m.tags.id === id)).toHaveLength(1)
    }
    expect(messagesIn(conversationId)).toHaveLength(4)
  })

  it('a warm worker spends one Botpress call per agent message', async () => {
    const { ticketId } = await openSession()
    await s.bp.webhook(agentMessage(ticketId, 'm_warm_0'))
    s.emulator.clearCalls()
    for (let i = 1; i <= 5; i++) expect((await s.bp.webhook(agentMessage(ticketId, `m_warm_${i}`))).status).toBe(200)
    expect(s.emulator.callCounts()).toEqual({ getOrCreateMessage: 5 })
  })

  it('a ticket that is not ours is ignored, and nothing cached hides it once its session opens', async () => {
    const ticketId = `T-later-${Date.now()}`
    s.emulator.clearCalls()
    expect((await s.bp.webhook(agentMessage(ticketId, 'm_early'))).status).toBe(200)
    expect(s.emulator.callCounts()).toEqual({ listConversations: 1 })
    // Another worker opens the session now; this worker must look again.
    const { conversation } = await otherWorker.createConversation({ channel: 'hitl', tags: { id: ticketId } })
    expect((await s.bp.webhook(agentMessage(ticketId, 'm_later'))).status).toBe(200)
    expect(messagesIn(conversation.id).map((m) => m.tags.id)).toEqual(['m_later'])
  })

  it('Botpress faults with a vendor that redelivers every non-2xx: 0 lost, 0 duplicated over 1,000 deliveries', async () => {
    const { ticketId, conversationId } = await openSession()
    const TOTAL = 1000
    const VENDOR_CONCURRENCY = 16
    const MAX_ATTEMPTS = 20
    const faults: Fault[] = [
      { path: '/v1/chat/messages/get-or-create', status: 503 }, // fails before writing
      { path: '/v1/chat/messages/get-or-create', loseAnswer: true }, // writes, then the answer is lost
      { path: '/v1/chat/messages/get-or-create', delayMs: 30 }, // slow
      { path: '/v1/chat/users/get-or-create', status: 500 },
      { path: '/v1/chat/users/get-or-create', loseAnswer: true },
    ]
    // Deterministic pseudo-random choices, so a failure can be replayed.
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    let attempts = 0
    let lost = 0
    let next = 0
    const vendor = async () => {
      while (next < TOTAL) {
        const i = next++
        // 40 agents, so agent users are created (and faulted) along the way, not only at the start.
        const delivery = agentMessage(ticketId, `m_fault_${i}`, `a_${i % 40}`)
        let delivered = false
        for (let attempt = 0; attempt < MAX_ATTEMPTS && !delivered; attempt++) {
          attempts++
          if (random() < 0.05) s.emulator.injectFault(faults[Math.floor(random() * faults.length)]!)
          delivered = (await s.bp.webhook(delivery)).status === 200
        }
        if (!delivered) lost++
      }
    }
    await Promise.all(Array.from({ length: VENDOR_CONCURRENCY }, vendor))
    s.emulator.clearFaults()
    expect(lost).toBe(0)
    expect(attempts).toBeGreaterThan(TOTAL) // faults did force redeliveries
    const byId = new Map<string, number>()
    for (const m of messagesIn(conversationId)) byId.set(m.tags.id!, (byId.get(m.tags.id!) ?? 0) + 1)
    expect(byId.size).toBe(TOTAL)
    expect([...byId.values()].filter((n) => n !== 1)).toEqual([])
    expect(s.emulator.calls.some((c) => c.status === 0 && c.path === '/v1/chat/messages/get-or-create')).toBe(true)
  }, 120_000)

  it('assigned and solved are announced once under sequential redelivery after faults', async () => {
    const { ticketId, conversationId } = await openSession()
    const assigned = signedAcmeDelivery({ event: 'ticket.assigned', ticket: { id: ticketId }, agentId: 'a_1' }, { delivery: `dlv-assign-${ticketId}` })
    const solved = signedAcmeDelivery({ event: 'ticket.status', ticket: { id: ticketId, status: 'solved' } }, { delivery: `dlv-solve-${ticketId}` })
    const redeliverUntilOk = async (delivery: ReturnType<typeof signedAcmeDelivery>) => {
      for (let i = 0; i < 5; i++) if ((await s.bp.webhook(delivery)).status === 200) return
      throw new Error('never accepted')
    }
    // The event is written but the answer is lost; then the check itself fails once.
    s.emulator.injectFault({ path: '/v1/chat/events', loseAnswer: true })
    s.emulator.injectFault({ method: 'GET', path: '/v1/chat/events', status: 503 })
    await redeliverUntilOk(assigned)
    for (let i = 0; i < 3; i++) await redeliverUntilOk(assigned)
    expect(eventsIn(conversationId, 'hitlAssigned')).toHaveLength(1)
    // Failing before the write loses nothing: the redelivery writes it.
    s.emulator.injectFault({ path: '/v1/chat/events', status: 500 })
    await redeliverUntilOk(solved)
    s.emulator.injectFault({ path: '/v1/chat/events', loseAnswer: true })
    await redeliverUntilOk(solved)
    expect(eventsIn(conversationId, 'hitlStopped')).toHaveLength(1)
  })

  it('concurrent duplicate assignments reaching one worker announce once, and another agent is a new assignment', async () => {
    const { ticketId, conversationId } = await openSession()
    const assign = (agentId: string) =>
      signedAcmeDelivery({ event: 'ticket.assigned', ticket: { id: ticketId }, agentId }, { delivery: `dlv-${agentId}-${ticketId}` })
    const first = assign('a_2')
    const answers = await Promise.all(Array.from({ length: 5 }, () => s.bp.webhook(first)))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
    expect(eventsIn(conversationId, 'hitlAssigned')).toHaveLength(1)
    expect((await s.bp.webhook(assign('a_3'))).status).toBe(200)
    expect(eventsIn(conversationId, 'hitlAssigned')).toHaveLength(2)
  })

  it('registration values are read once, and again once when a signature fails with them (re-registered elsewhere)', async () => {
    // demo-desk verifies with the secret its register step returned ($registration.webhookSecret).
    s.helpdesk.route({ method: 'POST', path: '/api/webhooks', respond: () => ({ status: 201, body: { webhook: { id: 'whk_1', secret: 'secret-A' } } }) })
    const desk = s.withConfiguration({ mapping: 'demo-desk', settings: `baseUrl: ${s.helpdesk.url}\napiToken: desk-token` })
    expect((await desk.register()).status).toBe(200)
    const { ticketId, conversationId } = await openSession()
    const deskReply = (id: string, secret: string) => {
      const raw = JSON.stringify({
        id: `dlv_${id}`,
        event: 'message.created',
        ticket: { id: ticketId },
        message: { id, authorType: 'agent', text: `text of ${id}` },
        agent: { id: 'agt_1', name: 'Alice' },
      })
      const ts = String(Math.floor(Date.now() / 1000))
      const signature = `sha256=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`
      return { method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'x-desk-timestamp': ts, 'x-desk-signature': signature }, body: raw }
    }
    const registrationReads = () => s.emulator.callsTo('GET', '/v1/chat/states/integration/:id/registration').length
    expect((await desk.webhook(deskReply('d1', 'secret-A'))).status).toBe(200)
    s.emulator.clearCalls()
    expect((await desk.webhook(deskReply('d2', 'secret-A'))).status).toBe(200)
    expect(registrationReads()).toBe(0) // kept by the worker
    // Another worker registers again: the desk now signs with a new secret.
    const { state } = await otherWorker.getState({ type: 'integration', id: s.identity.integrationId, name: 'registration' })
    await otherWorker.setState({
      type: 'integration',
      id: s.identity.integrationId,
      name: 'registration',
      payload: { ...state.payload, values: { webhookId: 'whk_2', webhookSecret: 'secret-B' } },
    })
    s.emulator.clearCalls()
    expect((await desk.webhook(deskReply('d3', 'secret-B'))).status).toBe(200)
    expect(registrationReads()).toBe(1)
    // A forged delivery costs at most that one re-read, and is refused.
    s.emulator.clearCalls()
    expect((await desk.webhook(deskReply('d4', 'secret-A'))).status).toBe(401)
    expect(registrationReads()).toBe(1)
    expect(
      messagesIn(conversationId)
        .map((m) => m.tags.id)
        .sort(),
    ).toEqual(['d1', 'd2', 'd3'])
  })
})
