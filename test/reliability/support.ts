// Shared pieces of the reliability suite (`npm run test:reliability`): the figures it prints (also kept in
// .test-results/reliability-output.log, which the secrets scan reads), a seeded random source, and the
// built bundle behind the real SDK server with its Botpress client talking to the runtime emulator.
import { appendFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@botpress/client'
import { botpressCaller, startIntegrationServer, type BotpressIdentity, type IntegrationConfiguration } from '../../src/sandbox/integrationServer'
import { startRuntimeEmulator, type RuntimeEmulator } from '../../src/sandbox/runtime-emulator'

export const root = join(__dirname, '..', '..')
export const bundle = join(root, '.botpress', 'dist', 'index.cjs')
export const OUTPUT_LOG = join(root, '.test-results', 'reliability-output.log')
/** Inputs that broke a rule, kept for the report (gitignored). */
export const FAILURES_DIR = join(root, '.reliability-failures')
export const BP_TOKEN = 'bp-reliability-SECRET-token-5521'

mkdirSync(join(root, '.test-results'), { recursive: true })

/** Prints one figure line and keeps it for the secrets scan. */
export function report(line: string) {
  console.log(`[reliability] ${line}`)
  appendFileSync(OUTPUT_LOG, `${line}\n`)
}

/** Output of a process or server the suite started, kept for the secrets scan (not printed). */
export const keepOutput = (lines: string[]) => appendFileSync(OUTPUT_LOG, lines.map((l) => `  | ${l}\n`).join(''))

/** mulberry32: the same sequence on every run, so a failing run can be replayed. */
export function seeded(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Every mapping in mappings/ (read at run time: mappings added later are attacked too). */
export const mappingNames = () =>
  readdirSync(join(root, 'mappings'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort()

export const identityFor = (name: string, botUserId: string): BotpressIdentity => ({
  botId: 'bot_reliability_0000000000000001',
  botUserId,
  integrationId: `intg_rel_${name.replace(/[^a-z0-9]/gi, '_')}`,
  integrationAlias: 'universal-hitl',
  webhookId: `wh_rel_${name.replace(/[^a-z0-9]/gi, '_')}`,
})

/** Emulator + the built integration behind the SDK server. */
export async function startBundle(env: Record<string, string> = {}) {
  const emulator = await startRuntimeEmulator({ token: BP_TOKEN })
  const integration = await startIntegrationServer({ bundle, apiUrl: emulator.url, token: BP_TOKEN, env })
  const botClient = new Client({ apiUrl: emulator.url, botId: identityFor('x', '').botId, token: BP_TOKEN })
  const { user: botUser } = await botClient.createUser({ tags: {}, name: 'Bot' })
  return {
    emulator,
    integration,
    botClient,
    identity: (name: string) => identityFor(name, botUser.id),
    caller: (name: string, configuration: IntegrationConfiguration) => botpressCaller(integration.url, identityFor(name, botUser.id), configuration),
    /** A client acting as the integration `name` (what its handlers see). */
    integrationClient: (name: string) =>
      new Client({
        apiUrl: emulator.url,
        botId: identityFor(name, botUser.id).botId,
        integrationId: identityFor(name, botUser.id).integrationId,
        token: BP_TOKEN,
      }),
    async stop() {
      keepOutput(integration.output)
      await integration.stop()
      await emulator.close()
    },
  }
}

/** Botpress writes (anything but GET) the integration `integrationId` made since `from`. */
export const writesBy = (emulator: RuntimeEmulator, integrationId: string, from = 0) =>
  emulator.calls.slice(from).filter((c) => c.method !== 'GET' && c.headers['x-integration-id'] === integrationId)

/** Resident memory of a process (Linux), in MB. */
export function rssMb(pid: number): number {
  try {
    const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch {
    return 0
  }
}

const SECRETS_FILE = join(root, '.test-results', 'reliability-secrets.json')

/** Secret values a test made up at run time (random tokens), for the secrets scan. Never printed. */
export function rememberSecrets(...values: string[]) {
  const fs = require('node:fs') as typeof import('node:fs')
  const known: string[] = fs.existsSync(SECRETS_FILE) ? JSON.parse(fs.readFileSync(SECRETS_FILE, 'utf8')) : []
  fs.writeFileSync(SECRETS_FILE, JSON.stringify([...new Set([...known, ...values])]))
}

export function rememberedSecrets(): string[] {
  const fs = require('node:fs') as typeof import('node:fs')
  return fs.existsSync(SECRETS_FILE) ? JSON.parse(fs.readFileSync(SECRETS_FILE, 'utf8')) : []
}

/** A secret as it could leak: raw, URL-encoded, base64 (at each of the 3 alignments inside a longer text) and hex. */
export function leakForms(secret: string): { form: string; text: string }[] {
  const forms = [
    { form: 'raw', text: secret },
    { form: 'url-encoded', text: encodeURIComponent(secret) },
    { form: 'hex', text: Buffer.from(secret).toString('hex') },
    { form: 'HEX', text: Buffer.from(secret).toString('hex').toUpperCase() },
  ]
  for (let pad = 0; pad < 3; pad++) {
    // The characters that depend on the secret alone: drop the first ones (mixed with what precedes) and the last.
    const b64 = Buffer.from('x'.repeat(pad) + secret).toString('base64')
    const skip = pad === 0 ? 0 : pad === 1 ? 2 : 3
    forms.push({ form: `base64 (offset ${pad})`, text: b64.slice(skip, b64.length - 4) })
  }
  return forms.filter((f, i, all) => f.text.length >= 6 && all.findIndex((o) => o.text === f.text) === i)
}

/** Every place a secret shows up in `text`, in any of its forms. */
export function leaksIn(text: string, secrets: string[]): string[] {
  const found: string[] = []
  for (const s of secrets) for (const f of leakForms(s)) if (text.includes(f.text)) found.push(`${s.slice(0, 3)}… (${s.length} chars) as ${f.form}`)
  return found
}
