import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@botpress/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONFIGURATION_WARN_BYTES, encodedConfigurationSize, NODE_DEFAULT_HEADER_LIMIT } from '../src/definition/configurationSize'
import { fetchPinnedMapping, MAX_MAPPING_FILE_BYTES, parsePinnedMappingUrl } from '../src/mapping/mappingUrl'
import { packMapping } from '../src/mapping/packMapping'
import { startDemoDesk, type DemoDesk } from '../src/sandbox/demo-desk'
import { botpressCaller, startIntegrationServer, type IntegrationConfiguration, type IntegrationServer, actionOutput } from '../src/sandbox/integrationServer'
import definition from '../integration.definition'
import { declaredTagsOf, startRuntimeEmulator, type RuntimeEmulator } from '../src/sandbox/runtime-emulator'
import { acmeMapping, acmeSettings, bundle, root, who } from './support/harness'
import { startStubHelpdesk, type StubHelpdesk } from '../src/fixtures/stubHelpdesk'

const demoDeskFile = readFileSync(join(root, 'mappings', 'demo-desk.yaml'), 'utf8')
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** A self-signed certificate for 127.0.0.1, made with openssl for this run (never a checked-in key). */
function selfSignedCertificate(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  )
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile }
}

let hasOpenssl = true
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' })
} catch {
  hasOpenssl = false
}

/**
 * The integration behind the SDK server with Node's DEFAULT header limit (16 KiB), as a deployed one would
 * run: a pasted, a packed and a by-URL configuration work; a whole shipped file pasted as is fails the way
 * it would (431, before the integration runs) and the advice says what to do instead.
 */
describe.skipIf(!hasOpenssl)('a configuration that fits in a request header (needs openssl for a test certificate)', () => {
  let dir: string
  let emulator: RuntimeEmulator
  let desk: DemoDesk
  let stub: StubHelpdesk
  let integration: IntegrationServer
  let files: Server
  let filesUrl: string
  let tls: ReturnType<typeof selfSignedCertificate>
  let botUserId: string
  /** What the https file server answers, by path. */
  const served = new Map<string, string>()

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'uh-config-'))
    tls = selfSignedCertificate(dir)
    files = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const body = served.get(req.url ?? '')
      if (body === undefined) return void res.writeHead(404).end('not found')
      if (body.startsWith('redirect:')) return void res.writeHead(302, { location: body.slice('redirect:'.length) }).end()
      res.writeHead(200, { 'content-type': 'application/yaml' }).end(body)
    })
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve))
    filesUrl = `https://127.0.0.1:${(files.address() as AddressInfo).port}`
    emulator = await startRuntimeEmulator({ token: 'bp-size', integrationTags: { [who.integrationId]: declaredTagsOf(definition) } })
    desk = await startDemoDesk({ retryDelaysMs: [50] })
    stub = await startStubHelpdesk()
    stub.route({ method: 'POST', path: '/api/webhooks', respond: () => ({ status: 201, body: { webhook: { id: 'wh_1' } } }) })
    stub.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: 'c_1' } } }) })
    // No maxHeaderSize: Node's default. The test CA reaches the integration process the standard Node way.
    integration = await startIntegrationServer({ bundle, apiUrl: emulator.url, token: 'bp-size', env: { NODE_EXTRA_CA_CERTS: tls.certFile } })
    const bot = new Client({ apiUrl: emulator.url, botId: who.botId, token: 'bp-size' })
    botUserId = (await bot.createUser({ tags: {}, name: 'Bot' })).user.id
  })
  afterAll(async () => {
    await integration?.stop()
    await desk?.close()
    await stub?.close()
    await emulator?.close()
    await new Promise<void>((resolve) => (files ? files.close(() => resolve()) : resolve()))
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const deskSettings = () => `baseUrl: ${desk.url}\napiToken: ${desk.apiToken}\n`
  const caller = (configuration: IntegrationConfiguration) => botpressCaller(integration.url, { ...who, botUserId }, configuration)

  /** register, then the start of a hand-off: the configuration works for more than the save. */
  async function handOff(configuration: IntegrationConfiguration) {
    const bp = caller(configuration)
    const registered = await bp.register()
    expect(registered.status, registered.advice ?? registered.body).toBe(200)
    const user = await bp.action('createUser', { name: 'Jane Doe', email: 'jane@example.com' })
    expect(user.status, user.body).toBe(200)
    const started = await bp.action('startHitl', { userId: actionOutput(user, 'userId'), title: 'Where is my parcel?', messageHistory: [] })
    expect(started.status, started.body).toBe(200)
    return actionOutput(started, 'conversationId')
  }

  it('a whole shipped file pasted as is is too large: 431 before the integration runs, and the advice says which way to go', async () => {
    const configuration = { mapping: demoDeskFile, settings: deskSettings() }
    expect(encodedConfigurationSize(configuration)).toBeGreaterThan(NODE_DEFAULT_HEADER_LIMIT)
    const r = await caller(configuration).register()
    expect(r.status).toBe(431)
    expect(r.advice).toMatch(/the configuration is \d+\.\d KiB once encoded, over the 8\.0 KiB/)
    expect(r.advice).toMatch(/\(a\) if it is a shipped mapping, give its name instead \(.*demo-desk.*\)/)
    expect(r.advice).toMatch(/\(b\) host the file at an https URL and give "https:\/\/…\/desk\.yaml#sha256=<hex of the file>"/)
    expect(r.advice).toMatch(/\(c\) paste its packed form \(`npx universal-hitl pack desk\.yaml`: no comments, no fixtures\), \d+\.\d KiB encoded/)
  })

  it('(a) the shipped mapping by name', async () => {
    expect(await handOff({ mapping: 'demo-desk', settings: deskSettings() })).toMatch(/^conv_/)
  })

  it('(c) the packed file, pasted: the same hand-off', async () => {
    const packed = packMapping(demoDeskFile, 'demo-desk.yaml')
    expect(packed).not.toMatch(/^\s*#/m)
    expect(packed).not.toContain('fixtures:')
    const configuration = { mapping: packed, settings: deskSettings() }
    expect(encodedConfigurationSize(configuration)).toBeLessThan(CONFIGURATION_WARN_BYTES)
    await handOff(configuration)
  })

  it('a small mapping pasted as written (comments and all) works as is', async () => {
    const configuration = { mapping: acmeMapping, settings: acmeSettings(stub.url) }
    expect(acmeMapping).toMatch(/^# /m)
    const bp = caller(configuration)
    const before = integration.output.length
    expect((await bp.register()).status).toBe(200)
    expect(integration.output.slice(before).join('\n')).not.toContain('once encoded')
    expect((await bp.action('createUser', { name: 'Ann', email: 'ann@example.com' })).status).toBe(200)
  })

  describe('(b) by URL with an integrity pin', () => {
    it('register fetches the file over https, checks the pin, keeps the text; requests read it from state', async () => {
      served.set('/desks/demo-desk.yaml', demoDeskFile)
      const mapping = `${filesUrl}/desks/demo-desk.yaml#sha256=${sha256(demoDeskFile)}`
      const configuration = { mapping, settings: deskSettings() }
      expect(encodedConfigurationSize(configuration)).toBeLessThan(1024)
      emulator.clearCalls()
      await handOff(configuration)
      const kept = emulator.callsTo('POST', `/v1/chat/states/integration/${who.integrationId}/mappingFile`)
      expect(kept).toHaveLength(1)
      expect(kept[0]!.body).toEqual({ payload: { url: `${filesUrl}/desks/demo-desk.yaml`, sha256: sha256(demoDeskFile), text: demoDeskFile } })
      // The worker fetched it once (register) and cached it: later requests read no state for it.
      expect(emulator.callsTo('GET', `/v1/chat/states/integration/${who.integrationId}/mappingFile`)).toHaveLength(0)
    })

    it('a file changed at the URL without a new pin is refused, saying what to check', async () => {
      const original = demoDeskFile
      served.set('/desks/changed.yaml', original)
      const mapping = `${filesUrl}/desks/changed.yaml#sha256=${sha256(original)}`
      expect((await caller({ mapping, settings: deskSettings() }).register()).status).toBe(200)
      const changed = original.replace('name: Demo Desk', 'name: Demo Desk (changed)')
      served.set('/desks/changed.yaml', changed)
      const r = await caller({ mapping, settings: deskSettings() }).register()
      expect(r.status).toBe(400)
      expect(r.json?.message).toContain(
        `the mapping file at ${filesUrl}/desks/changed.yaml is not the pinned one: its sha256 is ${sha256(changed)}, the configuration pins ${sha256(original)}`,
      )
      expect(r.json?.message).toContain(`put #sha256=${sha256(changed)} in the mapping URL`)
    })

    it('a new pin not yet saved: requests say to save the configuration', async () => {
      const r = await caller({ mapping: `${filesUrl}/desks/other.yaml#sha256=${'a'.repeat(64)}`, settings: deskSettings() }).action('createUser', { name: 'x' })
      expect(r.status).toBe(400)
      expect(r.json?.message).toMatch(/has not been fetched \(the stored file is .*\): save the configuration again so that register fetches it/)
    })

    it('http, a missing pin, a redirect and an unknown path are refused at register', async () => {
      const register = async (mapping: string) => (await caller({ mapping, settings: deskSettings() }).register()).json?.message as string
      expect(await register(`http://127.0.0.1:1/desk.yaml#sha256=${'0'.repeat(64)}`)).toMatch(/a mapping URL must use https \(got http\)/)
      expect(await register(`${filesUrl}/desks/demo-desk.yaml`)).toMatch(/needs an integrity pin: add "#sha256=<hex>"/)
      served.set('/desks/moved.yaml', `redirect:${filesUrl}/desks/demo-desk.yaml`)
      expect(await register(`${filesUrl}/desks/moved.yaml#sha256=${sha256(demoDeskFile)}`)).toMatch(/could not fetch the mapping file .*moved\.yaml: HTTP 302/)
      expect(await register(`${filesUrl}/desks/none.yaml#sha256=${sha256(demoDeskFile)}`)).toMatch(/could not fetch the mapping file .*none\.yaml: HTTP 404/)
    })

    it('a file over the size limit is not read to the end', async () => {
      served.set('/big.yaml', 'x'.repeat(MAX_MAPPING_FILE_BYTES + 1))
      const pin = parsePinnedMappingUrl(`${filesUrl}/big.yaml#sha256=${'0'.repeat(64)}`)!
      await expect(fetchPinnedMapping(pin, { ca: tls.cert })).rejects.toThrow(/is over 512 KiB; that is not a mapping/)
    })

    it('certificates are checked: without the test CA the fetch fails', async () => {
      const pin = parsePinnedMappingUrl(`${filesUrl}/desks/demo-desk.yaml#sha256=${sha256(demoDeskFile)}`)!
      await expect(fetchPinnedMapping(pin)).rejects.toThrow(/could not fetch the mapping file .*self[- ]signed/i)
      expect(await fetchPinnedMapping(pin, { ca: tls.cert })).toBe(demoDeskFile)
    })
  })

  it('(d) register warns over the recommended size and says which way to go', async () => {
    const packedChatwoot = packMapping(readFileSync(join(root, 'mappings', 'chatwoot.yaml'), 'utf8'), 'chatwoot.yaml')
    const configuration = {
      mapping: packedChatwoot,
      settings: 'baseUrl: https://chat.example.com\naccountId: 1\napiToken: tok\ninboxIdentifier: inbox\nwebhookSecret: s\n',
    }
    const size = encodedConfigurationSize(configuration)
    expect(size).toBeGreaterThan(CONFIGURATION_WARN_BYTES)
    expect(size).toBeLessThan(NODE_DEFAULT_HEADER_LIMIT - 1024)
    const before = integration.output.length
    await caller(configuration).register() // the helpdesk is not reachable; the warning comes first
    const logged = integration.output.slice(before).join('\n')
    expect(logged).toMatch(/register: the configuration is \d+\.\d KiB once encoded/)
    expect(logged).toMatch(/\(a\) if it is a shipped mapping, give its name instead \(chatwoot/)
    expect(logged).toMatch(/\(b\) host the file at an https URL/)
    expect(logged).not.toContain('(c) paste its packed form') // it is packed already
  })
})

describe('pinned mapping URLs', () => {
  it('are told apart from names and pasted files', () => {
    expect(parsePinnedMappingUrl('demo-desk')).toBeUndefined()
    expect(parsePinnedMappingUrl('version: 1\nvendor: { name: X, docs: https://x.example }')).toBeUndefined()
    expect(parsePinnedMappingUrl(`https://files.example/desk.yaml#sha256=${'AB'.repeat(32)}`)).toEqual({
      url: 'https://files.example/desk.yaml',
      sha256: 'ab'.repeat(32),
    })
    expect(() => parsePinnedMappingUrl('https://files.example/desk.yaml#sha256=abc')).toThrow(/needs an integrity pin/)
  })
})

describe('universal-hitl pack', () => {
  it('prints the compact form on stdout and its size on stderr', () => {
    const cli = join(root, 'dist', 'cli.cjs')
    const tmp = mkdtempSync(join(tmpdir(), 'uh-pack-'))
    try {
      const file = join(tmp, 'desk.yaml')
      writeFileSync(file, demoDeskFile)
      const out = execFileSync(process.execPath, [cli, 'pack', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      expect(out).toBe(packMapping(demoDeskFile, file))
      const r = spawnSync(process.execPath, [cli, 'pack', file], { encoding: 'utf8' })
      expect(r.stderr).toMatch(
        /desk\.yaml: \d+ bytes → \d+ bytes packed; \d\.\d KiB in the configuration header \(before settings\), fits the recommended 8\.0 KiB/,
      )
      const packedFile = join(tmp, 'packed.yaml')
      writeFileSync(packedFile, out)
      expect(execFileSync(process.execPath, [cli, 'validate', packedFile], { encoding: 'utf8' })).toContain('ok')
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
})
