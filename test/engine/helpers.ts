// Shared helpers of the engine tests: small mappings built as objects, compiled through the real loader.
import { spawn } from 'node:child_process'
import type { Server } from 'node:http'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { FileNotAttached } from '../../src/attachments/downloadFile'
import { createEngine, type EngineOptions } from '../../src/engine/createEngine'
import { compileMappingText } from '../../src/mapping/loadMapping'
import { parseSettings } from '../../src/mapping/parseSettings'
import { MappingError, type Problem } from '../../src/mapping/problems'

/**
 * Shipped mappings whose `dedupeKey` must read an unsigned header (validate warns about it), with the reason.
 * The dedupe-coverage test (hardening.test.ts) and the no-warnings test (cli-tools.test.ts) share this list.
 */
export const UNSIGNED_DEDUPE_KEYS: Record<string, string> = {}

export const acmeText = readFileSync(join(__dirname, '..', 'support', 'acme.yaml'), 'utf8')

type Obj = Record<string, unknown>
/** A mapping as plain data, its sections open to edits (tests write invalid values on purpose). */
type MappingObject = { version: number; vendor: Obj; settings: Obj; http: Obj; operations: Obj; webhook: Obj; fixtures?: Obj }

/** A minimal valid mapping; `patch` replaces top-level sections (and `operations.*` entries) as given. */
export function mappingObject(patch: { settings?: Obj; http?: Obj; operations?: Obj; webhook?: Obj; fixtures?: Obj } = {}): MappingObject {
  return {
    version: 1,
    vendor: { name: 'Test Desk' },
    settings: patch.settings ?? {
      baseUrl: { required: true },
      apiToken: { required: true, secret: true },
      webhookSecret: { secret: true },
    },
    http: patch.http ?? { baseUrl: '{{ $settings.baseUrl }}/api', auth: { type: 'bearer', token: '{{ $settings.apiToken }}' }, timeoutMs: 5000 },
    operations: {
      createUser: { steps: [{ id: 'u', request: { method: 'POST', path: '/users', body: '{"name": name}' } }], result: { externalUserId: '$steps.u.body.id' } },
      createTicket: { steps: [{ id: 't', request: { method: 'POST', path: '/tickets', body: '{"title": title}' } }], result: { ticketId: '$steps.t.body.id' } },
      sendMessage: { text: { steps: [{ request: { method: 'POST', path: '/tickets/{{ ticketId }}/messages', body: '{"text": text}' } }] } },
      closeTicket: { steps: [{ request: { method: 'PUT', path: '/tickets/{{ ticketId }}', body: '{"status": "closed"}' } }] },
      ...patch.operations,
    },
    webhook: patch.webhook ?? { verify: 'none', events: [{ when: 'true', emit: 'solved', ticketId: 'id' }] },
    ...(patch.fixtures ? { fixtures: patch.fixtures } : {}),
  }
}

/** Closes the test's servers (afterAll). */
export const closeServers = (...servers: Server[]) => Promise.all(servers.map((s) => new Promise((r) => s.close(r))))

export const yamlOf = (mapping: Obj) => stringify(mapping, { lineWidth: 0 })

/** An engine over a mapping object with the given settings (checked like the integration checks them). */
export function engineOf(mapping: Obj, settings: Record<string, unknown>, options: EngineOptions = {}) {
  const compiled = compileMappingText(yamlOf(mapping), 'test.yaml')
  const resolved = parseSettings(settings, compiled.file.settings ?? {}, 'settings')
  return createEngine({ mapping: compiled, settings: resolved, hash: 'test' }, options)
}

/** An engine re-hosting from a loopback helpdesk at `deskUrl`: bearer `token`, `http` fields added or replaced. */
export const bearerDeskEngine = (deskUrl: string, token: string, http: Obj = {}) =>
  engineOf(
    mappingObject({ http: { baseUrl: '{{ $settings.baseUrl }}/api', auth: { type: 'bearer', token: '{{ $settings.apiToken }}' }, timeoutMs: 5000, ...http } }),
    { baseUrl: deskUrl, apiToken: token },
  )

/** The note of the FileNotAttached a download fails with (throws when it succeeds or fails otherwise). */
export async function fileNotAttachedNote(download: Promise<unknown>): Promise<string> {
  const e = await download.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (e instanceof FileNotAttached) return e.note
  throw new Error(`expected FileNotAttached, got ${e === undefined ? 'the file' : String(e)}`)
}

/** The MappingError a function throws (fails the test when it throws nothing or something else). */
export function mappingErrorOf(fn: () => unknown): MappingError {
  try {
    fn()
  } catch (e) {
    if (e instanceof MappingError) return e
    throw new Error(`expected a MappingError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`)
  }
  throw new Error('expected a MappingError, nothing was thrown')
}

/** Problems of compiling a mapping text (empty when it compiles). */
export function problemsOf(text: string, file = 'm.yaml'): Problem[] {
  try {
    compileMappingText(text, file)
    return []
  } catch (e) {
    if (e instanceof MappingError) return e.problems
    throw e
  }
}

/**
 * The 1-based line and column of `needle` inside the first line of `text` containing `lineMarker`
 * (what a positioned problem should point at).
 */
export function positionOf(text: string, lineMarker: string, needle: string, occurrence = 1): { line: number; column: number } {
  const lines = text.split('\n')
  const index = lines.findIndex((l) => l.includes(lineMarker))
  if (index < 0) throw new Error(`no line contains ${JSON.stringify(lineMarker)}`)
  let column = -1
  for (let i = 0; i < occurrence; i++) column = lines[index]!.indexOf(needle, column + 1)
  if (column < 0) throw new Error(`line ${index + 1} has no ${JSON.stringify(needle)}`)
  return { line: index + 1, column: column + 1 }
}

/** Replaces exactly one occurrence (fails loudly when the text to replace is not there once). */
export function replaceOnce(text: string, from: string, to: string): string {
  const first = text.indexOf(from)
  if (first < 0 || text.indexOf(from, first + 1) >= 0) throw new Error(`expected exactly one ${JSON.stringify(from)}`)
  return text.slice(0, first) + to + text.slice(first + from.length)
}

/** The error a promise rejects with. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a rejection')
}

export type CliRun = { code: number | null; stdout: string; stderr: string }

/** Runs the built command-line tool (`dist/cli.cjs`) in `cwd` as a user would; resolves when it exits. */
export function runCli(cwd: string, ...args: string[]): Promise<CliRun> {
  return runCliWith({ cwd }, ...args)
}

export function runCliWith(
  opts: { cwd: string; env?: Record<string, string>; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void },
  ...args: string[]
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'cli.cjs'), ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (c) => {
      stdout += c
      opts.onStdout?.(stdout, child)
    })
    child.stderr!.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A stack frame line (`    at fn (file:1:2)`): CLI output must never carry one without --debug. */
export const STACK_FRAME = /^\s+at .+[:(]/m

/** A delivery as Acme (test/support/acme.yaml) signs it, as the request file `route` reads. */
export function acmeSignedRequest(body: unknown, secret: string, headers: Record<string, string> = {}) {
  const raw = JSON.stringify(body)
  const ts = String(Math.floor(Date.now() / 1000))
  const sig = createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')
  return JSON.stringify({
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/json', 'x-acme-timestamp': ts, 'x-acme-signature': `sha256=${sig}`, 'x-acme-delivery': 'dlv-1', ...headers },
    body: raw,
  })
}
