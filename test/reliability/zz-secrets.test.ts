// The secrets scan (last file of the suite, see the sequencer in vitest.reliability.config.mts): no secret
// value in the suite's own output (its figures and the output of every process it started) or in the
// sandbox's `--verbose` output, raw, URL-encoded, base64 or hex.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileMappingText } from '../../src/mapping/loadMapping'
import { startDemoDesk } from '../../src/sandbox/demo-desk'
import { SECRETS } from '../support/harness'
import { BP_TOKEN, leaksIn, mappingNames, OUTPUT_LOG, rememberedSecrets, report, root } from './support'

/** Values shorter than this are not secrets anyone would recognise (and would match by chance). */
const MIN_SECRET_LENGTH = 8

/** The fixture secrets of every mapping: settings declared `secret: true` and registration values. */
function fixtureSecrets(): string[] {
  const out: string[] = []
  for (const name of mappingNames()) {
    const m = compileMappingText(readFileSync(join(root, 'mappings', `${name}.yaml`), 'utf8'), name)
    const declared = m.file.settings ?? {}
    for (const [k, v] of Object.entries(m.file.fixtures?.settings ?? {})) if (declared[k]?.secret) out.push(String(v))
    for (const v of Object.values(m.file.fixtures?.registration ?? {})) if (typeof v === 'string') out.push(v)
  }
  return out
}

describe('reliability: secrets never leave in output', () => {
  it("the suite's output (figures and every started process's output) carries no secret in any form", () => {
    expect(existsSync(OUTPUT_LOG), 'run the whole suite: this file scans what the others printed').toBe(true)
    const text = readFileSync(OUTPUT_LOG, 'utf8')
    const secrets = [BP_TOKEN, SECRETS.apiToken, SECRETS.webhookSecret, ...fixtureSecrets(), ...rememberedSecrets()].filter(
      (s) => s.length >= MIN_SECRET_LENGTH,
    )
    const leaks = leaksIn(text, [...new Set(secrets)])
    report(`secrets: suite output ${(text.length / 1024).toFixed(0)} KB scanned for ${secrets.length} secrets × 7 forms: ${leaks.length} found`)
    expect(leaks).toEqual([])
  })

  it('`npm start -- --verbose` (a whole hand-off against a Demo Desk) prints no secret in any form', async () => {
    const desk = await startDemoDesk({ retryDelaysMs: [100, 300] })
    const dir = mkdtempSync(join(tmpdir(), 'uh-secrets-'))
    const settingsFile = join(dir, 'settings.yaml')
    writeFileSync(settingsFile, `baseUrl: ${desk.url}\napiToken: ${desk.apiToken}\n`)
    const webhookSecrets = new Set<string>()
    let output = ''
    let replied = false
    let solved = false
    const child = spawn(
      process.execPath,
      [join(root, 'dist', 'sandbox.cjs'), '--verbose', '--mapping', 'demo-desk', '--settings', settingsFile, '--timeout', '30'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const agent = (path: string, body: unknown) =>
      fetch(`${desk.url}/api${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${desk.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    // Plays the agent in the desk once the sandbox waits for one: reply, then (once the user got it) solve.
    const onOutput = async (chunk: Buffer) => {
      output += chunk.toString('utf8')
      for (const w of desk.store.webhooks) webhookSecrets.add(w.secret)
      const ticket = desk.store.tickets[0]
      if (!ticket) return
      if (!replied && output.includes('waiting for an agent')) {
        replied = true
        await agent(`/tickets/${ticket.id}/reply`, { agentId: 'agt_1', text: 'Hello from the agent' })
      }
      if (!solved && /from Alice Agent/.test(output)) {
        solved = true
        await agent(`/tickets/${ticket.id}/solve`, { agentId: 'agt_1' })
      }
    }
    child.stdout.on('data', (c) => void onOutput(c))
    child.stderr.on('data', (c) => void onOutput(c))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    await desk.close()
    const secrets = [desk.apiToken, ...webhookSecrets]
    const leaks = leaksIn(output, secrets)
    const botpressTokens = output.match(/bp_sandbox_[0-9a-f]{24}/g) ?? []
    report(
      `secrets: sandbox --verbose, exit ${code}, ${output.split('\n').length} lines scanned for ${secrets.length} secrets × 7 forms and the Botpress token: ${leaks.length + botpressTokens.length} found`,
    )
    expect(code, output.slice(-2000)).toBe(0)
    expect(webhookSecrets.size).toBeGreaterThan(0)
    expect(output).toContain('webhook relay')
    expect([...leaks, ...botpressTokens]).toEqual([])
  })
})
