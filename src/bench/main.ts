// `npm run bench`: universal-hitl side by side with a minimal hand-written HITL integration (src/bench/baseline),
// both built the same way (scripts/build.mjs), behind the same SDK server, against the same runtime emulator
// and stub Demo Desk, interleaved A B A B over 3 rounds. Figures, not assertions: these machines are shared and
// noisy, so every figure carries its spread across rounds.
import { execFile } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { Client } from '@botpress/client'
import { startStubHelpdesk, type StubHelpdesk } from '../fixtures/stubHelpdesk'
import { compileMappingText } from '../mapping/loadMapping'
import { shippedMappings } from '../mapping/shippedMappings.generated'
import {
  botpressCaller,
  botpressHeaders,
  PASTED_FILE_HEADER_LIMIT,
  startIntegrationServer,
  type BotpressCaller,
  type IntegrationServer,
  actionOutput,
} from '../sandbox/integrationServer'
import { startRuntimeEmulator, type RuntimeEmulator } from '../sandbox/runtime-emulator'
import type { WebhookPayload } from '../sandbox/demo-desk/types'
import { duplicateRatesOnTwoWorkers } from './twoWorkers'
import { validationFigures } from './validationFigures'

const root = join(__dirname, '..')
const BUNDLES = { baseline: join(root, 'dist', 'bench-baseline', 'index.cjs'), ours: join(root, '.botpress', 'dist', 'index.cjs') }
type Subject = keyof typeof BUNDLES

// Sizes chosen to keep the whole run near 3 minutes on a shared 2-core machine.
/** 3 as the issue asks; BENCH_ROUNDS=1 for a quick look. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONCURRENCY = 16
/** Deliveries per round of the throughput run (the RSS figure is read after it). */
const THROUGHPUT_DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 800)
/** Warm repetitions per operation when counting Botpress calls. */
const CALLS_SAMPLE = 10
/** Sequential deliveries per growth case (CPU per delivery of the integration process; clock ticks are 10 ms). */
const GROWTH_DELIVERIES = 150
const IN_PROCESS_DELIVERIES = 200
const OPEN_TICKETS = 10_000
const REMEMBERED_DELIVERIES = 2_000
const EVENT_RULES = 200

const TOKEN = 'bench-token'
const who = {
  botId: 'bot_bench_00000000000000000000001',
  botUserId: 'user_bench_0000000000000000000001',
  integrationId: 'intg_bench_000000000000000000001',
  integrationAlias: 'uh',
  webhookId: 'wh_bench_00000000000000000000001',
}
const WEBHOOK_SECRET = 'whsec_bench_0123456789abcdef'

// --- the Demo Desk: a stub answering what both integrations call, signing deliveries like the real desk -------

function deskRoutes(desk: StubHelpdesk) {
  let seq = 0
  desk.route({ method: 'POST', path: '/api/webhooks', respond: () => ({ status: 201, body: { webhook: { id: 'whk_1', secret: WEBHOOK_SECRET } } }) })
  desk.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: `cnt_${++seq}` } } }) })
  desk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: `tkt_${++seq}` } } }) })
  desk.route({ method: 'POST', path: /^\/api\/tickets\/[^/]+\/messages$/, respond: () => ({ status: 201, body: { message: { id: `msg_out_${++seq}` } } }) })
  desk.route({ method: 'POST', path: /^\/api\/tickets\/[^/]+\/close$/, respond: () => ({ body: { ticket: { status: 'closed' } } }) })
}

/** The demo-desk fixture's agent reply, with its own ids, signed as the desk signs it. */
const fixtureReply = (() => {
  const mapping = compileMappingText(shippedMappings['demo-desk']!, 'demo-desk')
  const fixture = mapping.file.fixtures!.webhooks!.find((w) => w.name.startsWith('an agent reply'))!
  return fixture.request.body as Pick<WebhookPayload, 'ticket' | 'message' | 'agent'>
})()

function signed(body: unknown) {
  const raw = JSON.stringify(body)
  const ts = String(Math.floor(Date.now() / 1000))
  const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.${raw}`).digest('hex')}`
  return {
    method: 'POST',
    path: '/',
    query: '',
    headers: { 'content-type': 'application/json', 'x-desk-timestamp': ts, 'x-desk-signature': signature },
    body: raw,
  }
}
const agentReply = (ticketId: string, messageId: string, delivery = messageId) =>
  signed({
    ...fixtureReply,
    id: `dlv_${delivery}`,
    ticket: { ...fixtureReply.ticket, id: ticketId },
    message: { ...fixtureReply.message, id: messageId, ticketId },
  })
const ticketEvent = (event: 'ticket.assigned' | 'ticket.solved', ticketId: string, n: number) =>
  signed({
    id: `dlv_${event}_${ticketId}_${n}`,
    event,
    createdAt: new Date().toISOString(),
    ticket: { ...fixtureReply.ticket, id: ticketId },
    agent: fixtureReply.agent,
  })

// --- one subject's run ------------------------------------------------------------------------------------

type Figures = Record<string, number>

const settingsFor = (desk: StubHelpdesk) => `baseUrl: ${JSON.stringify(desk.url)}\napiToken: "bench-api-token"`

/** demo-desk with `extra` never-matching event rules ahead of its own (growth: rules 4 → 200). */
function mappingWithRules(extra: number): string {
  const text = shippedMappings['demo-desk']!
  const rules = Array.from(
    { length: extra },
    (_, i) => `    - name: never ${i}\n      when: event = "never.${i}"\n      emit: solved\n      ticketId: ticket.id\n`,
  ).join('')
  return text.replace(/\n {2}events:\n/, `\n  events:\n${rules}`)
}

/** utime + stime of a process, in ms (Linux /proc; clock ticks are 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await run(items[next++]!)
    }),
  )
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

type Session = { userId: string; conversationId: string; ticketId: string }

async function runSubject(subject: Subject, round: number): Promise<Figures> {
  const figures: Figures = {}
  const emulator = await startRuntimeEmulator({ token: TOKEN })
  const desk = await startStubHelpdesk()
  deskRoutes(desk)
  let server: IntegrationServer | undefined
  try {
    // The growth case pastes a 200-rule mapping: room for it, as the sandbox has.
    server = await startIntegrationServer({ bundle: BUNDLES[subject], apiUrl: emulator.url, token: TOKEN, maxHeaderSize: PASTED_FILE_HEADER_LIMIT })
    const configuration = { mapping: 'demo-desk', settings: settingsFor(desk) }
    const botClient = new Client({ apiUrl: emulator.url, botId: who.botId, token: TOKEN })
    const { user: botUser } = await botClient.createUser({ tags: {}, name: 'Bot' })
    const identity = { ...who, botUserId: botUser.id }
    const bp = botpressCaller(server.url, identity, configuration)
    must(await bp.register(), 'register')
    let tag = 0
    const uniq = (prefix: string) => `${prefix}_${subject}_${round}_${++tag}`

    const startSession = async (): Promise<Session> => {
      const userId = actionOutput(must(await bp.action('createUser', { name: 'Jane Doe', email: `${uniq('jane')}@example.com` }), 'createUser'), 'userId')
      const conversationId = actionOutput(must(await bp.action('startHitl', { userId, title: 'Help', messageHistory: [] }), 'startHitl'), 'conversationId')
      const ticketId = emulator.data.conversations.get(conversationId)!.tags.id!
      return { userId, conversationId, ticketId }
    }
    const userMessage = async (s: Session, text: string) => {
      const payload = { text, userId: s.userId }
      const { message } = await botClient.createMessage({ conversationId: s.conversationId, userId: identity.botUserId, type: 'text', payload, tags: {} })
      const conversation = emulator.data.conversations.get(s.conversationId)
      const user = emulator.data.users.get(s.userId)
      must(await bp.messageCreated({ type: 'text', payload, conversation, message, user }), 'user message')
    }

    // Botpress calls per operation, warm (one of each first).
    const first = await startSession()
    await userMessage(first, 'warm-up')
    must(await bp.webhook(agentReply(first.ticketId, uniq('m'))), 'agent message')
    const count = async (name: string, run: (i: number) => Promise<unknown>) => {
      emulator.clearCalls()
      for (let i = 0; i < CALLS_SAMPLE; i++) await run(i)
      const counts = emulator.callCounts('integration')
      figures[`calls: ${name}`] = Object.values(counts).reduce((a, b) => a + b, 0) / CALLS_SAMPLE
    }
    const sessions: Session[] = []
    await count('createUser', async () => must(await bp.action('createUser', { name: 'Ann', email: `${uniq('ann')}@example.com` }), 'createUser'))
    const users = [...emulator.data.users.values()].filter((u) => u.name === 'Ann').map((u) => u.id)
    await count('startHitl', async (i) => {
      const conversationId = actionOutput(
        must(await bp.action('startHitl', { userId: users[i], title: 'Help', messageHistory: [] }), 'startHitl'),
        'conversationId',
      )
      sessions.push({ userId: users[i]!, conversationId, ticketId: emulator.data.conversations.get(conversationId)!.tags.id! })
    })
    await count('user message', (i) => userMessage(sessions[i]!, `question ${i}`))
    await count('agent message', async (i) => must(await bp.webhook(agentReply(sessions[i]!.ticketId, uniq('m'))), 'agent message'))
    await count('assigned', async (i) => must(await bp.webhook(ticketEvent('ticket.assigned', sessions[i]!.ticketId, i)), 'assigned'))
    await count('solved', async (i) => must(await bp.webhook(ticketEvent('ticket.solved', sessions[i]!.ticketId, i)), 'solved'))
    await count('stopHitl', async (i) => must(await bp.action('stopHitl', { conversationId: sessions[i]!.conversationId }), 'stopHitl'))

    // Cold start, in a fresh process against the same emulator (registration and sessions exist).
    const cold = await coldStart(
      subject,
      bp,
      agentReply(first.ticketId, uniq('m_cold')),
      Array.from({ length: IN_PROCESS_DELIVERIES }, () => agentReply(first.ticketId, uniq('m_inproc'))),
      emulator,
      configuration,
    )
    figures['cold start: ping (ms)'] = cold.ping
    figures['cold start: first agent message (ms)'] = cold.first
    figures['in-process deliveries/s'] = cold.perSecond

    // Throughput at concurrency 16, real signed deliveries with distinct message ids, over 16 tickets.
    const tickets = [first, ...sessions.slice(0, CONCURRENCY - 1)].map((s) => s.ticketId)
    const deliveries = Array.from({ length: THROUGHPUT_DELIVERIES }, (_, i) => agentReply(tickets[i % tickets.length]!, uniq('m_tp')))
    const latencies: number[] = []
    const cpu0 = cpuMs(server.pid)
    const t0 = performance.now()
    await pool(deliveries, CONCURRENCY, async (d) => {
      const started = performance.now()
      must(await bp.webhook(d), 'delivery')
      latencies.push(performance.now() - started)
    })
    const elapsed = performance.now() - t0
    const cpu = cpuMs(server.pid) - cpu0
    latencies.sort((a, b) => a - b)
    figures['deliveries/s through the SDK server, c=16'] = (THROUGHPUT_DELIVERIES / elapsed) * 1000
    figures['p50 latency per delivery, c=16 (ms)'] = percentile(latencies, 50)
    figures['p99 latency per delivery, c=16 (ms)'] = percentile(latencies, 99)
    figures['integration CPU per delivery (ms)'] = cpu / THROUGHPUT_DELIVERIES
    figures[`RSS of the integration process after the run's ${THROUGHPUT_DELIVERIES + 5 * CALLS_SAMPLE + 2} deliveries (MB)`] = rssMb(server.pid)
    // Growth cases are measured in the first round only (their set-up is most of the run's time).
    if (round > 1) return figures

    // Growth: integration CPU per delivery, small case vs large case.
    const cpuPerDelivery = async (caller: BotpressCaller, make: (i: number) => ReturnType<typeof signed>) => {
      for (let i = 0; i < 20; i++) must(await caller.webhook(make(-i - 1)), 'warm-up')
      const c0 = cpuMs(server!.pid)
      for (let i = 0; i < GROWTH_DELIVERIES; i++) must(await caller.webhook(make(i)), 'growth delivery')
      return (cpuMs(server!.pid) - c0) / GROWTH_DELIVERIES
    }
    const fresh = await startSession()
    figures['growth: remembered deliveries 0 (CPU ms)'] = await cpuPerDelivery(bp, () => agentReply(fresh.ticketId, uniq('m_g0')))
    // What earlier deliveries leave behind: their messages in the conversation (written directly, as a
    // worker would have: delivering them all through the SDK server would double the run's time).
    const worker = new Client({ apiUrl: emulator.url, botId: who.botId, token: TOKEN, integrationId: who.integrationId })
    const { user: someAgent } = await worker.getOrCreateUser({ tags: { id: 'agt_fill', role: 'agent' }, discriminateByTags: ['id', 'role'], name: 'Filler' })
    await pool(
      Array.from({ length: REMEMBERED_DELIVERIES }, (_, i) => i),
      32,
      async (i) =>
        void (await worker.createMessage({
          conversationId: fresh.conversationId,
          userId: someAgent.id,
          type: 'text',
          payload: { text: `earlier ${i}` },
          tags: { id: uniq('m_fill') },
        })),
    )
    figures[`growth: remembered deliveries ${REMEMBERED_DELIVERIES} (CPU ms)`] = await cpuPerDelivery(bp, () => agentReply(fresh.ticketId, uniq('m_g1')))
    if (subject === 'ours') {
      // The baseline has no rules: this case is ours only.
      // Both pasted (demo-desk has 3 rules of its own), so both pay the same for a pasted mapping.
      const small = await cpuPerDelivery(botpressCaller(server.url, identity, { ...configuration, mapping: mappingWithRules(1) }), () =>
        agentReply(fresh.ticketId, uniq('m_r4')),
      )
      const large = await cpuPerDelivery(botpressCaller(server.url, identity, { ...configuration, mapping: mappingWithRules(EVENT_RULES - 3) }), () =>
        agentReply(fresh.ticketId, uniq('m_r200')),
      )
      figures['growth: event rules 4 (CPU ms)'] = small
      figures[`growth: event rules ${EVENT_RULES} (CPU ms)`] = large
    }
    const alone = await startSession()
    figures['growth: open tickets 1 (CPU ms)'] = await cpuPerDelivery(bp, () => agentReply(alone.ticketId, uniq('m_t1')))
    const open = emulator.data.conversations.size
    await pool(
      Array.from({ length: OPEN_TICKETS - open }, (_, i) => i),
      32,
      async (i) => void (await worker.createConversation({ channel: 'hitl', tags: { id: `tkt_open_${i}` } })),
    )
    figures[`growth: open tickets ${OPEN_TICKETS} (CPU ms)`] = await cpuPerDelivery(bp, () => agentReply(alone.ticketId, uniq('m_t2')))
    return figures
  } finally {
    await server?.stop()
    await desk.close()
    await emulator.close()
  }
}

function must<T extends { status: number; body: string }>(r: T, what: string): T {
  if (r.status >= 300) throw new Error(`${what} answered ${r.status}: ${r.body.slice(0, 300)}`)
  return r
}

// The child: require the bundle, answer a ping, then the first agent message, then more (in-process rate).
const COLD_CHILD = `
const { readFileSync } = require('node:fs')
const [bundle, requestsFile] = process.argv.slice(1)
const requests = JSON.parse(readFileSync(requestsFile, 'utf8'))
const t0 = performance.now()
const integration = require(bundle).default
;(async () => {
  const check = (r) => { if (r.status >= 300) throw new Error('status ' + r.status + ' ' + r.body) }
  check(await integration.handler(requests.ping))
  const ping = performance.now() - t0
  check(await integration.handler(requests.first))
  const first = performance.now() - t0
  const t1 = performance.now()
  for (const r of requests.more) check(await integration.handler(r))
  console.log(JSON.stringify({ ping, first, perSecond: requests.more.length / ((performance.now() - t1) / 1000) }))
  process.exit(0)
})().catch((e) => { console.error(e); process.exit(1) })
`

async function coldStart(
  subject: Subject,
  bp: BotpressCaller,
  first: ReturnType<typeof signed>,
  more: ReturnType<typeof signed>[],
  emulator: RuntimeEmulator,
  configuration: object,
) {
  const asRequest = (operation: string, body: unknown) => ({
    method: 'POST',
    path: '/',
    query: '',
    headers: botpressHeaders(who, operation, configuration),
    body: JSON.stringify(body),
  })
  void bp
  const file = join(tmpdir(), `universal-hitl-bench-${process.pid}-${subject}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      ping: asRequest('ping', {}),
      first: asRequest('webhook_received', { req: first }),
      more: more.map((d) => asRequest('webhook_received', { req: d })),
    }),
  )
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', COLD_CHILD, BUNDLES[subject], file], {
    encoding: 'utf8',
    env: { ...process.env, BP_API_URL: emulator.url, BP_TOKEN: TOKEN },
  })
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ping: number; first: number; perSecond: number }
}

// --- bundle figures -----------------------------------------------------------------------------------------

function bundleFigures(subject: Subject): Figures {
  const bytes = readFileSync(BUNDLES[subject])
  return { 'bundle, minified (KB)': bytes.length / 1000, 'bundle, gzip (KB)': gzipSync(bytes).length / 1000 }
}

/** What each package adds to our bundle (esbuild's metafile, written by scripts/build.mjs). */
function dependencyTable(): string[] {
  const meta = JSON.parse(readFileSync(join(root, 'dist', 'integration.meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>
  }
  const output = Object.values(meta.outputs)[0]!
  const byPackage: Record<string, number> = {}
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
    const name = m
      ? m[1]!
      : path.startsWith('lean:')
        ? '(shipped mappings, as built)'
        : path.includes('generated')
          ? '(schema validator, for pasted mappings)'
          : '(universal-hitl code)'
    byPackage[name] = (byPackage[name] ?? 0) + bytesInOutput
  }
  return Object.entries(byPackage)
    .sort((a, b) => b[1] - a[1])
    .filter(([, n]) => n >= 5_000)
    .map(([name, n]) => `  ${name.padEnd(44)} ${(n / 1000).toFixed(0).padStart(6)} KB`)
}

// --- the table ---------------------------------------------------------------------------------------------

/** `why`: what limits the figure when the target is not met, printed in the closing note. */
type Target = { text: string; met: (baseline: number, ours: number) => boolean; why?: string }
const ratioAtMost = (max: number): Target => ({ text: `ours ≤ ${max}× baseline`, met: (b, o) => o <= b * max })
const ratioAtLeast = (min: number): Target => ({ text: `ours ≥ ${min}× baseline`, met: (b, o) => o >= b * min })
const absoluteAtMost = (max: number): Target => ({ text: `ours ≤ ${max}`, met: (_b, o) => o <= max })

const SHARED_LIMIT =
  'both integrations wait on what they share: the emulator, the stub desk and the calling client all run in this one ' +
  'Node process, and the machine is shared (load average printed above); the integration CPU per delivery and the calls ' +
  'per delivery are the figures this machine measures reliably'
const COLD_LIMIT =
  'most of a cold start is V8 compiling the bundle (node --cpu-prof: `wrapSafe`), which grows with its size; what ours ' +
  'has more is what a pasted YAML mapping needs (yaml, the schema validator, jsonata, got: see the table below). The ' +
  'shipped mapping itself is no longer parsed or schema-checked at start'
const GROWTH_NOISE =
  'growth cases are measured in one round only, as integration CPU over 150 deliveries read from /proc in 10 ms clock ' +
  'ticks, on a shared machine: a difference of a few ticks is within the noise of this measurement'
const TARGETS: Record<string, Target> = {
  'bundle, minified (KB)': ratioAtMost(1.8),
  'cold start: ping (ms)': { ...ratioAtMost(1.3), why: COLD_LIMIT },
  'cold start: first agent message (ms)': { ...ratioAtMost(1.3), why: COLD_LIMIT },
  'calls: agent message': absoluteAtMost(1.1),
  'calls: user message': absoluteAtMost(1.1),
  'deliveries/s through the SDK server, c=16': { ...ratioAtLeast(1.5), why: SHARED_LIMIT },
  'p99 latency per delivery, c=16 (ms)': { ...ratioAtMost(0.8), why: SHARED_LIMIT },
  'integration CPU per delivery (ms)': ratioAtMost(1.0),
}
const GROWTH: [small: string, large: string][] = [
  ['growth: event rules 4 (CPU ms)', `growth: event rules ${EVENT_RULES} (CPU ms)`],
  ['growth: open tickets 1 (CPU ms)', `growth: open tickets ${OPEN_TICKETS} (CPU ms)`],
  ['growth: remembered deliveries 0 (CPU ms)', `growth: remembered deliveries ${REMEMBERED_DELIVERIES} (CPU ms)`],
]

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const spread = (xs: number[]) => (xs.length < 2 || median(xs) === 0 ? 0 : ((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100)
const show = (x: number | undefined) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

async function main() {
  console.log(`universal-hitl vs a hand-written baseline — node ${process.version}, ${new Date().toISOString()}`)
  console.log(`${ROUNDS} rounds, interleaved baseline / ours; spread = (max − min) / median across rounds`)
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores\n`,
  )
  const runs: Record<Subject, Figures[]> = { baseline: [], ours: [] }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const subject of ['baseline', 'ours'] as const) {
      const t0 = Date.now()
      runs[subject].push({ ...bundleFigures(subject), ...(await runSubject(subject, round)) })
      console.error(`round ${round} ${subject}: ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    }
  }
  const names = [...new Set([...Object.keys(runs.baseline[0]!), ...Object.keys(runs.ours[0]!)])]
  const rows: string[][] = [['figure', 'baseline', 'ours', 'ratio', 'spread b / o', 'target']]
  const misses: string[] = []
  for (const name of names) {
    const b = runs.baseline.map((f) => f[name]).filter((x): x is number => x !== undefined)
    const o = runs.ours.map((f) => f[name]).filter((x): x is number => x !== undefined)
    const mb = b.length ? median(b) : undefined
    const mo = o.length ? median(o) : undefined
    let target = ''
    const t = TARGETS[name]
    if (t && mo !== undefined) {
      const met = t.met(mb ?? 0, mo)
      target = `${t.text}: ${met ? 'met' : 'NOT met'}`
      if (!met) misses.push(name)
    }
    const growth = GROWTH.find(([, large]) => large === name)
    if (growth && mo !== undefined) {
      const small = median(runs.ours.map((f) => f[growth[0]]).filter((x): x is number => x !== undefined))
      const met = mo <= small * 1.1
      target = `ours ≤ 1.1× its small case (${(mo / small).toFixed(2)}×): ${met ? 'met' : 'NOT met'}`
      if (!met) misses.push(name)
      TARGETS[name] ??= { text: '', met: () => met, why: GROWTH_NOISE }
    }
    const ratio = mb !== undefined && mo !== undefined && mb !== 0 ? `${(mo / mb).toFixed(2)}×` : '—'
    rows.push([name, show(mb), show(mo), ratio, `${spread(b).toFixed(0)}% / ${spread(o).toFixed(0)}%`, target])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`)
    if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  }
  console.log(`\nwhat each dependency adds to our bundle (${(statSync(BUNDLES.ours).size / 1000).toFixed(0)} KB minified):`)
  console.log(dependencyTable().join('\n'))
  const two = await twoWorkers()
  console.log(
    `\nthe same delivery reaching two workers at the same moment (ours, ${two.trials} trials each): duplicated ` +
      `agent messages ${pct(two.agentMessage)}, hitlAssigned ${pct(two.assigned)}, hitlStopped ${pct(two.solved)}`,
  )
  console.log('')
  validationFigures()
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  )
  console.log(`targets not met: ${misses.length ? '' : 'none'}`)
  for (const name of misses) console.log(`- ${name}: ${TARGETS[name]?.why ?? 'see the figures above'}`)
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`
const TWO_WORKER_TRIALS = 40

/** Two integration processes of ours on one emulator (see twoWorkers.ts). */
async function twoWorkers() {
  const emulator = await startRuntimeEmulator({ token: TOKEN })
  const desk = await startStubHelpdesk()
  deskRoutes(desk)
  const servers: IntegrationServer[] = []
  try {
    for (let i = 0; i < 2; i++) servers.push(await startIntegrationServer({ bundle: BUNDLES.ours, apiUrl: emulator.url, token: TOKEN }))
    const configuration = { mapping: 'demo-desk', settings: settingsFor(desk) }
    const workers = servers.map((server) => botpressCaller(server.url, who, configuration)) as [BotpressCaller, BotpressCaller]
    must(await workers[0].register(), 'register')
    let n = 0
    return await duplicateRatesOnTwoWorkers({
      emulator,
      workers,
      worker: new Client({ apiUrl: emulator.url, botId: who.botId, token: TOKEN, integrationId: who.integrationId }),
      trials: TWO_WORKER_TRIALS,
      deliveries: {
        message: (ticketId, id) => agentReply(ticketId, id),
        assigned: (ticketId) => ticketEvent('ticket.assigned', ticketId, ++n),
        solved: (ticketId) => ticketEvent('ticket.solved', ticketId, ++n),
      },
    })
  } finally {
    for (const server of servers) await server.stop()
    await desk.close()
    await emulator.close()
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
