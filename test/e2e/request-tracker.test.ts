import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, type Event, type Message } from '@botpress/client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  botpressCaller,
  freePort,
  startIntegrationServer,
  type BotpressCaller,
  type IntegrationServer,
  actionOutput,
} from '../../src/sandbox/integrationServer'
import { startRuntimeEmulator, type RuntimeEmulator } from '../../src/sandbox/runtime-emulator'
import { startWebhookRelay, type RelayedRequest, type WebhookRelay } from '../../src/sandbox/webhookRelay'
import { bundle, root } from '../support/harness'

/**
 * A whole hand-off against a REAL Request Tracker 5 (Debian packages, SQLite, 127.0.0.1), started by
 * test/e2e/request-tracker/rt.sh, with its signed webhook Scrip posting to a local webhook relay (what
 * webhook.botpress.cloud does) in front of the built integration (real SDK server), whose Botpress client
 * talks to the runtime emulator. The integration is configured with the shipped mapping by name
 * (`request-tracker`), as a bot admin would. Both sides are asserted: RT's own records through its REST 2.0
 * API (requestor, owner, status, who wrote each transaction, the bytes of each attachment) and what Botpress
 * received. Files go both ways: the end user's image (a Botpress file on the emulator's file host, which
 * UNIVERSAL_HITL_FILE_HOSTS lets the engine fetch) and an agent's attachment (re-hosted on Botpress).
 */

const RT_SH = join(root, 'test', 'e2e', 'request-tracker', 'rt.sh')

/** Why this machine cannot run a real RT (the suite is then skipped, saying so), or undefined. */
function rtUnavailable(): string | undefined {
  if (process.env.UNIVERSAL_HITL_SKIP_RT === '1') return 'UNIVERSAL_HITL_SKIP_RT=1 is set'
  if (process.platform !== 'linux') return `Request Tracker is installed from Debian packages; this machine runs ${process.platform}`
  if (process.getuid?.() !== 0) return 'rt.sh must run as root (it installs Debian packages and uses /var/cache/request-tracker5)'
  const installed = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status}', 'request-tracker5'], { encoding: 'utf8' })
  if (installed.status === 0 && installed.stdout.trim() === 'installed') return undefined
  if (!existsSync('/usr/bin/apt-get')) return 'request-tracker5 is not installed and there is no apt-get to install it (not a Debian system)'
  return undefined
}

const skipReason = rtUnavailable()
if (skipReason) console.log(`[request-tracker e2e] SKIPPED: ${skipReason}`)

const run = (args: string[], timeoutMs: number) =>
  new Promise<string>((resolve, reject) => {
    execFile('bash', [RT_SH, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`rt.sh ${args[0]} failed: ${error.message}\n${stderr}`))
      else resolve(stdout)
    })
  })

/** Polls until `probe` returns something (not undefined/false), or fails naming what it waited for. */
async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v !== undefined && v !== false) return v as T
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

type Rt = { url: string; apiToken: string; agentToken: string; agentUser: string; queue: string; pid: number }
type Delivery = { event: string; delivery: string; status: number; received?: number; handled?: number }

describe.skipIf(!!skipReason)('request-tracker: a full hand-off with a real RT 5', () => {
  let started = Date.now()
  const timings: string[] = []
  let stateDir: string | undefined
  const webhookSecret = randomBytes(24).toString('hex')
  const userPasswordSecret = randomBytes(24).toString('hex')
  const who = {
    botId: 'bot_rt_e2e_0000000000000000001',
    integrationId: 'intg_universal_hitl_rt_e2e_0001',
    integrationAlias: 'universal-hitl',
    webhookId: `wh_${randomBytes(10).toString('hex')}`,
  }

  let emulator: RuntimeEmulator
  let integration: IntegrationServer
  let relay: WebhookRelay
  let rt: Rt
  let bp: BotpressCaller | undefined
  let bot: Client
  let botUserId: string
  let allPassed = false
  let anyFailed = false
  const deliveries: Delivery[] = []

  // --- RT's REST 2.0 API, as the integration's user ("botpress") or as agent1 ---------------------------
  /** An RT reference to a user, queue or ticket. */
  type RtRef = { id: string }
  /** An item of a collection: a transaction (history) or an attachment (its content). */
  type RtItem = {
    id: string
    Type: string
    Field: string
    OldValue: string
    NewValue: string
    Creator: RtRef
    Content: string
    ContentType: string
    Filename: string
  }
  /**
   * The fields of RT's JSON answers these tests read: a ticket, a user, a queue, an attachment, a collection (`items`); each in
   * its resource's answer only, typed as present because a test reads the resource it asked for. An update
   * answers a list of change messages and an error may be plain text: those are compared whole.
   */
  type RtAnswer = {
    id: string
    Name: string
    RealName: string
    Subject: string
    Status: string
    Owner: RtRef
    Creator: RtRef
    Queue: RtRef
    Requestor: RtRef[]
    Content: string
    items: RtItem[]
  }
  const rest = async (as: 'api' | 'agent', method: string, path: string, body?: unknown) => {
    const res = await fetch(`${rt.url}/REST/2.0${path}`, {
      method,
      headers: { authorization: `token ${as === 'api' ? rt.apiToken : rt.agentToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = text
    }
    return { status: res.status, location: res.headers.get('location') ?? undefined, json: json as RtAnswer }
  }
  const history = async (ticketId: string) => {
    const r = await rest('api', 'GET', `/ticket/${ticketId}/history?fields=Type,Field,OldValue,NewValue,Creator&per_page=100`)
    expect(r.status).toBe(200)
    return r.json.items
      .filter((t) => t.Type !== 'EmailRecord')
      .map((t) => ({ id: String(t.id), type: t.Type, field: t.Field, old: t.OldValue, new: t.NewValue, by: t.Creator.id }))
  }
  /** The files of a transaction (its attachments with a file name), with their bytes as RT stores them. */
  const filesOf = async (transactionId: string) => {
    const list = await rest('api', 'GET', `/transaction/${transactionId}/attachments?fields=Filename,ContentType`)
    expect(list.status).toBe(200)
    const files = []
    for (const a of list.json.items.filter((x) => x.Filename)) {
      // The attachment resource answers its Content in base64 (RT::REST2::Resource::Attachment), so binary is exact.
      const one = await rest('api', 'GET', `/attachment/${a.id}`)
      expect(one.status).toBe(200)
      files.push({ id: String(a.id), name: a.Filename, contentType: a.ContentType, bytes: Buffer.from(one.json.Content, 'base64') })
    }
    return files
  }
  const contentOf = async (transactionId: string) => {
    const r = await rest('api', 'GET', `/transaction/${transactionId}/attachments?fields=Content,ContentType`)
    expect(r.status).toBe(200)
    return r.json.items
      .filter((a) => a.ContentType === 'text/plain')
      .map((a) => a.Content)
      .join('')
  }

  // --- the Botpress side ----------------------------------------------------------------------------
  const eventsOf = (conversationId: string, type: string): Event[] =>
    [...emulator.data.events.values()].filter((e) => e.type === type && e.conversationId === conversationId)
  const incomingOf = (conversationId: string): Message[] =>
    [...emulator.data.messages.values()].filter((m) => m.conversationId === conversationId && m.direction === 'incoming')
  const deliveryOf = (transactionId: string) => deliveries.find((d) => d.delivery === transactionId)

  /**
   * What the HITL plugin does for a message in the hand-off: write it in the hitl conversation, then Botpress
   * calls the channel. A text, or any message type with its payload (e.g. an image).
   */
  async function sendDownstream(conversationId: string, content: string | { type: string; payload: Record<string, unknown> }, userId?: string) {
    const { type, payload: base } = typeof content === 'string' ? { type: 'text', payload: { text: content } } : content
    const payload: Record<string, unknown> = userId ? { ...base, userId } : base
    const { message } = await bot.createMessage({ conversationId, userId: botUserId, type, payload, tags: {} })
    const { conversation } = await bot.getConversation({ id: conversationId })
    const { user } = await bot.getUser({ id: botUserId })
    const r = await bp!.messageCreated({ type, payload, conversation, message, user })
    expect(r.status, r.body).toBe(200)
    return emulator.data.messages.get(message.id)!
  }

  async function step<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now()
    const v = await fn()
    timings.push(`${label} ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    return v
  }

  beforeAll(async () => {
    started = Date.now()
    await step('rt.sh install', () => run(['install'], 900_000))
    stateDir = mkdtempSync(join(tmpdir(), 'universal-hitl-rt-e2e-'))
    emulator = await startRuntimeEmulator({ token: 'bp-rt-e2e' })
    // The end user's files are Botpress files served by the emulator on 127.0.0.1: let the engine fetch them there.
    integration = await startIntegrationServer({ bundle, apiUrl: emulator.url, token: 'bp-rt-e2e', env: { UNIVERSAL_HITL_FILE_HOSTS: '127.0.0.1' } })
    bot = new Client({ apiUrl: emulator.url, botId: who.botId, token: 'bp-rt-e2e' })
    botUserId = (await bot.createUser({ tags: {}, name: 'Bot' })).user.id
    // The relay must listen before RT starts posting; deliveries before `bp` exists are answered 503.
    relay = await startWebhookRelay({
      webhookId: who.webhookId,
      forward: async (req: RelayedRequest) => {
        if (!bp) return { status: 503, headers: { 'content-type': 'application/json' }, body: '{"message":"not ready"}', json: { message: 'not ready' } }
        const r = await bp.webhook(req)
        deliveries.push({
          event: req.headers['x-rt-event'] ?? '',
          delivery: req.headers['x-rt-delivery'] ?? '',
          status: r.status,
          received: r.json?.received,
          handled: r.json?.handled,
        })
        return r
      },
    })
    const port = await freePort()
    const out = await step('rt.sh start', () =>
      run(['start', '--port', String(port), '--hook', relay.url, '--secret', webhookSecret, '--state', stateDir!], 300_000),
    )
    rt = JSON.parse(out.trim().split('\n').at(-1)!)
    const settings = [
      `baseUrl: ${rt.url}`,
      `apiToken: ${rt.apiToken}`,
      `queue: ${rt.queue}`,
      `webhookSecret: ${webhookSecret}`,
      `userPasswordSecret: ${userPasswordSecret}`,
    ].join('\n')
    bp = botpressCaller(integration.url, { ...who, botUserId }, { mapping: 'request-tracker', settings })
    console.log(`[request-tracker e2e] RT ${rt.url} (pid ${rt.pid}, state ${stateDir}), relay ${relay.url}`)
  }, 1_200_000)

  // RT's state and logs are kept when any test failed (the last one runs even then).
  beforeEach(({ onTestFailed }) =>
    onTestFailed(() => {
      anyFailed = true
    }),
  )

  afterAll(async () => {
    // Always by the state dir's pid file (also when `start` failed half-way); harmless when not running.
    if (stateDir) await run(['stop', '--state', stateDir], 60_000).catch((e) => console.error(String(e)))
    await integration?.stop()
    await relay?.close()
    await emulator?.close()
    if (stateDir && allPassed) rmSync(stateDir, { recursive: true, force: true })
    else if (stateDir) console.log(`[request-tracker e2e] RT state and logs kept in ${stateDir} (rt.log, server.log)`)
    console.log(`[request-tracker e2e] suite took ${((Date.now() - started) / 1000).toFixed(1)} s (${timings.join(', ')})`)
  }, 120_000)

  let userId: string
  let rtUserName: string
  let ticket1: string
  let conversation1: string
  let ticket2: string
  let conversation2: string
  let agentUserId: string
  const email = `erin.${randomBytes(4).toString('hex')}@example.com`

  it('register succeeds (RT has no webhook API: nothing to subscribe, the Scrip posts to the relay)', async () => {
    const r = await bp!.call('register', { webhookUrl: relay.url })
    expect(r.status, r.body).toBe(200)
  })

  it('createUser creates an unprivileged RT user bp-<Botpress user id>; a second call finds the same one', async () => {
    const r = await step('createUser', () => bp!.action('createUser', { name: 'Erin Enduser', email }))
    expect(r.status, r.body).toBe(200)
    userId = actionOutput(r, 'userId')
    rtUserName = `bp-${userId}`
    expect(emulator.data.users.get(userId)!.tags).toMatchObject({ id: rtUserName, email })

    const u = await rest('api', 'GET', `/user/${encodeURIComponent(rtUserName)}`)
    expect(u.status).toBe(200)
    expect(u.json).toMatchObject({ Name: rtUserName, RealName: 'Erin Enduser', EmailAddress: email, Privileged: 0, Disabled: '0' })

    // Again: RT answers 400 "Name in use"; the mapping checks the derived password works and returns the Name.
    const again = await bp!.action('createUser', { name: 'Erin Enduser', email })
    expect(again.status, again.body).toBe(200)
    expect(actionOutput(again, 'userId')).toBe(userId)
    expect(emulator.data.users.get(userId)!.tags.id).toBe(rtUserName)
  })

  it('startHitl opens an RT ticket in the queue, requested by the end user, with the transcript', async () => {
    const messageHistory = [
      { source: { type: 'user', userId }, type: 'text', payload: { text: 'My order #1042 has not arrived.' } },
      { source: { type: 'bot' }, type: 'text', payload: { text: "I can't see the delivery status myself." } },
      { source: { type: 'bot' }, type: 'text', payload: { text: 'I have escalated this conversation to a human agent.' } },
    ]
    const r = await step('startHitl', () =>
      bp!.action('startHitl', { userId, title: 'Order #1042 has not arrived', description: 'Escalated by the bot: late delivery.', messageHistory }),
    )
    expect(r.status, r.body).toBe(200)
    conversation1 = actionOutput(r, 'conversationId')
    const conversation = emulator.data.conversations.get(conversation1)!
    expect(conversation.channel).toBe('hitl')
    ticket1 = conversation.tags.id!
    expect(ticket1).toMatch(/^\d+$/)

    const t = await rest('api', 'GET', `/ticket/${ticket1}`)
    expect(t.status).toBe(200)
    expect(t.json.Subject).toBe('Order #1042 has not arrived')
    expect(t.json.Status).toBe('new')
    expect(t.json.Owner.id).toBe('Nobody')
    expect(t.json.Creator.id).toBe('botpress')
    expect(t.json.Requestor.map((x) => x.id)).toEqual([rtUserName])
    const queue = await rest('api', 'GET', `/queue/${t.json.Queue.id}`)
    expect(queue.json.Name).toBe(rt.queue)
    const [create] = await history(ticket1)
    expect(create).toMatchObject({ type: 'Create', by: 'botpress' })
    expect(await contentOf(create!.id)).toBe(
      'Escalated by the bot: late delivery.\n\nConversation with the bot so far:\n' +
        "Erin Enduser: My order #1042 has not arrived.\nBot: I can't see the delivery status myself.\nBot: I have escalated this conversation to a human agent.",
    )
    // Its webhook (create, by the integration's user) was verified and produced nothing.
    expect(deliveryOf(create!.id)).toMatchObject({ event: 'create', status: 200, received: 0 })
  })

  it("the user's messages become the end user's own correspondence, acked with RT's transaction ids, and their echoes produce nothing", async () => {
    const texts = ['Hello? Is anybody there?', 'It was supposed to arrive on Monday.\nTracking says delivered.']
    const sent: Message[] = []
    for (const text of texts) sent.push(await step('user message', () => sendDownstream(conversation1, text, userId)))

    const ids = sent.map((m) => m.tags.id)
    expect(ids.every((id) => /^\d+$/.test(id ?? ''))).toBe(true)
    const h = await history(ticket1)
    for (const [i, id] of ids.entries()) {
      const txn = h.find((x) => x.id === id)
      expect(txn, `transaction ${id} in the history of ticket ${ticket1}`).toMatchObject({ type: 'Correspond', by: rtUserName })
      expect(await contentOf(id!)).toBe(texts[i])
      // The echo (correspond by an unprivileged user) reached the integration, was verified, and matched no rule.
      expect(deliveryOf(id!)).toMatchObject({ event: 'correspond', status: 200, received: 0 })
    }
    // Nothing was written by the integration's user but the ticket's creation.
    expect(h.filter((x) => x.by === 'botpress').map((x) => x.type)).toEqual(['Create'])
    // RT_System opened the ticket on the requestor's first reply; that status change produced nothing either.
    const open = h.find((x) => x.type === 'Status' && x.new === 'open')
    expect(open).toMatchObject({ by: 'RT_System', old: 'new' })
    expect(deliveryOf(open!.id)).toMatchObject({ event: 'status', status: 200, received: 0 })
    expect(incomingOf(conversation1)).toEqual([])
  })

  it('agent1 takes the ticket in RT → hitlAssigned with a Botpress user named after the agent', async () => {
    const agent = await rest('agent', 'GET', `/user/${rt.agentUser}`)
    const r = await step('take', () => rest('agent', 'PUT', `/ticket/${ticket1}`, { Owner: rt.agentUser }))
    expect(r.status).toBe(200)
    expect(r.json).toEqual([`Ticket ${ticket1}: Owner changed from Nobody to ${rt.agentUser}`])

    const [assigned] = await waitFor('hitlAssigned', () => eventsOf(conversation1, 'hitlAssigned').length > 0 && eventsOf(conversation1, 'hitlAssigned'))
    const payload = assigned!.payload as { conversationId: string; userId: string }
    expect(payload.conversationId).toBe(conversation1)
    agentUserId = payload.userId
    const agentUser = emulator.data.users.get(agentUserId)!
    expect(agentUser.name).toBe(agent.json.RealName)
    expect(agentUser.name).toBe('Alice Agent')
    expect(agentUser.tags).toMatchObject({ id: String(agent.json.id), role: 'agent' })

    const t = await rest('api', 'GET', `/ticket/${ticket1}`)
    expect(t.json.Owner.id).toBe(rt.agentUser)
  })

  it("agent1's correspondence becomes a Botpress message from that agent in the hitl conversation", async () => {
    const text = 'Hi Erin, this is Alice. The parcel is at the depot.\nIt will be delivered tomorrow.'
    const r = await step('agent reply', () => rest('agent', 'POST', `/ticket/${ticket1}/correspond`, { Content: text, ContentType: 'text/plain' }))
    expect(r.status).toBe(201)
    const transactionId = r.location!.split('/').pop()!
    const [m] = await waitFor('the agent message', () => incomingOf(conversation1).length > 0 && incomingOf(conversation1))
    expect(m).toMatchObject({ userId: agentUserId, type: 'text', payload: { text }, tags: { id: transactionId } })
    expect(incomingOf(conversation1)).toHaveLength(1)
    expect(deliveryOf(transactionId)).toMatchObject({ event: 'correspond', status: 200, received: 1, handled: 1 })
    expect((await history(ticket1)).find((x) => x.id === transactionId)).toMatchObject({ type: 'Correspond', by: rt.agentUser })
  })

  // A real PNG (1×1) and a "PDF" with arbitrary binary bytes: the bytes must arrive unchanged both ways.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n%\xE2\xE3\xCF\xD3\n', 'latin1'), randomBytes(4096), Buffer.from('\n%%EOF\n')])

  it("the user's image (a Botpress file) becomes an attachment of the end user's correspondence, with the same bytes", async () => {
    const { file } = await bot.uploadFile({
      key: `rt-e2e/${randomBytes(4).toString('hex')}/parcel-label.png`,
      content: png,
      contentType: 'image/png',
      accessPolicies: ['public_content'],
    })
    expect(new URL(file.url!).hostname).toBe('127.0.0.1')
    const m = await step('user image', () =>
      sendDownstream(conversation1, { type: 'image', payload: { imageUrl: file.url, title: 'parcel-label.png' } }, userId),
    )
    const transactionId = m.tags.id!
    expect(transactionId).toMatch(/^\d+$/)
    expect((await history(ticket1)).find((x) => x.id === transactionId)).toMatchObject({ type: 'Correspond', by: rtUserName })
    // The caption (the title) is the text; the file is a real attachment of that transaction.
    expect(await contentOf(transactionId)).toBe('parcel-label.png')
    const files = await filesOf(transactionId)
    expect(files.map(({ name, contentType }) => ({ name, contentType }))).toEqual([{ name: 'parcel-label.png', contentType: 'image/png' }])
    expect(files[0]!.bytes.equals(png)).toBe(true)
    // Its echo lists the file, and still produces nothing (an unprivileged actor).
    expect(deliveryOf(transactionId)).toMatchObject({ event: 'correspond', status: 200, received: 0 })
    expect(incomingOf(conversation1)).toHaveLength(1)
  })

  it("agent1's correspondence with a file becomes the agent's text and a file message, re-hosted on Botpress, with the same bytes", async () => {
    const text = 'Here is your delivery receipt.'
    const r = await step('agent file reply', () =>
      rest('agent', 'POST', `/ticket/${ticket1}/correspond`, {
        Content: text,
        ContentType: 'text/plain',
        Attachments: [{ FileName: 'receipt.pdf', FileType: 'application/pdf', FileContent: pdf.toString('base64') }],
      }),
    )
    expect(r.status).toBe(201)
    const transactionId = r.location!.split('/').pop()!
    const [stored] = await filesOf(transactionId)
    expect(stored).toMatchObject({ name: 'receipt.pdf', contentType: 'application/pdf' })
    expect(stored!.bytes.equals(pdf)).toBe(true)

    const received = await waitFor('the agent file message', () => incomingOf(conversation1).length >= 3 && incomingOf(conversation1).slice(1))
    expect(
      received.map(({ userId, type, tags }) => ({ userId, type, tags })),
      JSON.stringify(received.map((m) => m.payload)),
    ).toEqual([
      { userId: agentUserId, type: 'text', tags: { id: transactionId } },
      { userId: agentUserId, type: 'file', tags: { id: `${transactionId}#1` } },
    ])
    expect(received[0]!.payload).toEqual({ text })
    const { fileUrl, title } = received[1]!.payload as { fileUrl: string; title: string }
    expect(title).toBe('receipt.pdf')
    // Re-hosted: a Botpress file (the emulator's file host), not RT's URL, which the end user could not open.
    expect(fileUrl.startsWith(`${emulator.url}/`)).toBe(true)
    const download = await fetch(fileUrl)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('application/pdf')
    expect(Buffer.from(await download.arrayBuffer()).equals(pdf)).toBe(true)
    // The delivery RT's Scrip made listed the file; RT's token stayed out of the Botpress messages.
    expect(deliveryOf(transactionId)).toMatchObject({ event: 'correspond', status: 200, received: 1, handled: 1 })
    expect(JSON.stringify(received)).not.toContain(rt.apiToken)
  })

  it('agent1 resolves the ticket → hitlStopped', async () => {
    const r = await step('resolve', () => rest('agent', 'PUT', `/ticket/${ticket1}`, { Status: 'resolved' }))
    expect(r.status).toBe(200)
    expect(r.json).toEqual([`Ticket ${ticket1}: Status changed from 'open' to 'resolved'`])
    const [stopped] = await waitFor('hitlStopped', () => eventsOf(conversation1, 'hitlStopped').length > 0 && eventsOf(conversation1, 'hitlStopped'))
    expect(stopped!.payload).toEqual({ conversationId: conversation1 })

    const t = await rest('api', 'GET', `/ticket/${ticket1}`)
    expect(t.json).toMatchObject({ Status: 'resolved', Owner: { id: rt.agentUser } })
    // The whole ticket, as RT recorded it (owner changes hold user ids; EmailRecord transactions left out).
    const agentId = (await rest('api', 'GET', `/user/${rt.agentUser}`)).json.id
    expect((await history(ticket1)).map((x) => `${x.type}${x.field ? `/${x.field}` : ''} by ${x.by}${x.new ? ` → ${x.new}` : ''}`)).toEqual([
      'Create by botpress',
      `Correspond by ${rtUserName}`,
      'Status/Status by RT_System → open',
      `Correspond by ${rtUserName}`,
      `Set/Owner by ${rt.agentUser} → ${agentId}`,
      `SetWatcher/Owner by ${rt.agentUser} → ${agentId}`,
      `Correspond by ${rt.agentUser}`,
      `Correspond by ${rtUserName}`,
      `Correspond by ${rt.agentUser}`,
      `Status/Status by ${rt.agentUser} → resolved`,
    ])
  })

  it('a second session for the same user opens a new ticket; stopHitl from the user side resolves it', async () => {
    const r = await step('startHitl (2)', () =>
      bp!.action('startHitl', {
        userId,
        title: 'Another question',
        messageHistory: [{ source: { type: 'user', userId }, type: 'text', payload: { text: 'One more thing about my account.' } }],
      }),
    )
    expect(r.status, r.body).toBe(200)
    conversation2 = actionOutput(r, 'conversationId')
    expect(conversation2).not.toBe(conversation1)
    ticket2 = emulator.data.conversations.get(conversation2)!.tags.id!
    expect(ticket2).not.toBe(ticket1)
    const t = await rest('api', 'GET', `/ticket/${ticket2}`)
    expect(t.json.Requestor.map((x) => x.id)).toEqual([rtUserName])
    expect(t.json.Status).toBe('new')

    const m = await sendDownstream(conversation2, 'Can I change my delivery address?', userId)
    expect((await history(ticket2)).find((x) => x.id === m.tags.id)).toMatchObject({ type: 'Correspond', by: rtUserName })

    // The plugin's notice to the agent when the user ends the session (no userId: a bot notice) → internal comment.
    const notice = await sendDownstream(conversation2, '( The user has ended the session. )')
    expect((await history(ticket2)).find((x) => x.id === notice.tags.id)).toMatchObject({ type: 'Comment', by: 'botpress' })
    expect(await contentOf(notice.tags.id!)).toBe('[Bot] ( The user has ended the session. )')
    expect(deliveryOf(notice.tags.id!)).toMatchObject({ event: 'comment', status: 200, received: 0 })

    const stop = await step('stopHitl', () => bp!.action('stopHitl', { conversationId: conversation2 }))
    expect(stop.status, stop.body).toBe(200)
    const after = await rest('api', 'GET', `/ticket/${ticket2}`)
    expect(after.json.Status).toBe('resolved')
    const resolve = (await history(ticket2)).find((x) => x.type === 'Status' && x.new === 'resolved')
    expect(resolve).toMatchObject({ by: 'botpress', old: 'open' })

    // The integration's own resolve comes back through the webhook (RT posts it during the PUT) as `solved`:
    // one hitlStopped on the session that stopHitl just ended, which the HITL plugin ignores (the session is
    // no longer active). Nothing else happened: no second event, no message, nothing on the first session.
    await waitFor('the status delivery of the resolve', () => deliveryOf(resolve!.id))
    expect(deliveryOf(resolve!.id)).toMatchObject({ event: 'status', status: 200, received: 1, handled: 1 })
    expect(eventsOf(conversation2, 'hitlStopped')).toHaveLength(1)
    expect(eventsOf(conversation2, 'hitlAssigned')).toHaveLength(0)
    expect(incomingOf(conversation2)).toEqual([])
    expect(eventsOf(conversation1, 'hitlStopped')).toHaveLength(1)
    expect(incomingOf(conversation1)).toHaveLength(3)
  })

  it('every delivery RT sent was verified and answered 200', () => {
    // RT posts synchronously inside each REST call, in transaction order (the Scrip runs before the stock
    // scrips, so the automatic "open" arrives after the correspondence that caused it).
    expect(deliveries.map((d) => d.event)).toEqual([
      ...['create', 'correspond', 'status', 'correspond', 'owner', 'correspond', 'correspond', 'correspond', 'status'],
      ...['create', 'correspond', 'status', 'comment', 'status'],
    ])
    expect(deliveries.filter((d) => d.status !== 200)).toEqual([])
    expect(deliveries.map((d) => d.handled ?? 0).reduce((a, b) => a + b)).toBe(5) // assigned, newMessage, newMessage (with its file), solved, solved (own)
    // The integration logged no warning or error (a refused signature, a failed call, ...).
    expect(integration.output.filter((l) => /\b(error|warn\w*|rejected|refused|failed)\b/i.test(l))).toEqual([])
    // And RT saw every delivery succeed: no Scrip warning (e.g. a 599 timeout while the receiver waited for
    // RT, as when the Scrip posted before RT's COMMIT and the receiver fetched a file back from RT).
    expect(
      readFileSync(join(stateDir!, 'rt.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('webhook:')),
    ).toEqual([])
    allPassed = !anyFailed
  })
})
