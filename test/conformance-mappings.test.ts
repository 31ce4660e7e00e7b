import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@botpress/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureDelivery, runFixtures } from '../src/fixtures/runFixtures'
import { startStubHelpdesk, type StubHelpdesk } from '../src/fixtures/stubHelpdesk'
import { compileMappingText } from '../src/mapping/loadMapping'
import type { OperationFixture, WebhookFixture } from '../src/mapping/types'
import {
  conformancePlan,
  expectedRequests,
  fixtureJwks,
  operationOf,
  requestLine,
  tokenRequestLines,
  usesDefaultAuth,
  type ConformancePlan,
} from '../src/fixtures/conformancePlan'
import { botpressCaller, PASTED_FILE_HEADER_LIMIT, startIntegrationServer, type IntegrationServer, actionOutput } from '../src/sandbox/integrationServer'
import { startRuntimeEmulator, stateKey, type RuntimeEmulator } from '../src/sandbox/runtime-emulator'
import { bundle } from './support/harness'

/**
 * The suite every mapping in mappings/ must pass (a community mapping too, once added there): a whole
 * hand-off through the SDK server and the runtime emulator, the helpdesk played by a stub that answers with
 * the mapping's own operation fixtures, and the helpdesk's webhooks taken from its webhook fixtures (signed
 * with the integration's real webhook URL in `$webhookUrl`, JWTs with `fixtures.keys`, whose key set the stub
 * serves at the mapping's `jwksUrl`). One token store serves the whole hand-off: a fixture's token requests are
 * expected only while it is empty, and the whole hand-off makes one token request.
 */
const root = join(__dirname, '..')
const yamlIn = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `${dir}/${f}`)
// test/support/conformance/: small mappings proving paths no shipped mapping may take yet (each says which).
const supportFiles = yamlIn('test/support/conformance')
const files = [...yamlIn('mappings'), ...supportFiles]

type Plan = ConformancePlan
const plan = (text: string, file: string) => conformancePlan(compileMappingText(text, file).file)

/**
 * The stub answers each fixture's expected request with that fixture's response (the first route matching wins:
 * checkCredentials' routes come last, so a read it shares with register gets register's answer).
 */
function answerFromFixtures(stub: StubHelpdesk, ops: Plan['ops']) {
  const { checkCredentials, ...rest } = ops
  for (const f of [...Object.values(rest), checkCredentials].filter((f): f is OperationFixture => !!f)) {
    f.expect.requests.forEach((r, i) => {
      const response = f.responses?.[i] ?? { status: 200, body: {} }
      stub.route({ method: r.method.toUpperCase(), path: r.path, respond: () => response })
    })
  }
}

let emulator: RuntimeEmulator
let stub: StubHelpdesk
let integration: IntegrationServer

beforeAll(async () => {
  emulator = await startRuntimeEmulator({ token: 'bp' })
  stub = await startStubHelpdesk()
  // Whole files with their fixtures are pasted on purpose (what is tested is the file as shipped): a header
  // limit above Node's default lets them through; test/configuration-size.test.ts covers the default.
  integration = await startIntegrationServer({
    bundle,
    apiUrl: emulator.url,
    token: 'bp',
    env: { UNIVERSAL_HITL_VENDOR_ORIGIN: stub.url },
    maxHeaderSize: PASTED_FILE_HEADER_LIMIT,
  })
})
afterAll(async () => {
  await integration?.stop()
  await stub?.close()
  await emulator?.close()
})

describe.each(files)('conformance of %s', (file) => {
  const text = readFileSync(join(root, file), 'utf8')
  const p = plan(text, file)
  const reason = typeof p === 'string' ? p : undefined
  if (reason) console.log(`conformance of ${file} skipped: ${reason}`)

  it.skipIf(!!reason)('hands off end to end with the fixtures playing the helpdesk', async () => {
    const { ops, ticketId, hooks } = p as Plan
    const mapping = compileMappingText(text, file)
    const fx = mapping.file.fixtures!
    const slug = file.split('/').pop()!.replace(/\W/g, '').padEnd(12, '0').slice(0, 12)
    const botId = `bot_conf_${slug}_00000000000`
    const bot = new Client({ apiUrl: emulator.url, botId, token: 'bp' })
    const { user: botUser } = await bot.createUser({ tags: {}, name: 'Bot' })
    // The webhook URL the register fixture was written for (the fixture runner's default otherwise).
    const fixtureUrl = (ops.register?.input?.webhookUrl as string | undefined) ?? 'https://webhook.botpress.cloud/wh_fixture'
    const who = { botId, botUserId: botUser.id, integrationId: `intg_${slug}_0000000000000`, integrationAlias: 'uh', webhookId: fixtureUrl.split('/').pop()! }
    const settings = Object.entries(fx.settings ?? {})
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join('\n')
    const bp = botpressCaller(integration.url, who, { mapping: text, settings })
    stub.reset()
    answerFromFixtures(stub, ops)
    const fixtureScope = { settings: fx.settings ?? {}, registration: fx.registration ?? {}, webhookUrl: bp.webhookUrl }
    const jwks = await fixtureJwks(mapping, fixtureScope)
    if (jwks) stub.route({ method: 'GET', path: jwks.path, respond: () => ({ body: jwks.body }) })
    const tokenLines = await tokenRequestLines(mapping, fixtureScope)
    let tokenRequests: string[] | undefined // what the first operation needing a token sent to get it
    const toTokenEndpoint: string[] = [] // every request to the token endpoint the hand-off expects, in order
    const sent = (op: OperationFixture) => {
      // An operation whose requests all give their own auth sends its token-endpoint requests itself, every time.
      if (!usesDefaultAuth(operationOf(mapping, op))) {
        const lines = op.expect.requests.map(requestLine)
        toTokenEndpoint.push(...lines.filter((l) => tokenLines.has(l)))
        return lines
      }
      const lines = expectedRequests(op.expect.requests, tokenLines, tokenRequests !== undefined)
      const minted = lines.filter((l) => tokenLines.has(l))
      if (minted.length && !tokenRequests) tokenRequests = minted
      toTokenEndpoint.push(...minted)
      return lines
    }
    const received = (from: number) => stub.requests.slice(from).map(requestLine)

    // register: the mapping's lifecycle steps, values kept in integration state
    let mark = stub.requests.length
    const reg = await bp.register()
    expect(reg.status, reg.body).toBe(200)
    // checkCredentials first (a bad token fails the save), then the register steps
    expect(received(mark)).toEqual([...(ops.checkCredentials ? sent(ops.checkCredentials) : []), ...(ops.register ? sent(ops.register) : [])])
    const stored = emulator.data.states.get(stateKey(botId, 'integration', who.integrationId, 'registration'))
    const registration = (stored?.state.payload as { values?: Record<string, unknown> } | undefined)?.values ?? {}

    // createUser → Botpress user tagged with the helpdesk's id
    const userInput = ops.createUser!.input ?? {}
    mark = stub.requests.length
    const cu = await bp.action('createUser', { name: userInput.name ?? 'Jane Doe', email: userInput.email ?? 'jane@example.com' })
    expect(cu.status, cu.body).toBe(200)
    expect(received(mark)).toEqual(sent(ops.createUser!))
    const userId = actionOutput(cu, 'userId')
    expect(emulator.data.users.get(userId)!.tags.id).toBe(String(ops.createUser!.expect.result!.externalUserId))

    // startHitl → the ticket and a hitl conversation tagged with its id
    mark = stub.requests.length
    const sh = await bp.action('startHitl', {
      userId,
      title: (ops.createTicket!.input?.title as string) ?? 'Help',
      description: (ops.createTicket!.input?.description as string) ?? 'From the bot',
      hitlSession: ops.createTicket!.input?.hitlSession,
      messageHistory: [
        { source: { type: 'user', userId }, type: 'text', payload: { text: 'Hello' } },
        { source: { type: 'bot' }, type: 'text', payload: { text: 'Let me get a human.' } },
      ],
    })
    expect(sh.status, sh.body).toBe(200)
    expect(received(mark)).toEqual(sent(ops.createTicket!))
    const conversationId = actionOutput(sh, 'conversationId')
    expect(emulator.data.conversations.get(conversationId)).toMatchObject({ channel: 'hitl', tags: { id: ticketId } })

    // the user's message → the helpdesk, acked with its id
    const text0 = (ops.sendMessage!.input?.payload as { text?: string } | undefined)?.text ?? 'Are you there?'
    const { message } = await bot.createMessage({ conversationId, userId: botUser.id, type: 'text', payload: { text: text0, userId }, tags: {} })
    const { conversation } = await bot.getConversation({ id: conversationId })
    mark = stub.requests.length
    const mc = await bp.messageCreated({ type: 'text', payload: { text: text0, userId }, conversation, message, user: botUser })
    expect(mc.status, mc.body).toBe(200)
    expect(received(mark)).toEqual(sent(ops.sendMessage!))
    const messageId = ops.sendMessage!.expect.result?.messageId
    if (messageId !== undefined) expect(emulator.data.messages.get(message.id)!.tags.id).toBe(String(messageId))

    // the helpdesk's webhooks → a Botpress message from the agent, hitlAssigned, hitlStopped
    const scope = { ...fixtureScope, registration: Object.keys(registration).length ? registration : (fx.registration ?? {}) }
    const deliver = async (w: WebhookFixture) => {
      // Signed now (the integration checks replay windows against the real clock), with the fixture's test keys.
      const d = await fixtureDelivery(mapping, scope, w, Date.now(), fx.keys)
      return bp.webhook({ method: d.method, path: d.path, query: typeof d.query === 'string' ? d.query : '', headers: d.headers, body: d.body })
    }
    const expected = hooks.newMessage!.expect.events![0] as { messageId?: string; agent?: { id?: string; name?: string }; message?: { text?: string } }
    const nm = await deliver(hooks.newMessage!)
    expect(nm.status, nm.body).toBe(200)
    const agentMessages = [...emulator.data.messages.values()].filter((m) => m.conversationId === conversationId && m.direction === 'incoming')
    expect(agentMessages).toHaveLength(1)
    if (expected.message?.text) expect(agentMessages[0]!.payload).toMatchObject({ text: expected.message.text })
    const agent = emulator.data.users.get(agentMessages[0]!.userId)!
    if (expected.agent?.id) expect(agent.tags).toMatchObject({ id: expected.agent.id, role: 'agent' })
    if (expected.agent?.name) expect(agent.name).toBe(expected.agent.name)
    const again = await deliver(hooks.newMessage!)
    expect(again.status).toBe(200)
    expect([...emulator.data.messages.values()].filter((m) => m.conversationId === conversationId && m.direction === 'incoming')).toHaveLength(1)

    const events = () => [...emulator.data.events.values()].filter((e) => e.conversationId === conversationId).map((e) => e.type)
    if (hooks.assigned) {
      expect((await deliver(hooks.assigned)).status).toBe(200)
      expect(events()).toContain('hitlAssigned')
    }
    if (hooks.solved) {
      expect((await deliver(hooks.solved)).status).toBe(200)
      expect(events()).toContain('hitlStopped')
    }

    // stopHitl → close the ticket
    mark = stub.requests.length
    const st = await bp.action('stopHitl', { conversationId })
    expect(st.status, st.body).toBe(200)
    expect(received(mark)).toEqual(sent(ops.closeTicket!))

    // one token request (the cache's first fill) for the whole hand-off, besides operations' own
    expect(stub.requests.map(requestLine).filter((l) => tokenLines.has(l))).toEqual(toTokenEndpoint)
    if (tokenRequests) {
      const kept = emulator.data.states.get(stateKey(botId, 'integration', who.integrationId, 'tokens'))
      expect(Object.keys((kept?.state.payload as { tokens?: object } | undefined)?.tokens ?? {}).length).toBeGreaterThan(0)
    }
  })
})

// mappings/ have their own fixture test (test/mappings.test.ts); the support mappings are checked here.
describe.each(supportFiles)('fixtures of %s', (file) => {
  it('pass', async () => {
    const failed = (await runFixtures(readFileSync(join(root, file), 'utf8'), file)).filter((r) => !r.ok)
    expect(failed.map((r) => `${r.name}: ${r.problems.join('; ')}`)).toEqual([])
  })
})
