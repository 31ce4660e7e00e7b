// Re-hosting an agent's file its helpdesk serves as JSON with the bytes base64-encoded (`rehost: {base64}`, Help
// Scout's attachment data endpoint), against real loopback servers: the file comes out byte for byte; an answer
// that is not JSON, lacks the field, is not base64 or is too large is a FileNotAttached naming why; the
// credentials go where they go for `rehost: true` (the file URL's origin only).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MAX_REHOST_BYTES, MAX_REHOST_JSON_BYTES } from '../../src/engine/createEngine'
import { listenOnLoopback } from '../../src/http/localServer'
import { bearerDeskEngine, fileNotAttachedNote, closeServers } from './helpers'

// Every byte value, so a decoding that went through text would show.
const FILE = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256))
const TOKEN = 'tok-base64-1'
/** Decodes to one byte over the re-host limit (built once: 33 MB of base64). */
const OVER_LIMIT = JSON.stringify({ data: Buffer.alloc(MAX_REHOST_BYTES + 1, 1).toString('base64') })

/** Requests the two servers got: which one, the path, the headers (credentials). */
const seen: { server: 'desk' | 'cdn'; path: string; headers: IncomingHttpHeaders }[] = []
let desk: Server
let cdn: Server
let deskUrl: string
let cdnUrl: string
const loopbackUrl = async (server: Server) => `http://127.0.0.1:${await listenOnLoopback(server)}`
const json = (value: unknown) => ({ type: 'application/json', body: JSON.stringify(value) })

beforeAll(async () => {
  cdn = createServer((req, res) => {
    seen.push({ server: 'cdn', path: req.url!, headers: req.headers })
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: FILE.toString('base64') }))
  })
  cdnUrl = await loopbackUrl(cdn)
  // Plays the helpdesk: each path answers as a data endpoint might, behind the token.
  const answers: Record<string, { type: string; body: string | Buffer }> = {
    '/v2/attachments/1/data': json({ data: FILE.toString('base64') }),
    '/v2/attachments/2/data': json({ attachment: { id: 2, content: { data: FILE.toString('base64') } } }),
    '/v2/attachments/3/data': json({ data: FILE.toString('base64').replace(/.{76}/g, '$&\r\n') }),
    '/v2/attachments/missing/data': json({ id: 4, size: 3000 }),
    '/v2/attachments/number/data': json({ data: 12345 }),
    '/v2/attachments/garbled/data': json({ data: 'not base64, a sentence.' }),
    '/v2/attachments/padded/data': json({ data: 'QQ==QQ==' }),
    '/v2/attachments/html/data': { type: 'text/html; charset=utf-8', body: '<html>Sign in</html>' },
    '/v2/attachments/big/data': { type: 'application/json', body: OVER_LIMIT },
    '/v2/attachments/huge/data': { type: 'application/json', body: Buffer.alloc(MAX_REHOST_JSON_BYTES + 1, 0x20) },
  }
  desk = createServer((req, res) => {
    seen.push({ server: 'desk', path: req.url!, headers: req.headers })
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end('no')
    if (req.url === '/v2/attachments/to-cdn/data') return res.writeHead(302, { location: `${cdnUrl}/signed/data?sig=1` }).end()
    const answer = answers[req.url!]
    if (!answer) return res.writeHead(404).end('no such attachment')
    res.writeHead(200, { 'content-type': answer.type, 'content-length': Buffer.byteLength(answer.body) }).end(answer.body)
  })
  deskUrl = await loopbackUrl(desk)
})
afterAll(() => closeServers(desk, cdn))
afterEach(() => {
  seen.length = 0
})

const engineWith = (http: Record<string, unknown> = {}) => bearerDeskEngine(deskUrl, TOKEN, { baseUrl: '{{ $settings.baseUrl }}/v2', ...http })
const fetchData = (id: string, file: { name?: string; contentType?: string } = {}, field = 'data', engine = engineWith()) =>
  engine.downloadAgentFile({ url: `${deskUrl}/v2/attachments/${id}/data`, name: file.name ?? 'label.pdf', contentType: file.contentType }, { base64: field })
const failureOf = fileNotAttachedNote

describe("re-hosting an agent's file served as base64 in JSON (rehost: {base64})", () => {
  it('the field is decoded: the exact bytes, asked for as JSON with the credentials', async () => {
    const file = await fetchData('1', { contentType: 'application/pdf' })
    expect(file).toMatchObject({ name: 'label.pdf', contentType: 'application/pdf', size: FILE.length })
    expect(file.bytes.equals(FILE)).toBe(true)
    expect(seen.map((s) => [s.path, s.headers.authorization, s.headers.accept])).toEqual([['/v2/attachments/1/data', `Bearer ${TOKEN}`, 'application/json']])
  })

  it('a dotted path reads a nested field; line breaks in the base64 are allowed', async () => {
    expect((await fetchData('2', {}, 'attachment.content.data')).bytes.equals(FILE)).toBe(true)
    expect((await fetchData('3')).bytes.equals(FILE)).toBe(true)
  })

  it("the content type: the attachment's, else the name's extension, else application/octet-stream (never the JSON's)", async () => {
    expect((await fetchData('1', { name: 'shot.png', contentType: 'image/png; charset=binary' })).contentType).toBe('image/png')
    expect((await fetchData('1', { name: 'Return Label.PDF' })).contentType).toBe('application/pdf')
    expect((await fetchData('1', { name: 'dump.bin' })).contentType).toBe('application/octet-stream')
    expect((await fetchData('1', { name: 'README' })).contentType).toBe('application/octet-stream')
  })

  it('an answer that is not JSON, without the field, or whose field is not base64 text: FileNotAttached saying which', async () => {
    expect(await failureOf(fetchData('html'))).toBe(`the helpdesk answered text/html, not the JSON with the file's base64 at "data"`)
    expect(await failureOf(fetchData('missing'))).toBe(`the helpdesk's JSON answer has no text at "data" (the file's base64)`)
    expect(await failureOf(fetchData('1', {}, 'attachment.data'))).toBe(`the helpdesk's JSON answer has no text at "attachment.data" (the file's base64)`)
    expect(await failureOf(fetchData('number'))).toBe(`the helpdesk's JSON answer has no text at "data" (the file's base64)`)
    expect(await failureOf(fetchData('garbled'))).toBe(`"data" in the helpdesk's JSON answer is not base64`)
    expect(await failureOf(fetchData('padded'))).toBe(`"data" in the helpdesk's JSON answer is not base64`)
  })

  it('an error status or a rehost without a field path: FileNotAttached', async () => {
    expect(await failureOf(fetchData('gone'))).toBe('downloading it from the helpdesk answered 404')
    expect(await failureOf(fetchData('1', {}, ''))).toBe("the mapping's `rehost` names no `base64` field")
    expect(seen.map((s) => s.path)).toEqual(['/v2/attachments/gone/data'])
  })

  it(`a file over ${MAX_REHOST_BYTES / 1024 / 1024} MB once decoded, or a JSON answer over its own bound, is not taken`, async () => {
    expect(await failureOf(fetchData('big'))).toBe('it is over the 25 MB limit once decoded from base64')
    expect(await failureOf(fetchData('huge'))).toMatch(/^\d+(\.\d)? MB is over a base64 answer's \d+(\.\d)? MB limit$/)
  })

  it("the credentials go only to the file URL's origin: a redirect to a listed CDN gets none", async () => {
    const file = await fetchData('to-cdn', {}, 'data', engineWith({ headers: { 'x-api-key': TOKEN }, allowedHosts: [cdnUrl] }))
    expect(file.bytes.equals(FILE)).toBe(true)
    expect(seen.map((s) => [s.server, s.headers.authorization, s.headers['x-api-key']])).toEqual([
      ['desk', `Bearer ${TOKEN}`, TOKEN],
      ['cdn', undefined, undefined],
    ])
    expect(JSON.stringify(seen[1]!.headers)).not.toContain(TOKEN)
  })

  it('a host the mapping does not allow is refused before any request', async () => {
    const engine = engineWith()
    const e = await engine.downloadAgentFile({ url: 'https://elsewhere.example/v2/attachments/1/data', name: 'x.pdf' }, { base64: 'data' }).then(
      () => undefined,
      (err: Error) => err,
    )
    expect(e?.message).toMatch(/requests may only go to .*elsewhere\.example/)
    expect(seen).toHaveLength(0)
  })
})
