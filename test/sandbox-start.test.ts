import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoDesk, type DemoDesk } from '../src/sandbox/demo-desk'
import { PARCEL_PHOTO, RETURN_LABEL } from '../src/sandbox/sampleFiles'

const root = join(__dirname, '..')
const sandbox = join(root, 'dist', 'sandbox.cjs')

type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** `node dist/sandbox.cjs …` as a child process; `onStdout` sees the output as it grows. */
function runSandbox(args: string[], opts: { onStdout?: (all: string, child: ReturnType<typeof spawn>) => void; killAfterMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [sandbox, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const guard = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 55_000)
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8')
      opts.onStdout?.(stdout, child)
    })
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    child.on('close', (code, signal) => {
      clearTimeout(guard)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('npm start (node dist/sandbox.cjs)', () => {
  let dir: string
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' })
    dir = mkdtempSync(join(tmpdir(), 'sandbox-start-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('--relay-port serves the webhook relay at a fixed, printed URL', async () => {
    const { freePort } = await import('../src/sandbox/integrationServer')
    const port = await freePort()
    const r = await runSandbox(['--relay-port', String(port)])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toContain(`starting the webhook relay (what webhook.botpress.cloud does)… ok (http://127.0.0.1:${port}/wh_sandbox)`)
    const bad = await runSandbox(['--relay-port', 'eighty'])
    expect(bad.code).toBe(2)
    expect(bad.stdout + bad.stderr).toContain('--relay-port wants a port number, got "eighty"')
  })

  it('runs the scripted hand-off with the Demo Desk and prints both sides', async () => {
    const r = await runSandbox([])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const out = r.stdout
    expect(out).toMatch(/starting Botpress runtime emulator… ok \(http:\/\/127\.0\.0\.1:\d+\)/)
    expect(out).toMatch(/register \(mapping demo-desk\)… ok/)
    // the user's side
    expect(out).toMatch(/\d\d:\d\d:\d\d\.\d{3} {2}user {2}→ "Are you there\? I need it before Friday\."/)
    expect(out).toMatch(/agent Alice Agent → "Hi Jane, I'm Alice\./)
    expect(out).toContain('bot   → "A human agent has joined the conversation."')
    expect(out).toContain('bot   → "The human agent closed the conversation. I will continue assisting you."')
    // the helpdesk's side
    expect(out).toMatch(/desk {2}ticket tkt_1 history: Jane Doe: "Hi! My order #1042 still hasn't arrived\."/)
    expect(out).toContain('desk  ticket tkt_1: message from Jane Doe (contact): "Are you there? I need it before Friday."')
    expect(out).toContain('desk  ticket tkt_1 assigned to Alice Agent')
    expect(out).toContain('desk  ticket tkt_1 solved by Alice Agent')
    expect(out).toContain('hitlAssigned: agent Alice Agent')
    expect(out).toContain('hitlStopped')
    // files both ways, each shown with its name and size on both sides
    const photo = `[image] "parcel.png" (${PARCEL_PHOTO.bytes.length} bytes)`
    const label = `[file] "return-label.pdf" (${RETURN_LABEL.bytes.length} bytes)`
    expect(out).toContain(`user  → ${photo}`)
    expect(out).toContain(`desk  ticket tkt_1: message from Jane Doe (contact): ${photo}`)
    expect(out).toMatch(/✓ {3}5\. the user sends a photo \(uploaded to Botpress Files\); it reaches the ticket as a file — desk file fil_1: .+, the same bytes/)
    expect(out).toContain(`desk  ticket tkt_1: Alice Agent replied "If it arrives damaged, here is a return label." + ${label}`)
    expect(out).toContain('agent Alice Agent → "If it arrives damaged, here is a return label."')
    expect(out).toContain(`agent Alice Agent → ${label}`)
    expect(out).toMatch(
      /✓ {3}8\. the agent sends a PDF \(multipart reply\); the user receives it as a Botpress file — .+ re-hosted on Botpress, the same bytes/,
    )
    expect(out).toMatch(/hand-off complete: 9 steps passed/)
    expect(out).not.toContain('✗')
  }, 60_000)

  it('--script full: the bot sends a notice and the user ends the session; --record writes fixtures that pass', async () => {
    const record = join(dir, 'recorded.yaml')
    const r = await runSandbox(['--script', 'full', '--record', record])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const out = r.stdout
    expect(out).toContain('desk  ticket tkt_1: message from System (system): "[Bot] The customer was shown the delivery tracking page."')
    expect(out).toMatch(/✓ {3}9\. the bot sends a notice to the agent; it reaches the ticket as the system/)
    expect(out).toContain('user  → "/end"')
    expect(out).toContain('desk  ticket tkt_1 closed')
    expect(out).toMatch(/✓ {3}10\. the user ends the session \(\/end → stopHitl\); the ticket is closed/)
    expect(out).toMatch(/hand-off complete: 10 steps passed/)
    expect(out).not.toContain('hitlStopped')
    expect(out).toMatch(/recorded "captured [^"]+ → assigned" in /)
    // The recorded deliveries, as the demo desk mapping's fixtures, pass `universal-hitl test`.
    const demo = readFileSync(join(root, 'mappings', 'demo-desk.yaml'), 'utf8')
    const combined = join(dir, 'demo-recorded.yaml')
    writeFileSync(combined, `${demo.slice(0, demo.indexOf('\nfixtures:'))}\n${readFileSync(record, 'utf8')}`)
    const t = spawnSync(process.execPath, [join(root, 'dist', 'cli.cjs'), 'test', combined], { encoding: 'utf8' })
    expect(t.status, t.stdout + t.stderr).toBe(0)
    expect(t.stdout).toMatch(/ok {3}\S+ webhook "captured [^"]+ → newMessage"/)
    expect(t.stdout).toMatch(/^[1-9]\d* passed, 0 failed$/m)
    const bad = await runSandbox(['--script', 'long'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--script wants one of basic, full, got "long"')
  }, 60_000)

  it('--verbose prints the calls to Botpress and the helpdesk, never the desk token', async () => {
    const r = await runSandbox(['--verbose'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const out = r.stdout + r.stderr
    expect(out).toMatch(/\[botpress api\] +integration POST \/v1\/chat\/messages\/get-or-create → 200/)
    expect(out).toMatch(/\[helpdesk\] +POST \/api\/tickets 201/)
    expect(out).toMatch(/\[→ integration\] action_triggered startHitl → 200/)
    expect(out).toMatch(/\[webhook relay\] POST \/wh_\w+ → 200/)
    // the files' ways: the user's upload (webchat, then the upload URL), the integration's download and upload
    expect(out).toMatch(/\[botpress api\] +webchat +PUT \/v1\/files → 200/)
    expect(out).toMatch(/\[botpress api\] +url holder +PUT \/_files\/upload\/file_\w+ → 200/)
    expect(out).toMatch(/\[helpdesk\] +GET \/files\/fil_2\/return-label\.pdf 200/)
    expect(out).toMatch(/\[botpress api\] +integration PUT \/v1\/files → 200/)
    // The token is 'demo_' + 32 hex digits: neither it nor its base64 form may appear.
    expect(out).not.toMatch(/demo_[0-9a-f]{32}/)
    expect(out).not.toMatch(/ZGVtb1[0-9A-Za-z+/]{20,}/)
  }, 60_000)

  it('a broken mapping fails at register with the positioned error, exit 1', async () => {
    const broken = readFileSync(join(root, 'mappings', 'demo-desk.yaml'), 'utf8').replace('emit: solved', 'emit: closed')
    writeFileSync(join(dir, 'broken.yaml'), broken)
    writeFileSync(join(dir, 'settings.yaml'), 'baseUrl: http://127.0.0.1:9\napiToken: tok-SECRET-never-printed\n')
    const r = await runSandbox(['--mapping', join(dir, 'broken.yaml'), '--settings', join(dir, 'settings.yaml')])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/register \(mapping from file\)… FAILED/)
    expect(r.stdout).toMatch(/mapping:\d+:\d+: webhook\.events\[2\]\.emit: UH-E007 must be one of: "newMessage", "assigned", "solved"/)
    expect(r.stdout + r.stderr).not.toContain('tok-SECRET-never-printed')
  }, 60_000)

  it('bad arguments: usage, exit 2', async () => {
    const r = await runSandbox(['--nope'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--mapping <file|name|url>')
  }, 60_000)

  describe('--mapping/--settings: another helpdesk, where a human plays the agent', () => {
    let desk: DemoDesk
    let settings: string
    beforeAll(async () => {
      desk = await startDemoDesk({ apiToken: 'tok-EXTERNAL-desk-7731', retryDelaysMs: [100, 300] })
      settings = join(dir, 'external.yaml')
      writeFileSync(settings, `baseUrl: ${desk.url}\napiToken: ${desk.apiToken}\n`)
    })
    afterAll(async () => desk?.close())

    const act = async (path: string, body: unknown) => {
      const res = await fetch(`${desk.url}/api${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${desk.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    }

    it('escalates, waits for the agent there, and finishes when the agent replies and solves', async () => {
      let acted = false
      const r = await runSandbox(['--mapping', 'demo-desk', '--settings', settings, '--timeout', '30', '--verbose'], {
        onStdout: (all) => {
          if (acted || !all.includes('waiting for an agent in Demo Desk...')) return
          acted = true
          const ticket = desk.store.tickets.at(-1)!
          void (async () => {
            await act(`/tickets/${ticket.id}/assign`, { agentId: 'agt_2' })
            await act(`/tickets/${ticket.id}/reply`, { agentId: 'agt_2', text: 'Bob from the external desk' })
            await act(`/tickets/${ticket.id}/solve`, { agentId: 'agt_2' })
          })()
        },
      })
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(r.stdout).toMatch(/waiting for an agent in Demo Desk\.\.\. \(up to 30 s/)
      expect(r.stdout).toMatch(/relay at http:\/\/127\.0\.0\.1:\d+\/wh_\w+/)
      expect(r.stdout).toContain('agent Bob Builder → "Bob from the external desk"')
      expect(r.stdout).toContain('hitlStopped')
      // --verbose with --mapping: every request the integration sends to the helpdesk, with its status, masked
      expect(r.stdout).toMatch(/\[helpdesk\] +createTicket step "ticket": POST http:\/\/127\.0\.0\.1:\d+\/api\/tickets → 201/)
      expect(r.stdout).toMatch(/\[helpdesk\] +sendMessage\.text step "message": POST http:\/\/127\.0\.0\.1:\d+\/api\/tickets\/tkt_\d+\/messages → 201/)
      expect(r.stdout).not.toContain(desk.apiToken)
      // unregister removed the webhook subscription on the way out
      expect(desk.store.webhooks).toEqual([])
    }, 60_000)

    it('SIGTERM while waiting: the ticket is closed, the webhook removed, no process left behind', async () => {
      let pid = 0
      let signalled = false
      const r = await runSandbox(['--mapping', 'demo-desk', '--settings', settings, '--timeout', '50'], {
        onStdout: (all, child) => {
          pid ||= Number(/pid (\d+)/.exec(all)?.[1] ?? 0)
          if (!signalled && all.includes('waiting for an agent in Demo Desk...')) {
            signalled = true
            child.kill('SIGTERM')
          }
        },
      })
      expect(r.code, r.stdout + r.stderr).toBe(143)
      expect(r.stdout).toContain('SIGTERM: stopping…')
      expect(pid).toBeGreaterThan(0)
      expect(alive(pid)).toBe(false)
      expect(desk.store.tickets.at(-1)!.status).toBe('closed')
      expect(desk.store.webhooks).toEqual([])
    }, 60_000)
  })
})
