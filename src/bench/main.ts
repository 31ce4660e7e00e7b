// `npm run bench`: speed figures of the engine and the integration, printed with ratios.
// Figures, not assertions: these machines are shared and noisy.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createEngine } from '../engine/createEngine'
import { fixtureDelivery } from '../fixtures/runFixtures'
import { rewriteToStub, startStubHelpdesk } from '../fixtures/stubHelpdesk'
import { compileMappingText, loadMapping } from '../mapping/loadMapping'
import { parseSettings } from '../mapping/parseSettings'
import { shippedMappings } from '../mapping/shippedMappings.generated'
import { botpressCaller, startIntegrationServer } from '../sandbox/integrationServer'
import { validationFigures } from './validationFigures'
import { startRuntimeEmulator } from '../sandbox/runtime-emulator'

const root = join(__dirname, '..')

// Runs in a fresh node against the emulator: require the bundle and answer a `stopHitl` for an unknown
// conversation: the configuration (the chatwoot mapping) is validated and compiled, then one API call fails fast.
const COLD_START = `
const t0 = process.hrtime.bigint()
const integration = require(process.argv[1]).default
integration.handler({ method: 'POST', path: '/', query: '', body: JSON.stringify({ type: 'stopHitl', input: { conversationId: 'conv_unknown' } }), headers: {
  'x-bot-id': 'b', 'x-bot-user-id': 'u', 'x-integration-id': 'i', 'x-integration-alias': 'a', 'x-webhook-id': 'w', 'x-bp-operation': 'action_triggered',
  'x-bp-configuration': Buffer.from(JSON.stringify({ mapping: 'chatwoot', settings: 'baseUrl: http://127.0.0.1:9\\naccountId: 1\\napiToken: abcd1234\\ninboxIdentifier: x' })).toString('base64') } })
  .catch(() => {}).finally(() => { console.log(Number(process.hrtime.bigint() - t0) / 1e6); process.exit(0) })
`
const fmt = (ms: number) => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`)

async function measure(label: string, n: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await fn() // warm-up
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await fn()
  const per = (performance.now() - t0) / n
  console.log(`${label.padEnd(58)} ${fmt(per).padStart(11)}  (${Math.round(1000 / per).toLocaleString('en')}/s, n=${n})`)
  return per
}

async function main() {
  console.log(`universal-hitl benchmarks — node ${process.version}, ${new Date().toISOString()}\n`)
  const bundle = join(root, '.botpress', 'dist', 'index.cjs')
  console.log(`bundle .botpress/dist/index.cjs: ${(statSync(bundle).size / 1024).toFixed(0)} KiB\n`)

  console.log('— cold start of a fresh integration process (what a new Botpress Cloud worker pays once)')
  const cold: number[] = []
  const coldEmulator = await startRuntimeEmulator({ token: 't' })
  for (let i = 0; i < 5; i++) {
    // Asynchronous: the emulator answering the child lives in this process.
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', COLD_START, bundle], { encoding: 'utf8', env: { ...process.env, BP_API_URL: coldEmulator.url, BP_TOKEN: 't' } })
    cold.push(Number(stdout.trim().split('\n').pop()))
  }
  await coldEmulator.close()
  cold.sort((a, b) => a - b)
  console.log(`${'require the bundle + first action (validate, compile chatwoot)'.padEnd(58)} ${fmt(cold[2]!).padStart(11)}  (median of 5)\n`)

  console.log('— mapping compile (parse YAML, schema check, compile every JSONata expression) vs cached load')
  const ratios: string[] = []
  for (const [name, text] of Object.entries(shippedMappings)) {
    const cold = await measure(`compile ${name}`, 30, () => compileMappingText(text, name))
    const settings = Object.fromEntries(Object.entries(compileMappingText(text, name).file.fixtures?.settings ?? {}).map(([k, v]) => [k, v]))
    const settingsText = Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n')
    const hit = await measure(`loadMapping ${name} (cached, as every request does)`, 20_000, () => loadMapping({ mapping: text, settings: settingsText }))
    ratios.push(`${name}: cached load is ${Math.round(cold / hit).toLocaleString('en')}× faster than compiling`)
  }
  console.log(ratios.map((r) => `  ratio ${r}`).join('\n'))
  console.log('')
  validationFigures()

  console.log('\n— webhook routing in the engine (verify HMAC + parse + rules), per delivery')
  const engineTimes: Record<string, number> = {}
  // A rule's lookup steps (a fixture without stepResponses gets 200 {}) go to a local stub, never to the vendor.
  const lookups = await startStubHelpdesk()
  for (const [name, text] of Object.entries(shippedMappings)) {
    const mapping = compileMappingText(text, name)
    const fx = mapping.file.fixtures
    const webhook = fx?.webhooks?.find((w) => w.sign && (w.expect.events?.length ?? 0) > 0 && !w.stepResponses)
    if (!webhook) continue
    const settings = parseSettings((fx!.settings ?? {}) as Record<string, unknown>, mapping.file.settings ?? {})
    const engine = createEngine({ mapping, settings, hash: 'bench' }, { registration: fx!.registration, rewriteUrl: rewriteToStub(lookups.url) })
    const delivery = await fixtureDelivery(mapping, { settings: settings.values, registration: fx!.registration ?? {} }, webhook)
    engineTimes[name] = await measure(`route ${name} "${webhook.name}"`, 2_000, () => engine.routeWebhook(delivery))
  }
  await lookups.close()

  console.log('\n— the same through the built bundle behind the SDK server (HTTP + Botpress API calls to the emulator)')
  const emulator = await startRuntimeEmulator({ token: 't' })
  const desk = await startStubHelpdesk()
  const integration = await startIntegrationServer({ bundle, apiUrl: emulator.url, token: 't' })
  try {
    const text = shippedMappings['demo-desk']!
    const mapping = compileMappingText(text, 'demo-desk')
    const fx = mapping.file.fixtures!
    const settingsText = Object.entries({ ...(fx.settings ?? {}), baseUrl: desk.url }).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n')
    const who = { botId: 'bot_bench_00000000000000000000001', botUserId: 'user_bench_0000000000000000000001', integrationId: 'intg_bench_000000000000000000001', integrationAlias: 'uh', webhookId: 'wh_bench_00000000000000000000001' }
    const bp = botpressCaller(integration.url, who, { mapping: 'demo-desk', settings: settingsText })
    const ping = await measure('SDK server round trip (ping operation)', 500, () => bp.call('ping', {}))
    const webhook = fx.webhooks!.find((w) => w.sign && (w.expect.events?.length ?? 0) > 0)!
    const settings = parseSettings(settingsText, mapping.file.settings ?? {})
    const registration = fx.registration ?? {}
    await emulatorState(emulator.url, who, registration)
    const delivery = await fixtureDelivery(mapping, { settings: settings.values, registration }, webhook)
    const full = await measure('webhook_received (ticket not ours: verify, route, 1 lookup)', 300, () => bp.webhook({ ...delivery, query: '' } as never))
    console.log(`  ratio engine routing is ${((engineTimes['demo-desk'] ?? 0) / full * 100).toFixed(1)}% of a whole webhook request; the SDK round trip ${((ping / full) * 100).toFixed(0)}%`)
  } finally {
    await integration.stop()
    await desk.close()
    await emulator.close()
  }
}

/** Stores the registration the demo-desk mapping verifies with, as register would have. */
async function emulatorState(url: string, who: { botId: string; integrationId: string }, values: Record<string, unknown>) {
  await fetch(`${url}/v1/chat/states/integration/${who.integrationId}/registration`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'x-bot-id': who.botId, 'x-integration-id': who.integrationId },
    body: JSON.stringify({ payload: { values, configHash: 'bench', webhookUrl: 'https://webhook.botpress.cloud/x' } }),
  })
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
