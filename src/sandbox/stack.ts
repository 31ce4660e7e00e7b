// Everything `npm start` runs, started in order and stopped in reverse: the runtime emulator, the Demo Desk (or
// nothing, for an external helpdesk), the built integration behind the real SDK server, the webhook relay, the
// `register` call, and the HITL driver playing the Botpress side.
import { randomBytes } from 'node:crypto'
import { Client } from '@botpress/client'
import { createCapture, type Captured } from '../fixtures/captureDeliveries'
import { REQUEST_LOG_TAG } from '../http/requestLog'
import { loadMapping } from '../mapping/loadMapping'
import { startDemoDesk, type DemoDesk } from './demo-desk'
import { startHitlDriver, IntegrationCallError, type HitlDriver, type HitlDriverOptions } from './hitlDriver'
import {
  botpressCaller,
  PASTED_FILE_HEADER_LIMIT,
  startIntegrationServer,
  type BotpressCaller,
  type BotpressIdentity,
  type CallResult,
  type IntegrationServer,
} from './integrationServer'
import { FILE_HOST_PREFIX, startRuntimeEmulator, stateKey, type RuntimeEmulator } from './runtime-emulator'
import { startWebhookRelay, type WebhookRelay } from './webhookRelay'

const WEBCHAT_ID = 'intg_webchat_sandbox'

export type Progress = <T>(label: string, run: () => Promise<T>, detail?: (value: T) => string) => Promise<T>
const silent: Progress = (_label, run) => run()

export type SandboxOptions = {
  /** Path of `.botpress/dist/index.cjs`. */
  bundle: string
  /** Without `mapping`: the Demo Desk is started and used with the shipped `demo-desk` mapping. */
  mapping?: string
  settings?: string
  /** A fixed relay port; the webhook URL is then http://127.0.0.1:<port>/wh_sandbox (default: random port and id). */
  relayPort?: number
  /** Token of the Demo Desk's API (default: a random one). */
  deskApiToken?: string
  /** Demo Desk webhook retry waits (ms). */
  deskRetryDelaysMs?: number[]
  endUser?: HitlDriverOptions['endUser']
  /** Line loggers (already masked by the caller if needed). */
  log?: {
    botpress?: (line: string) => void
    helpdesk?: (line: string) => void
    integration?: (line: string) => void
    relay?: (line: string) => void
    calls?: (line: string) => void
  }
  progress?: Progress
  /** `--record`: every delivery the relay receives is also written to this file as a webhook fixture. */
  record?: { file: string; onCaptured?: (c: Captured) => void; onError?: (e: Error) => void }
}

/** A call to the integration, logged as `operation [type] → status (ms)` (never headers: they carry the configuration). */
function loggedCaller(bp: BotpressCaller, log: ((line: string) => void) | undefined): BotpressCaller {
  if (!log) return bp
  const timed = async (what: string, run: () => Promise<CallResult>) => {
    const started = Date.now()
    try {
      const r = await run()
      log(`${what} → ${r.status} (${Date.now() - started} ms)`)
      return r
    } catch (e) {
      log(`${what} → ${(e as Error).message}`)
      throw e
    }
  }
  return {
    ...bp,
    call: (operation, body) => timed(operation, () => bp.call(operation, body)),
    register: () => timed('register', () => bp.register()),
    unregister: () => timed('unregister', () => bp.unregister()),
    action: (type, input) => timed(`action_triggered ${type}`, () => bp.action(type, input)),
    messageCreated: (body) => timed(`message_created ${body.type}`, () => bp.messageCreated(body)),
    webhook: (req) => timed(`webhook_received ${req.method ?? 'POST'} ${req.path ?? '/'}`, () => bp.webhook(req)),
  }
}

export type Sandbox = ReturnType<typeof createSandbox>

export function createSandbox(opts: SandboxOptions) {
  const progress = opts.progress ?? silent
  const token = `bp_sandbox_${randomBytes(12).toString('hex')}`
  const closers: { name: string; run: () => Promise<void> }[] = []
  let closing: Promise<void> | undefined
  let registered = false

  const s = {
    token,
    usesDemoDesk: opts.mapping === undefined,
    emulator: undefined as RuntimeEmulator | undefined,
    desk: undefined as DemoDesk | undefined,
    integration: undefined as IntegrationServer | undefined,
    relay: undefined as WebhookRelay | undefined,
    identity: undefined as BotpressIdentity | undefined,
    bp: undefined as BotpressCaller | undefined,
    driver: undefined as HitlDriver | undefined,
    mapping: opts.mapping ?? 'demo-desk',
    settings: opts.settings,
    /** Process ids this sandbox started (the integration). */
    get pids(): number[] {
      return s.integration ? [s.integration.pid] : []
    },

    /** Starts every piece. Throws at the first failure; `close()` then stops what did start. */
    async start() {
      // Each runtime API call is logged with who made it: the integration, the bot (the driver) or webchat; a
      // file host call (upload or file URL) carries no identity, like a pre-signed URL: whoever holds the URL.
      const apiLog = opts.log?.botpress
      const callerOf = (line: string) => {
        const calls = s.emulator?.calls ?? []
        let call: (typeof calls)[number] | undefined
        for (let i = calls.length - 1; i >= 0 && !call; i--) if (`${calls[i]!.method} ${calls[i]!.path} → ${calls[i]!.status}` === line) call = calls[i]
        const id = call?.headers['x-integration-id']
        if (!call) return ''
        if (call.path.startsWith(FILE_HOST_PREFIX)) return 'url holder'
        return !id ? 'bot' : id === s.identity?.integrationId ? 'integration' : id === WEBCHAT_ID ? 'webchat' : id
      }
      const emulator = await progress(
        'starting Botpress runtime emulator',
        () => startRuntimeEmulator({ token, log: apiLog && ((line) => apiLog(`${callerOf(line).padEnd(11)} ${line}`)) }),
        (e) => e.url,
      )
      s.emulator = emulator
      closers.push({ name: 'runtime emulator', run: () => emulator.close() })

      if (s.usesDemoDesk) {
        const desk = await progress(
          'starting Demo Desk',
          () => startDemoDesk({ apiToken: opts.deskApiToken, retryDelaysMs: opts.deskRetryDelaysMs, log: opts.log?.helpdesk }),
          (d) => `${d.url}, agent console ${d.url}/`,
        )
        s.desk = desk
        closers.push({ name: 'Demo Desk', run: () => desk.close() })
        s.settings = `baseUrl: ${desk.url}\napiToken: ${desk.apiToken}\n`
      }

      const logVendorRequests = !s.usesDemoDesk && !!opts.log?.helpdesk
      const integrationLog =
        opts.log &&
        ((line: string) => {
          const at = line.indexOf(REQUEST_LOG_TAG)
          if (at >= 0 && opts.log?.helpdesk) opts.log.helpdesk(line.slice(at + REQUEST_LOG_TAG.length).trim())
          else opts.log?.integration?.(line)
        })
      const integration = await progress(
        'starting the integration (built bundle behind the Botpress SDK server)',
        // A mapping file is pasted whole (comments, fixtures) so that errors point at its own lines: let it
        // through a larger header limit than Node's default; register still warns about the size, and the
        // integration's tests cover the default limit.
        () =>
          startIntegrationServer({
            bundle: opts.bundle,
            apiUrl: emulator.url,
            token,
            env: {
              // The end user's files are served by the emulator (127.0.0.1), not files.bpcontent.cloud: let this
              // integration process (only it) download them, to upload them to the helpdesk.
              UNIVERSAL_HITL_FILE_HOSTS: new URL(emulator.url).hostname,
              // The Demo Desk logs what it receives itself; another helpdesk's requests are logged by the integration.
              ...(logVendorRequests && { UNIVERSAL_HITL_LOG_REQUESTS: '1' }),
            },
            onOutput: integrationLog,
            maxHeaderSize: PASTED_FILE_HEADER_LIMIT,
          }),
        (i) => `${i.url}, pid ${i.pid}`,
      )
      s.integration = integration
      closers.push({ name: 'integration', run: () => integration.stop() })

      const botClient = new Client({ apiUrl: emulator.url, botId: 'bot_sandbox', token })
      const { user: botUser } = await botClient.createUser({ tags: {}, name: 'Bot' })
      const identity: BotpressIdentity = {
        botId: 'bot_sandbox',
        botUserId: botUser.id,
        integrationId: 'intg_universal_hitl_sandbox',
        integrationAlias: 'universal-hitl',
        webhookId: opts.relayPort ? 'wh_sandbox' : `wh_${randomBytes(10).toString('hex')}`,
      }
      s.identity = identity
      const raw = botpressCaller(integration.url, identity, { mapping: s.mapping, settings: s.settings })

      const capture = opts.record
        ? createCapture({
            loaded: loadMapping({ mapping: s.mapping, settings: s.settings }),
            // What register stored, as the integration reads it (the demo desk's signing secret comes from there).
            registration: () => {
              const stored = emulator.data.states.get(stateKey(identity.botId, 'integration', identity.integrationId, 'registration'))
              return (stored?.state.payload as { values?: Record<string, unknown> } | undefined)?.values
            },
            file: opts.record.file,
          })
        : undefined
      const relay = await progress(
        'starting the webhook relay (what webhook.botpress.cloud does)',
        () =>
          startWebhookRelay({
            webhookId: identity.webhookId,
            port: opts.relayPort,
            forward: async (req) => {
              const result = await raw.webhook(req)
              // Recorded after the integration answered: the helpdesk does not wait for the fixture file.
              if (capture) capture.capture({ ...req }).then(opts.record?.onCaptured, (e: Error) => opts.record?.onError?.(e))
              return result
            },
            onRequest: opts.log?.relay && ((e) => opts.log!.relay!(`${e.method} ${e.path} → ${e.status} (${e.ms} ms)${e.error ? ` ${e.error}` : ''}`)),
          }),
        (r) => r.url,
      )
      s.relay = relay
      closers.push({ name: 'webhook relay', run: () => relay.close() })

      // `register` receives the relay's URL as the webhook URL, as it would receive webhook.botpress.cloud's.
      const bp = loggedCaller(
        {
          ...raw,
          webhookUrl: relay.url,
          register: () => raw.call('register', { webhookUrl: relay.url }),
          unregister: () => raw.call('unregister', { webhookUrl: relay.url }),
        },
        opts.log?.calls,
      )
      s.bp = bp

      await progress(
        `register (mapping ${/^[a-z0-9-]+$/i.test(s.mapping.trim()) ? s.mapping.trim() : /^https:\/\//i.test(s.mapping.trim()) ? 'by URL' : 'from file'})`,
        async () => {
          const r = await bp.register()
          if (r.status !== 200) throw new IntegrationCallError('register', r)
          registered = true
        },
        () => `webhook URL ${relay.url}`,
      )

      s.driver = await startHitlDriver({
        emulator,
        token,
        botId: identity.botId,
        botUserId: identity.botUserId,
        caller: bp,
        webchatIntegrationId: WEBCHAT_ID,
        endUser: opts.endUser ?? { name: 'Jane Doe', email: 'jane.doe@example.com' },
      })
      return s
    },

    /** Ends an active session and unregisters (best effort, 5 s each), stops the driver, then every server and the integration process. Idempotent. */
    close(): Promise<void> {
      closing ??= (async () => {
        const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())])
        // Interrupted mid-session: close the ticket (stopHitl) rather than leave it open in the helpdesk.
        if (s.driver?.active) await bounded(s.driver.endSession())
        s.driver?.close()
        if (registered && s.bp && s.integration) await bounded(s.bp.unregister())
        for (const c of closers.reverse()) {
          try {
            await c.run()
          } catch {
            // keep closing the rest
          }
        }
      })()
      return closing
    },
  }
  return s
}
