// `universal-hitl capture`: stands where the integration's webhook URL would be, answers the helpdesk as the
// integration would, and records every delivery as a webhook fixture (see src/fixtures/captureDeliveries.ts).
import { describeError } from '../diagnostics/codes'
import { createServer } from 'node:http'
import { createCapture } from '../fixtures/captureDeliveries'
import { vendorOriginOverride } from '../http/vendorOrigin'
import { BodyTooLargeError, listenOnLoopback, readBody } from '../http/localServer'
import type { WebhookOutcome } from '../webhook/routeWebhook'
import { CliError, loadForCli } from './inputs'

/** What the helpdesk gets back: what the integration's webhook handler would answer. */
function reply(outcome: WebhookOutcome): { status: number; headers: Record<string, string>; body: string } {
  switch (outcome.kind) {
    case 'handshake':
      return { status: outcome.status, headers: outcome.headers, body: outcome.body ?? '' }
    case 'rejected':
    case 'invalid':
      return { status: outcome.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: outcome.reason }) }
    case 'events':
      return { status: 200, headers: {}, body: '' }
  }
}

export async function capture(file: string | undefined, opts: { port?: string; record?: string; settings?: string; registration?: string }): Promise<number> {
  if (!file) throw new CliError('capture needs <mapping.yaml> --port <n> --record <fixtures.yaml>')
  if (!opts.record) throw new CliError('capture needs --record <fixtures.yaml> (where the fixtures go)')
  const port = Number(opts.port)
  if (opts.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`capture needs --port <n> (0 for a free port), got ${JSON.stringify(opts.port ?? null)}`)
  const { mapping, settings, registration } = loadForCli(file, opts)
  const recorder = createCapture({
    loaded: { mapping, settings, hash: 'capture' },
    registration: () => registration,
    rewriteUrl: vendorOriginOverride(),
    file: opts.record,
  })
  let count = 0
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    let body: string
    try {
      body = await readBody(req, mapping.webhook.maxBodyBytes)
    } catch (e) {
      res.writeHead(e instanceof BodyTooLargeError ? 413 : 400).end()
      return
    }
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
    try {
      const { outcome, fixture } = await recorder.capture({
        method: req.method ?? 'POST',
        path: url.pathname,
        query: url.search.replace(/^\?/, ''),
        headers,
        body,
      })
      const r = reply(outcome)
      res.writeHead(r.status, r.headers).end(r.body)
      console.log(`${++count}. ${fixture.name} (${r.status}) → ${opts.record}`)
    } catch (e) {
      // A lookup that failed (the vendor is down): the integration would answer 5xx so the vendor retries.
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'lookup failed' }))
      console.error(`not recorded: ${describeError(e).split('\n')[0]}`)
    }
  })
  const bound = await listenOnLoopback(server, port).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EADDRINUSE' || e.code === 'EACCES'
      ? new CliError(`cannot listen on 127.0.0.1:${port}: ${e.code}; pick another --port (0 = a free one)`)
      : e
  })
  console.log(`capturing deliveries for ${file} at http://127.0.0.1:${bound}/ into ${opts.record} (Ctrl-C to stop)`)
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close(() => resolve())
      server.closeAllConnections()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  console.log(`${count} deliver${count === 1 ? 'y' : 'ies'} recorded in ${opts.record}`)
  return 0
}
