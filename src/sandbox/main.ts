// `npm start`: a whole live-agent hand-off on this machine — the local Botpress runtime emulator, the built
// integration behind the real SDK server, a webhook relay standing in for webhook.botpress.cloud, the Demo Desk
// (or your own helpdesk with --mapping/--settings) and the HITL plugin's side played by the driver.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parse as parseYamlText } from 'yaml'
import { packageRoot } from '../cli/packageRoot'
import { Redactor } from '../http/redact'
import { loadMapping } from '../mapping/loadMapping'
import { TimeoutError } from './hitlDriver'
import { runInteractive } from './interactive'
import { createOutput, quote } from './output'
import { attachTranscript, HANDOFF_SCRIPTS, runHandoff, StepFailed, type HandoffScript } from './runHandoff'
import { createSandbox } from './stack'

const USAGE = `npm start [-- options]        (or: node dist/sandbox.cjs [options])

Runs a live-agent hand-off end to end on this machine: a local Botpress runtime emulator, the built
integration behind the real Botpress SDK server, a webhook relay (what webhook.botpress.cloud does) and a
helpdesk — the embedded Demo Desk unless --mapping says otherwise. The HITL plugin's side is played by a
driver. Prints a timestamped transcript of both sides; exits 0 when every step passed, 1 otherwise.

Options
  --interactive          you are the end user: type lines, /agent to hand off, /end to end it, Ctrl-C to quit;
                         the agent answers in the Demo Desk console (its address is printed)
  --mapping <file|name|url>  another helpdesk: a mapping file, the name of a shipped mapping (chatwoot, zendesk, …)
                         or a pinned https URL (https://…/desk.yaml#sha256=<hex>);
                         the agent side then happens in that helpdesk, by a human
  --settings <file>      the settings (YAML) for --mapping
  --relay-port <port>    serve the webhook relay on this port with the fixed URL http://127.0.0.1:<port>/wh_sandbox,
                         so a helpdesk can be pointed at it before the sandbox starts (e.g. Request Tracker's Scrip)
  --script basic|full    basic (default): the agent replies and solves the ticket; full: the agent replies, the
                         bot sends a notice to the agent, and the user ends the session (/end → stopHitl)
  --record <file>        also write every webhook delivery the relay receives, with the events it produced, to
                         <file> as fixtures (secrets replaced by fixture ones, re-signed; see universal-hitl capture)
  --timeout <s>          how long to wait for each step (default 15 s with the Demo Desk, 600 s for a human agent)
  --verbose              also print every call to Botpress, to the integration and to the helpdesk (secrets masked)
  --help                 this text
`

class UsageError extends Error {}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

/** Values to mask in everything printed: the desk token, and the secret settings (every setting if unsure). */
function secretsOf(mapping: string | undefined, settings: string | undefined): { secrets: string[]; vendor?: string } {
  if (mapping === undefined) return { secrets: [] }
  try {
    const loaded = loadMapping({ mapping, settings })
    return { secrets: loaded.settings.secrets, vendor: loaded.mapping.file.vendor?.name }
  } catch {
    // The integration will report what is wrong at `register`; until then treat every setting value as secret.
    try {
      const values = settings ? parseYamlText(settings) : {}
      return {
        secrets:
          values && typeof values === 'object'
            ? Object.values(values)
                .filter((v) => typeof v === 'string' || typeof v === 'number')
                .map(String)
            : [],
      }
    } catch {
      return { secrets: [] }
    }
  }
}

async function main(argv: string[]): Promise<number> {
  // biome-ignore lint/suspicious/noImplicitAnyLet: TypeScript types it from the assignment below (parseArgs's inferred result)
  let args
  try {
    args = parseArgs({
      args: argv,
      options: {
        interactive: { type: 'boolean', default: false },
        mapping: { type: 'string' },
        settings: { type: 'string' },
        timeout: { type: 'string' },
        'relay-port': { type: 'string' },
        script: { type: 'string', default: 'basic' },
        record: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (args.help) {
    process.stdout.write(USAGE)
    return 0
  }

  const root = packageRoot()
  const bundle = join(root, '.botpress', 'dist', 'index.cjs')
  let mapping: string | undefined
  let settings: string | undefined
  let timeoutMs: number
  let relayPort: number | undefined
  try {
    if (!existsSync(bundle)) throw new UsageError(`the integration bundle ${bundle} is missing: run \`npm run build\` first`)
    if (args.settings !== undefined && args.mapping === undefined) throw new UsageError('--settings goes with --mapping (the Demo Desk needs no settings)')
    if (args.mapping !== undefined) {
      const m = args.mapping
      if (existsSync(m)) mapping = readText(m, 'mapping')
      else if (/^[a-z0-9][a-z0-9-]*$/i.test(m)) mapping = m
      else if (/^https:\/\//i.test(m))
        mapping = m // a pinned mapping URL: register fetches it and says what is wrong
      else throw new UsageError(`cannot read the mapping file ${m}: no such file (and it is not a shipped mapping name or an https URL)`)
    }
    if (args.settings !== undefined) settings = readText(args.settings, 'settings')
    const defaultSeconds = mapping === undefined ? 15 : 600
    const seconds = args.timeout === undefined ? defaultSeconds : Number(args.timeout)
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout wants a number of seconds, got ${JSON.stringify(args.timeout)}`)
    timeoutMs = seconds * 1000
    if (!(HANDOFF_SCRIPTS as readonly string[]).includes(args.script))
      throw new UsageError(`--script wants one of ${HANDOFF_SCRIPTS.join(', ')}, got ${JSON.stringify(args.script)}`)
    if (args.interactive && args.script !== 'basic') throw new UsageError('--script goes without --interactive (there, you play the user)')
    if (args['relay-port'] !== undefined) {
      relayPort = Number(args['relay-port'])
      if (!Number.isInteger(relayPort) || relayPort < 1 || relayPort > 65535)
        throw new UsageError(`--relay-port wants a port number, got ${JSON.stringify(args['relay-port'])}`)
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    process.stderr.write(`sandbox: ${e.message}\n`)
    return 2
  }

  const deskApiToken = `demo_${randomBytes(16).toString('hex')}`
  const { secrets, vendor: mappedVendor } = secretsOf(mapping, settings)
  const redactor = new Redactor([deskApiToken, ...secrets])
  const verbose = args.verbose
  const out = createOutput({ write: (t) => void process.stdout.write(t), mask: (t) => redactor.text(t), verbose })
  const vendor = mapping === undefined ? 'Demo Desk' : (mappedVendor ?? 'the helpdesk')

  out.line(`universal-hitl sandbox — a live-agent hand-off with ${vendor}, end to end on this machine`)
  out.line()

  const sandbox = createSandbox({
    bundle,
    relayPort,
    mapping,
    settings,
    deskApiToken,
    progress: out.progress,
    record: args.record
      ? {
          file: args.record,
          onCaptured: (c) => out.say('log', `recorded ${quote(c.fixture.name)} in ${args.record}`),
          onError: (e) => out.say('fail', `not recorded: ${e.message.split('\n')[0]}`),
        }
      : undefined,
    log: verbose
      ? {
          botpress: (l) => out.log('botpress api', l),
          helpdesk: (l) => out.log('helpdesk', l),
          integration: (l) => out.log('integration', l),
          relay: (l) => out.log('webhook relay', l),
          calls: (l) => out.log('→ integration', l),
        }
      : undefined,
  })

  // No process left behind, whatever happens: the integration child is killed by pid on exit.
  process.on('exit', () => {
    for (const pid of sandbox.pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
  let interrupted = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130)
    interrupted = true
    out.line()
    out.line(`${signal}: stopping…`)
    void sandbox.close().finally(() => process.exit(args.interactive && signal === 'SIGINT' ? 0 : signal === 'SIGINT' ? 130 : 143))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  let code = 0
  try {
    await sandbox.start()
  } catch (e) {
    out.line()
    out.say('fail', `could not start: ${(e as Error).message}`)
    dumpIntegrationOutput(sandbox, out, verbose)
    await sandbox.close()
    return 1
  }

  const detach = attachTranscript(sandbox, out)
  if (args.interactive) {
    await runInteractive(sandbox, out, { vendor })
    if (sandbox.driver?.active) await sandbox.driver.endSession().catch((e) => out.say('fail', `ending the hand-off: ${(e as Error).message}`))
  } else {
    out.line()
    out.line(mapping === undefined ? 'hand-off (the agent is played through the Demo Desk API)' : `hand-off (the agent is a human in ${vendor})`)
    const started = Date.now()
    try {
      const steps = await runHandoff(sandbox, out, { timeoutMs, vendor, script: args.script as HandoffScript })
      out.line()
      out.line(`hand-off complete: ${steps} steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } catch (e) {
      code = 1
      out.line()
      if (e instanceof StepFailed) {
        out.say('fail', e.message)
        if (e.cause instanceof TimeoutError && mapping !== undefined)
          out.line(`  (is the webhook subscription in ${vendor} pointing at ${sandbox.relay!.url}, and can ${vendor} reach it?)`)
      } else out.say('fail', `unexpected error: ${(e as Error).stack ?? e}`)
      dumpIntegrationOutput(sandbox, out, verbose)
    }
  }
  detach()
  await sandbox.close()
  return code
}

/** On failure, the integration's last log lines help (already redacted by the integration, masked again here). */
function dumpIntegrationOutput(sandbox: { integration?: { output: string[] } }, out: ReturnType<typeof createOutput>, verbose: boolean) {
  const lines = sandbox.integration?.output ?? []
  if (verbose || lines.length === 0) return
  out.line("last lines of the integration's log:")
  for (const l of lines.slice(-15)) out.line(`  ${l}`)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`sandbox: ${(e as Error).stack ?? e}\n`)
    process.exit(1)
  },
)
