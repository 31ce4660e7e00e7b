import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@botpress/client'
import { startStubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import definition from '../../integration.definition'
import { declaredTagsOf, startRuntimeEmulator } from '../../src/sandbox/runtime-emulator'
import { botpressCaller, startIntegrationServer, type IntegrationConfiguration } from '../../src/sandbox/integrationServer'

export const root = join(__dirname, '..', '..')
export const bundle = join(root, '.botpress', 'dist', 'index.cjs')
export const acmeMapping = readFileSync(join(__dirname, 'acme.yaml'), 'utf8')
export const SECRETS = { apiToken: 'tok-SECRET-api-4821', webhookSecret: 'whsec-SECRET-9137' }
export const who = {
  botId: 'bot_conformance_000000000000001',
  botUserId: 'user_bot_000000000000000000001',
  integrationId: 'intg_universal_hitl_00000000001',
  integrationAlias: 'universal-hitl',
  webhookId: 'wh_000000000000000000000000001',
}

export const acmeSettings = (baseUrl: string) => `baseUrl: ${baseUrl}\napiToken: ${SECRETS.apiToken}\nwebhookSecret: ${SECRETS.webhookSecret}\n`

/** Emulator + stub helpdesk + the built integration behind the real SDK server. */
export async function startStack() {
  // The integration may only write the tags its definition declares, as in Botpress.
  const emulator = await startRuntimeEmulator({ token: 'bp-token', integrationTags: { [who.integrationId]: declaredTagsOf(definition) } })
  const helpdesk = await startStubHelpdesk()
  const integration = await startIntegrationServer({ bundle, apiUrl: emulator.url, token: 'bp-token' })
  /** The bot's own view of the runtime API (no x-integration-id): plays the HITL plugin's writes. */
  const botClient = new Client({ apiUrl: emulator.url, botId: who.botId, token: 'bp-token' })
  const { user: botUser } = await botClient.createUser({ tags: {}, name: 'Bot' })
  const identity = { ...who, botUserId: botUser.id }
  const configuration: IntegrationConfiguration = { mapping: acmeMapping, settings: acmeSettings(helpdesk.url) }
  const bp = botpressCaller(integration.url, identity, configuration)
  return {
    emulator,
    helpdesk,
    integration,
    bp,
    botClient,
    identity,
    withConfiguration: (c: IntegrationConfiguration) => botpressCaller(integration.url, identity, c),
    async stop() {
      await integration.stop()
      await helpdesk.close()
      await emulator.close()
    },
  }
}

/** A delivery signed the way the Acme stub desk signs them. */
export function signedAcmeDelivery(body: unknown, opts: { delivery?: string; timestamp?: number; secret?: string; signature?: string | null } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body)
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000))
  const sig = createHmac('sha256', opts.secret ?? SECRETS.webhookSecret)
    .update(`${ts}.${raw}`)
    .digest('hex')
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-acme-timestamp': ts,
    'x-acme-delivery': opts.delivery ?? `d-${Math.random().toString(36).slice(2)}`,
  }
  if (opts.signature !== null) headers['x-acme-signature'] = opts.signature ?? `sha256=${sig}`
  return { method: 'POST', path: '/', headers, body: raw }
}
