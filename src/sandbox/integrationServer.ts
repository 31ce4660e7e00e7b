import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { adviceForConfiguration } from '../definition/configurationSize'

/**
 * A header limit with room for a whole pasted mapping file, comments and fixtures included (Node's default is
 * 16 KiB): for the sandbox, the mapping conformance suite and the benchmark, which paste whole files on purpose.
 */
export const PASTED_FILE_HEADER_LIMIT = 1024 * 1024

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export type IntegrationServer = { url: string; port: number; pid: number; output: string[]; stop(): Promise<void> }

/**
 * Runs the built bundle the way `bp serve` does (`require(bundle).default.start(port)`) in its own process,
 * with its Botpress client pointed at `apiUrl` through BP_API_URL / BP_TOKEN.
 */
export async function startIntegrationServer(opts: {
  bundle: string
  apiUrl: string
  token: string
  port?: number
  env?: Record<string, string>
  onOutput?: (line: string) => void
  /**
   * Node's `--max-http-header-size`. Default: Node's own (16 KiB), as a deployed integration would have, so a
   * configuration too large for a request header fails here (431) the way it would there. Only suites that
   * paste whole mapping files with their fixtures on purpose raise it.
   */
  maxHeaderSize?: number
}): Promise<IntegrationServer> {
  const port = opts.port ?? (await freePort())
  const flags = opts.maxHeaderSize === undefined ? [] : [`--max-http-header-size=${opts.maxHeaderSize}`]
  const child: ChildProcess = spawn(process.execPath, [...flags, '-e', `require(${JSON.stringify(opts.bundle)}).default.start(${port})`], {
    env: { ...process.env, BP_API_URL: opts.apiUrl, BP_TOKEN: opts.token, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue
      output.push(line)
      opts.onOutput?.(line)
    }
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`integration process exited with ${child.exitCode}:\n${output.join('\n')}`)
    try {
      const r = await fetch(`${url}/health`)
      if (r.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`integration did not answer /health within 15 s:\n${output.join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    port,
    pid: child.pid!,
    output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}

export type BotpressIdentity = { botId: string; botUserId: string; integrationId: string; integrationAlias: string; webhookId: string }
export type IntegrationConfiguration = { mapping: string; settings?: string }
/** What the hitl actions answer: createUser's userId, startHitl's conversationId; the others answer {}. */
export type ActionOutput = { userId?: string; conversationId?: string }
/**
 * An integration's JSON answer, the fields callers read: an action's `output`, a webhook's counts of events
 * `received` and `handled` (src/hitl/webhook.ts), or a failed call's `type` and `message` (Botpress's error body).
 * Each is there only in its kind of answer.
 */
export type IntegrationAnswer = { output?: ActionOutput; received?: number; handled?: number; type?: string; message?: string; error?: string }
export type CallResult = {
  status: number
  headers: Record<string, string>
  body: string
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: IntegrationAnswer | undefined
  /** 431 (request headers too large): what to do about the configuration's size. */
  advice?: string
}

/** An action's output id (createUser's userId, startHitl's conversationId); throws, with the answer, when there is none. */
export function actionOutput(result: CallResult, field: keyof ActionOutput): string {
  const value = result.json?.output?.[field]
  if (typeof value !== 'string' || !value) throw new Error(`the action answered ${result.status} with no output.${field}: ${result.body.slice(0, 200)}`)
  return value
}

/** The headers Botpress Cloud sends with every call to an integration (contract reference §1.3). */
export function botpressHeaders(who: BotpressIdentity, operation: string, configuration: object): Record<string, string> {
  return {
    'x-bot-id': who.botId,
    'x-bot-user-id': who.botUserId,
    'x-integration-id': who.integrationId,
    'x-integration-alias': who.integrationAlias,
    'x-webhook-id': who.webhookId,
    'x-bp-operation': operation,
    'x-bp-type': operation,
    'x-bp-configuration': Buffer.from(JSON.stringify(configuration)).toString('base64'),
  }
}

/** Calls the integration with the headers Botpress Cloud sends. */
export function botpressCaller(url: string, who: BotpressIdentity, configuration: IntegrationConfiguration) {
  async function call(operation: string, body: unknown): Promise<CallResult> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...botpressHeaders(who, operation, configuration) },
      body: JSON.stringify(body),
    })
    const text = await res.text()
    let json: IntegrationAnswer | undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    // Node answers 431 before the integration runs; say what the integration's register would have advised.
    const advice = res.status === 431 ? (adviceForConfiguration(configuration) ?? 'the request headers are too large') : undefined
    return { status: res.status, headers: Object.fromEntries(res.headers), body: text, json, advice }
  }
  const webhookUrl = `https://webhook.botpress.cloud/${who.webhookId}`
  return {
    call,
    webhookUrl,
    register: () => call('register', { webhookUrl }),
    unregister: () => call('unregister', { webhookUrl }),
    action: (type: string, input: unknown) => call('action_triggered', { type, input }),
    messageCreated: (body: { type: string; payload: unknown; conversation: unknown; message: unknown; user: unknown }) => call('message_created', body),
    /** A vendor's delivery, as Botpress forwards it (raw body string, query string). */
    webhook: (req: { method?: string; path?: string; query?: string; headers?: Record<string, string>; body?: string }) =>
      call('webhook_received', {
        req: { method: req.method ?? 'POST', path: req.path ?? '/', query: req.query ?? '', headers: req.headers ?? {}, body: req.body },
      }),
  }
}

export type BotpressCaller = ReturnType<typeof botpressCaller>
