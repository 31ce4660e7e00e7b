// Redirects of file downloads, against real loopback servers: the helpdesk's file URL (re-hosting, with the
// mapping's credentials) and a Botpress file URL (uploads) are followed only to hosts the first URL was checked
// against; the credentials go only to the first URL's origin; anything else is a FileNotAttached, never a
// redirect page taken for the file.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MAX_FILE_REDIRECTS } from '../../src/attachments/downloadFile'
import { bearerDeskEngine, engineOf, fileNotAttachedNote, mappingObject, closeServers } from './helpers'

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2000, 3)])
const TOKEN = 'tok-redirect-1'
const KEY = 'key-in-query-1'

type Seen = { server: 'desk' | 'cdn'; path: string; headers: IncomingHttpHeaders }
const seen: Seen[] = []
/** Bodies the helpdesk's API was sent. */
const posted: string[] = []
let desk: Server
let deskUrl: string
let cdn: Server
let cdnUrl: string

const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
const redirect = (res: ServerResponse, location?: string, status = 302) =>
  res.writeHead(status, { 'content-type': 'text/html', ...(location ? { location } : {}) }).end('<html>Moved</html>')

beforeAll(async () => {
  // Plays a CDN on another origin: serves signed URLs, wants no helpdesk credentials.
  cdn = createServer((req, res) => {
    seen.push({ server: 'cdn', path: req.url!, headers: req.headers })
    if (req.url!.startsWith('/signed/terms.pdf?sig=abc')) return res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF)
    if (req.url === '/back') return redirect(res, `${deskUrl}/files/protected.pdf`)
    if (req.url === '/bp/f/receipt.pdf') return res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF)
    if (req.url === '/bp/f/moved.pdf') return redirect(res, '/bp/f/receipt.pdf', 301)
    if (req.url === '/bp/f/elsewhere.pdf') return redirect(res, 'http://localhost:9/receipt.pdf')
    if (req.url === '/bp/f/no-location.pdf') return redirect(res)
    if (req.url === '/bp/f/loop.pdf') return redirect(res, '/bp/f/loop.pdf', 303)
    res.writeHead(404).end('no')
  })
  cdnUrl = await listen(cdn)
  // Plays the helpdesk (and, for uploads, Botpress's file host): files behind the token, and redirects.
  desk = createServer(async (req, res) => {
    if (req.url!.startsWith('/api/')) {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      posted.push(Buffer.concat(chunks).toString())
      return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `m${posted.length}` }))
    }
    seen.push({ server: 'desk', path: req.url!, headers: req.headers })
    const path = req.url!.split('?')[0]!
    const authorized = req.headers.authorization === `Bearer ${TOKEN}` || new URL(req.url!, deskUrl).searchParams.get('key') === KEY
    if (path === '/files/protected.pdf') return authorized ? res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF) : res.writeHead(401).end('no')
    if (path === '/files/moved.pdf') return redirect(res, '/files/protected.pdf')
    if (path === '/files/to-cdn.pdf') return redirect(res, `${cdnUrl}/signed/terms.pdf?sig=abc`, 307)
    if (path === '/files/to-cdn-and-back.pdf') return redirect(res, `${cdnUrl}/back`)
    if (path === '/files/elsewhere.pdf') return redirect(res, 'http://localhost:9/evil.pdf')
    if (path === '/files/no-location.pdf') return redirect(res)
    if (path === '/files/loop.pdf') return redirect(res, '/files/loop.pdf')
    const hop = /^\/files\/chain\/(\d+)$/.exec(path)
    if (hop)
      return Number(hop[1]) === 0 ? res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF) : redirect(res, `/files/chain/${Number(hop[1]) - 1}`)
    res.writeHead(404).end('no such file')
  })
  deskUrl = await listen(desk)
})
afterAll(() => closeServers(desk, cdn))
afterEach(() => {
  seen.length = 0
  posted.length = 0
})
/** A sendMessage entry posting `body` to the ticket (with `extra` request fields, e.g. `files`). */
const postMessage = (body: string, extra: Record<string, unknown> = {}) => ({
  steps: [{ id: 'm', request: { method: 'POST', path: '/tickets/{{ ticketId }}/messages', body, ...extra } }],
  result: { messageId: '$steps.m.body.id' },
})

const rehostEngine = (http: Record<string, unknown> = {}) => bearerDeskEngine(deskUrl, TOKEN, http)
const rehost = (engine: ReturnType<typeof rehostEngine>, path: string) =>
  engine.downloadAgentFile({ url: `${deskUrl}${path}`, name: 'terms.pdf', contentType: 'application/pdf' })
const failureOf = fileNotAttachedNote

describe("re-hosting an agent's file: redirects", () => {
  it('a redirect on the same origin is followed with the credentials', async () => {
    const file = await rehost(rehostEngine(), '/files/moved.pdf')
    expect(file).toMatchObject({ name: 'terms.pdf', contentType: 'application/pdf', size: PDF.length })
    expect(file.bytes).toEqual(PDF)
    expect(seen.map((s) => [s.path, s.headers.authorization])).toEqual([
      ['/files/moved.pdf', `Bearer ${TOKEN}`],
      ['/files/protected.pdf', `Bearer ${TOKEN}`],
    ])
  })

  it("auth's query parameters go to the same origin's redirect target too", async () => {
    const file = await rehost(rehostEngine({ auth: { type: 'apiKey', in: 'query', name: 'key', value: KEY } }), '/files/moved.pdf')
    expect(file.bytes).toEqual(PDF)
    expect(seen.map((s) => s.path)).toEqual([`/files/moved.pdf?key=${KEY}`, `/files/protected.pdf?key=${KEY}`])
  })

  it('a redirect to another allowed origin (a CDN) is followed WITHOUT the credentials', async () => {
    const engine = rehostEngine({ headers: { 'x-api-key': TOKEN }, allowedHosts: [cdnUrl] })
    const file = await rehost(engine, '/files/to-cdn.pdf')
    expect(file.bytes).toEqual(PDF)
    expect(seen.map((s) => s.server)).toEqual(['desk', 'cdn'])
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(seen[0]!.headers['x-api-key']).toBe(TOKEN)
    const atCdn = seen[1]!
    expect(atCdn.path).toBe('/signed/terms.pdf?sig=abc')
    expect(atCdn.headers.authorization).toBeUndefined()
    expect(atCdn.headers['x-api-key']).toBeUndefined()
    expect(JSON.stringify(atCdn.headers)).not.toContain(TOKEN)
  })

  it('auth query parameters are not sent to another origin either', async () => {
    const engine = rehostEngine({ auth: { type: 'apiKey', in: 'query', name: 'key', value: KEY }, allowedHosts: [cdnUrl] })
    expect((await rehost(engine, '/files/to-cdn.pdf')).bytes).toEqual(PDF)
    expect(seen.map((s) => s.path)).toEqual([`/files/to-cdn.pdf?key=${KEY}`, '/signed/terms.pdf?sig=abc'])
  })

  it('coming back from the CDN to the original origin, the credentials are sent again', async () => {
    const file = await rehost(rehostEngine({ allowedHosts: [cdnUrl] }), '/files/to-cdn-and-back.pdf')
    expect(file.bytes).toEqual(PDF)
    expect(seen.map((s) => [s.server, s.headers.authorization])).toEqual([
      ['desk', `Bearer ${TOKEN}`],
      ['cdn', undefined],
      ['desk', `Bearer ${TOKEN}`],
    ])
  })

  it('a redirect to a host the mapping does not allow is not followed: FileNotAttached naming it', async () => {
    const note = await failureOf(rehost(rehostEngine({ allowedHosts: [cdnUrl] }), '/files/elsewhere.pdf'))
    expect(note).toBe(
      `the helpdesk redirected it to http://localhost:9, where it may not be fetched from: requests may only go to ${deskUrl} or ${cdnUrl}, not http://localhost:9; list it in http.allowedHosts if it is the helpdesk's`,
    )
    expect(seen).toHaveLength(1)
  })

  it('the CDN origin is not allowed unless listed', async () => {
    const note = await failureOf(rehost(rehostEngine(), '/files/to-cdn.pdf'))
    expect(note).toMatch(new RegExp(`^the helpdesk redirected it to ${cdnUrl}, where it may not be fetched from`))
    expect(seen.map((s) => s.server)).toEqual(['desk'])
  })

  it(`more than ${MAX_FILE_REDIRECTS} redirects: FileNotAttached; ${MAX_FILE_REDIRECTS} are followed`, async () => {
    const engine = rehostEngine()
    expect((await rehost(engine, `/files/chain/${MAX_FILE_REDIRECTS}`)).bytes).toEqual(PDF)
    seen.length = 0
    const note = await failureOf(rehost(engine, `/files/chain/${MAX_FILE_REDIRECTS + 1}`))
    expect(note).toBe(`downloading it from the helpdesk took more than ${MAX_FILE_REDIRECTS} redirects`)
    expect(seen).toHaveLength(MAX_FILE_REDIRECTS + 1)
  })

  it('a redirect loop: FileNotAttached, stopped at the first repeat', async () => {
    expect(await failureOf(rehost(rehostEngine(), '/files/loop.pdf'))).toBe('downloading it from the helpdesk redirects in a loop')
    expect(seen).toHaveLength(1)
  })

  it('a 302 is no longer taken for the file: without a Location it is FileNotAttached', async () => {
    expect(await failureOf(rehost(rehostEngine(), '/files/no-location.pdf'))).toBe('downloading it from the helpdesk answered 302 without a Location to follow')
  })
})

describe('uploading a Botpress file: redirects stay on Botpress file hosts', () => {
  // Botpress's file host is the CDN server here (any 127.0.0.1 port is a Botpress file host in these tests);
  // the helpdesk's API is `desk`, which records what it was sent.
  const upload = postMessage('{"text": text, "files": [$files.{"name": name, "size": size}]}', { files: { as: 'base64' } })
  const send = (fileUrl: string) =>
    engineOf(
      mappingObject({ operations: { sendMessage: { text: postMessage('{"text": text}'), file: upload } } }),
      { baseUrl: deskUrl, apiToken: TOKEN },
      { fileHosts: ['127.0.0.1'] },
    ).sendMessage({
      ticketId: 'T1',
      type: 'file',
      payload: { fileUrl, title: 'receipt.pdf' },
      userId: 'u1',
    })
  const sentTo = () => posted.map((p) => JSON.parse(p) as { text: string; files?: unknown })

  it('a redirect on a Botpress file host is followed and the file uploaded', async () => {
    await send(`${cdnUrl}/bp/f/moved.pdf`)
    expect(sentTo()).toEqual([{ text: `[file] receipt.pdf: ${cdnUrl}/bp/f/moved.pdf`, files: [{ name: 'receipt.pdf', size: PDF.length }] }])
  })

  it('a redirect off the Botpress file hosts is not followed: the message goes as its link, naming why', async () => {
    await send(`${cdnUrl}/bp/f/elsewhere.pdf`)
    expect(sentTo()).toEqual([
      {
        text: `[file] receipt.pdf: ${cdnUrl}/bp/f/elsewhere.pdf (not attached: Botpress redirected it to http://localhost:9, where it may not be fetched from: files are only downloaded from Botpress file hosts (127.0.0.1), not localhost:9)`,
      },
    ])
    expect(seen.filter((s) => s.server === 'cdn')).toHaveLength(1)
  })

  it('a 302 without a Location is not uploaded as the file: the link goes, naming why', async () => {
    await send(`${cdnUrl}/bp/f/no-location.pdf`)
    expect(sentTo()).toEqual([
      { text: `[file] receipt.pdf: ${cdnUrl}/bp/f/no-location.pdf (not attached: downloading it from Botpress answered 302 without a Location to follow)` },
    ])
  })

  it('a redirect loop: the link goes, naming why', async () => {
    await send(`${cdnUrl}/bp/f/loop.pdf`)
    expect(sentTo()[0]!.text).toMatch(/\(not attached: downloading it from Botpress redirects in a loop\)$/)
  })
})
