// Files of the end user's messages uploaded to the helpdesk: downloaded from a (loopback) Botpress file host,
// sent as multipart parts (parsed here, bytes compared) or base64 in JSON; limits fall back to the link.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FileHostNotAllowedError } from '../../src/attachments/downloadFile'
import { engineOf, mappingObject, problemsOf, yamlOf, closeServers } from './helpers'

type Received = { method: string; path: string; contentType: string; bytes: Buffer }
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 1, 254, 0x42])
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(3000, 7)])

const readAll = async (req: IncomingMessage) => {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

let files: Server
let filesUrl: string
let desk: Server
let deskUrl: string
const received: Received[] = []
let streamedBytes = 0

beforeAll(async () => {
  // Plays Botpress's file host.
  files = createServer((req, res) => {
    if (req.url === '/f/receipt.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(PNG)
    if (req.url === '/f/invoice.pdf') return res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF)
    if (req.url === '/f/huge.bin') {
      // No content-length: the limit must be enforced while streaming, not from a header.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' })
      let sent = 0
      const more = () => {
        while (sent < 50 * 1024 * 1024) {
          sent += 64 * 1024
          streamedBytes = sent
          if (!res.write(Buffer.alloc(64 * 1024))) return void res.once('drain', more)
        }
        res.end()
      }
      res.on('close', () => (sent = Infinity))
      return more()
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file')
  })
  filesUrl = await listen(files)
  desk = createServer(async (req, res) => {
    received.push({ method: req.method!, path: req.url!, contentType: req.headers['content-type'] ?? '', bytes: await readAll(req) })
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `m${received.length}` }))
  })
  deskUrl = await listen(desk)
})
afterAll(() => closeServers(files, desk))
afterEach(() => {
  received.length = 0
})

const settings = () => ({ baseUrl: deskUrl, apiToken: 'tok-1' })
const textOp = {
  steps: [{ id: 'm', request: { method: 'POST', path: '/tickets/{{ ticketId }}/messages', body: '{"text": text}' } }],
  result: { messageId: '$steps.m.body.id' },
}
const multipartOp = (files: Record<string, unknown> = {}) => ({
  steps: [
    {
      id: 'm',
      request: {
        method: 'POST',
        path: '/tickets/{{ ticketId }}/attachments',
        body: '{"note": text, "meta": {"ticket": ticketId}}',
        files: { as: 'multipart', field: 'attachments[]', ...files },
      },
    },
  ],
  result: { messageId: '$steps.m.body.id' },
})
const engineWith = (sendMessage: Record<string, unknown>, fileHosts: string[] = ['127.0.0.1']) =>
  engineOf(mappingObject({ operations: { sendMessage: { text: textOp, ...sendMessage } } }), settings(), { fileHosts })
const formOf = (r: Received) => new Response(new Uint8Array(r.bytes), { headers: { 'content-type': r.contentType } }).formData()

describe('files as multipart/form-data', () => {
  it('uploads the image itself: the part has its bytes, name and type beside the text fields', async () => {
    const engine = engineWith({ image: multipartOp() })
    const ids = await engine.sendMessage({ ticketId: 'T1', type: 'image', payload: { imageUrl: `${filesUrl}/f/receipt.png` }, userId: 'u1' })
    expect(ids).toEqual(['m1'])
    expect(received).toHaveLength(1)
    expect(received[0]!.contentType).toMatch(/^multipart\/form-data; boundary=/)
    const form = await formOf(received[0]!)
    expect(form.get('note')).toBe(`[image] ${filesUrl}/f/receipt.png`)
    expect(form.get('meta')).toBe('{"ticket":"T1"}')
    const file = form.get('attachments[]') as File
    expect(file.name).toBe('receipt.png')
    expect(file.type).toBe('image/png')
    expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG)
  })

  it('a bloc with several media uploads each of them in its own part', async () => {
    const engine = engineWith({ bloc: multipartOp() })
    const payload = {
      items: [
        { type: 'text', payload: { text: 'both' } },
        { type: 'image', payload: { imageUrl: `${filesUrl}/f/receipt.png` } },
        { type: 'file', payload: { fileUrl: `${filesUrl}/f/invoice.pdf`, title: 'Invoice March.pdf' } },
      ],
    }
    await engine.sendMessage({ ticketId: 'T1', type: 'bloc', payload, userId: 'u1' })
    const parts = (await formOf(received[0]!)).getAll('attachments[]') as File[]
    expect(parts.map((p) => [p.name, p.type, p.size])).toEqual([
      ['receipt.png', 'image/png', PNG.length],
      ['Invoice March.pdf', 'application/pdf', PDF.length],
    ])
    expect(Buffer.from(await parts[1]!.arrayBuffer())).toEqual(PDF)
  })
})

describe('files as base64 in JSON', () => {
  it('$files gives name, type, size and the base64 content to the body', async () => {
    const op = {
      steps: [
        {
          id: 'm',
          request: {
            method: 'POST',
            path: '/tickets/{{ ticketId }}/messages',
            body: '{"body": text, "attachments": [$files.{"filename": name, "mime": contentType, "size": size, "data": base64}]}',
            files: { as: 'base64' },
          },
        },
      ],
      result: { messageId: '$steps.m.body.id' },
    }
    await engineWith({ file: op }).sendMessage({ ticketId: 'T1', type: 'file', payload: { fileUrl: `${filesUrl}/f/invoice.pdf` }, userId: 'u1' })
    expect(received[0]!.contentType).toBe('application/json')
    const body = JSON.parse(received[0]!.bytes.toString())
    expect(body.attachments).toEqual([{ filename: 'invoice.pdf', mime: 'application/pdf', size: PDF.length, data: PDF.toString('base64') }])
  })
})

describe('files as the whole body (binary)', () => {
  const binaryOp = {
    steps: [
      { id: 'up', request: { method: 'POST', path: '/uploads', query: { filename: '{{ files[0].name }}' }, files: { as: 'binary' } } },
      { id: 'm', request: { method: 'POST', path: '/tickets/{{ ticketId }}/comments', body: '{"text": title, "uploads": [$steps.up.body.id]}' } },
    ],
    result: { messageId: '$steps.m.body.id' },
  }

  it("sends the file's bytes as the body with its content type, the name in the query; later steps use the answer", async () => {
    const ids = await engineWith({ file: binaryOp }).sendMessage({
      ticketId: 'T1',
      type: 'file',
      payload: { fileUrl: `${filesUrl}/f/invoice.pdf`, title: 'Invoice' },
      userId: 'u1',
    })
    expect(ids).toEqual(['m2'])
    expect(received.map((r) => [r.method, r.path, r.contentType])).toEqual([
      ['POST', '/api/uploads?filename=Invoice.pdf', 'application/pdf'],
      ['POST', '/api/tickets/T1/comments', 'application/json'],
    ])
    expect(received[0]!.bytes).toEqual(PDF)
    expect(JSON.parse(received[1]!.bytes.toString())).toEqual({ text: 'Invoice', uploads: ['m1'] })
  })

  it('a binary step with a body, or as a bloc entry, is refused when the mapping is loaded, positioned', () => {
    const withBody = { steps: [{ request: { method: 'POST', path: '/uploads', body: '{"a": 1}', files: { as: 'binary', field: 'file' } } }] }
    const text = yamlOf(mappingObject({ operations: { sendMessage: { text: textOp, file: withBody, bloc: binaryOp } } }))
    expect(problemsOf(text).map((p) => `${p.code} ${p.line}:${p.column} ${p.path} ${p.message}`)).toEqual([
      expect.stringMatching(/^UH-E062 \d+:\d+ operations\.sendMessage\.file\.steps\[0\]\.request\.files .*remove body, files\.field/),
      expect.stringMatching(/^UH-E062 \d+:\d+ operations\.sendMessage\.bloc\.steps\[0\]\.request\.files .*a bloc carries several/),
    ])
  })
})

describe('limits', () => {
  it('a file over maxBytes goes as its link with a note, without reading it whole', async () => {
    const engine = engineWith({ file: multipartOp({ maxBytes: 1024 * 1024 }) })
    const ids = await engine.sendMessage({ ticketId: 'T1', type: 'file', payload: { fileUrl: `${filesUrl}/f/huge.bin`, title: 'backup.bin' }, userId: 'u1' })
    expect(ids).toEqual(['m1'])
    expect(received.map((r) => r.path)).toEqual(['/api/tickets/T1/messages'])
    expect(JSON.parse(received[0]!.bytes.toString())).toEqual({
      text: `[file] backup.bin: ${filesUrl}/f/huge.bin (not attached: it is over the helpdesk's 1 MB limit)`,
    })
    // The download stopped soon after the limit (the server had 50 MB to give).
    expect(streamedBytes).toBeLessThan(20 * 1024 * 1024)
  })

  it('a type the step does not take goes as its link, naming the type', async () => {
    await engineWith({ file: multipartOp({ contentTypes: ['image/*'] }) }).sendMessage({
      ticketId: 'T1',
      type: 'file',
      payload: { fileUrl: `${filesUrl}/f/invoice.pdf` },
      userId: 'u1',
    })
    expect(JSON.parse(received[0]!.bytes.toString()).text).toMatch(/\(not attached: the helpdesk does not take application\/pdf files here\)$/)
  })

  it('a download that answers 404 goes as text naming the failure', async () => {
    await engineWith({ image: multipartOp() }).sendMessage({ ticketId: 'T1', type: 'image', payload: { imageUrl: `${filesUrl}/f/gone.png` }, userId: 'u1' })
    expect(JSON.parse(received[0]!.bytes.toString())).toEqual({
      text: `[image] ${filesUrl}/f/gone.png (not attached: downloading it from Botpress answered 404)`,
    })
  })

  it('a host that is not a Botpress file host is a clear error, and nothing is fetched or sent', async () => {
    const engine = engineWith({ image: multipartOp() }, ['files.bpcontent.cloud'])
    const e = await engine.sendMessage({ ticketId: 'T1', type: 'image', payload: { imageUrl: `${filesUrl}/f/receipt.png` }, userId: 'u1' }).then(
      () => undefined,
      (err: Error) => err,
    )
    expect(e).toBeInstanceOf(FileHostNotAllowedError)
    expect(e!.message).toBe(
      `files are only downloaded from Botpress file hosts (files.bpcontent.cloud), not ${new URL(filesUrl).host}: receipt.png was not sent`,
    )
    expect(received).toHaveLength(0)
  })
})
