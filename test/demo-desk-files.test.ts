// Demo Desk file uploads: multipart/form-data on the message and reply routes (parsed, bytes kept exactly),
// the served files (token, headers, bytes), and every limit answered with a clear error. Real HTTP on 127.0.0.1.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MAX_FILE_BYTES, MAX_FILES_PER_MESSAGE, MAX_MULTIPART_BYTES, startDemoDesk, type DemoDesk, type WebhookPayload } from '../src/sandbox/demo-desk'

const TOKEN = 'test-token'
const auth = { authorization: `Bearer ${TOKEN}` }
/** Every byte value, so a text decoding anywhere on the way would show. */
const BINARY = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256))
const PDF = Buffer.from('%PDF-1.4\n% return label\n%%EOF\n')

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field in the assertions
type Answer = { status: number; headers: Headers; body: any }

const answer = async (res: Response): Promise<Answer> => {
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

const form = (fields: Record<string, string>, files: { name: string; type?: string; bytes: Buffer; field?: string }[] = []) => {
  const f = new FormData()
  for (const [k, v] of Object.entries(fields)) f.append(k, v)
  for (const file of files) f.append(file.field ?? 'files', new Blob([new Uint8Array(file.bytes)], file.type ? { type: file.type } : {}), file.name)
  return f
}

describe('Demo Desk file uploads', () => {
  let desk: DemoDesk
  let ticketId: string

  const post = async (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    answer(await fetch(`${desk.url}/api${path}`, { method: 'POST', headers: { ...auth, ...headers }, body }))
  const json = async (method: string, path: string, body?: unknown) =>
    answer(
      await fetch(`${desk.url}/api${path}`, {
        method,
        headers: { ...auth, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    )

  beforeEach(async () => {
    desk = await startDemoDesk({ apiToken: TOKEN, retryDelaysMs: [], maxStoredFileBytes: 3 * 1024 * 1024 })
    const contact = (await json('POST', '/contacts', { name: 'Jane Doe' })).body.contact
    ticketId = (await json('POST', '/tickets', { contactId: contact.id, subject: 'Parcel' })).body.ticket.id
  })
  afterEach(async () => desk.close())

  it('takes a contact message with files: each stored with its name, type and exact bytes, served back at its URL', async () => {
    const r = await post(
      `/tickets/${ticketId}/messages`,
      form({ text: 'The parcel', authorType: 'contact' }, [
        { name: 'damaged box.png', type: 'image/png', bytes: BINARY },
        { name: 'receipt.pdf', type: 'application/pdf', bytes: PDF },
      ]),
    )
    expect(r.status).toBe(201)
    expect(r.body.message).toMatchObject({ authorType: 'contact', text: 'The parcel' })
    expect(r.body.message.attachments).toEqual([
      {
        url: `${desk.url}/files/fil_1/damaged%20box.png`,
        title: 'damaged box.png',
        kind: 'image',
        fileId: 'fil_1',
        contentType: 'image/png',
        size: BINARY.length,
      },
      { url: `${desk.url}/files/fil_2/receipt.pdf`, title: 'receipt.pdf', kind: 'file', fileId: 'fil_2', contentType: 'application/pdf', size: PDF.length },
    ])
    expect(desk.store.fileContent('fil_1')!.bytes.equals(BINARY)).toBe(true)

    const image = await fetch(r.body.message.attachments[0].url, { headers: auth })
    expect(image.status).toBe(200)
    expect(image.headers.get('content-type')).toBe('image/png')
    expect(image.headers.get('content-length')).toBe(String(BINARY.length))
    expect(image.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''damaged%20box.png")
    expect(image.headers.get('x-content-type-options')).toBe('nosniff')
    expect(image.headers.get('content-security-policy')).toContain('sandbox')
    expect(Buffer.from(await image.arrayBuffer()).equals(BINARY)).toBe(true)
    const pdf = await fetch(r.body.message.attachments[1].url, { headers: auth })
    expect(pdf.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''receipt.pdf")
    expect(Buffer.from(await pdf.arrayBuffer()).equals(PDF)).toBe(true)
    const head = await fetch(r.body.message.attachments[1].url, { method: 'HEAD', headers: auth })
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, String(PDF.length), ''])
  })

  it('serves files only with the token, by their id and name', async () => {
    await post(`/tickets/${ticketId}/messages`, form({}, [{ name: 'receipt.pdf', type: 'application/pdf', bytes: PDF }]))
    const url = `${desk.url}/files/fil_1/receipt.pdf`
    const anonymous = await answer(await fetch(url))
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(anonymous.body.error.code).toBe('unauthorized')
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await answer(await fetch(`${desk.url}/files/fil_1/other.pdf`, { headers: auth }))).body.error.code).toBe('not_found')
    expect((await fetch(`${desk.url}/files/fil_9/receipt.pdf`, { headers: auth })).status).toBe(404)
    expect((await fetch(`${desk.url}/files/fil_1/%E0%A4%A.pdf`, { headers: auth })).status).toBe(404)
    expect((await fetch(url, { method: 'DELETE', headers: auth })).status).toBe(405)
  })

  it('parses a hand-written body: CRLF in a text part, a filename with a space, a file part without Content-Type', async () => {
    const boundary = '----desk-test-boundary'
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nline one\r\nline two\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="notes v2.bin"\r\n\r\n`),
      BINARY,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
    const r = await post(`/tickets/${ticketId}/messages`, body, { 'content-type': `multipart/form-data; boundary=${boundary}` })
    expect(r.status).toBe(201)
    expect(r.body.message.text).toBe('line one\nline two') // the form's CRLF, stored as a JSON message's \n
    // RFC 7578 §4.4: a part's Content-Type defaults to text/plain.
    expect(r.body.message.attachments).toMatchObject([{ title: 'notes v2.bin', kind: 'file', contentType: 'text/plain', size: BINARY.length }])
    expect(desk.store.fileContent('fil_1')!.bytes.equals(BINARY)).toBe(true)
  })

  it("takes an agent's reply with files, with or without text, and the webhook carries them", async () => {
    const received: WebhookPayload[] = []
    const receiver = http.createServer((req, res) => {
      let raw = ''
      req.on('data', (c) => (raw += c))
      req.on('end', () => {
        received.push(JSON.parse(raw))
        res.end('ok')
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    try {
      await json('POST', '/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['message.created'] })
      const only = await post(`/tickets/${ticketId}/reply`, form({ agentId: 'agt_1' }, [{ name: 'return-label.pdf', type: 'application/pdf', bytes: PDF }]))
      expect(only.status).toBe(201)
      expect(only.body.message).toMatchObject({ authorType: 'agent', authorId: 'agt_1', text: '' })
      const withText = await post(
        `/tickets/${ticketId}/reply`,
        form({ agentId: 'agt_2', text: 'And a photo' }, [{ name: 'p.jpg', type: 'image/jpeg', bytes: BINARY }]),
      )
      expect(withText.body.message).toMatchObject({
        authorName: 'Bob Builder',
        text: 'And a photo',
        attachments: [{ title: 'p.jpg', kind: 'image', size: BINARY.length }],
      })
      const deadline = performance.now() + 5000
      while (received.length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(received.map((p) => p.message!.attachments)).toEqual([only.body.message.attachments, withText.body.message.attachments])
      expect(received[0]!.agent).toMatchObject({ id: 'agt_1' })
      // A reply with neither text nor files, or naming no agent, is refused.
      expect((await post(`/tickets/${ticketId}/reply`, form({ agentId: 'agt_1' }))).status).toBe(400)
      expect((await post(`/tickets/${ticketId}/reply`, form({}, [{ name: 'a.pdf', bytes: PDF }]))).body.error.message).toBe('`agentId` is required')
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()))
    }
  })

  it('does an upload with an Idempotency-Key once: the retry is replayed, the file stored once', async () => {
    const send = () =>
      post(`/tickets/${ticketId}/messages`, form({ text: 'x' }, [{ name: 'a.pdf', type: 'application/pdf', bytes: PDF }]), { 'idempotency-key': 'bp_msg_1' })
    const first = await send()
    const again = await send()
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)
    expect(desk.store.files).toHaveLength(1)
  })

  describe('limits and bad input: a clear error, nothing stored', () => {
    const refused = async (r: Answer | Promise<Answer>, status: number, code: string, message?: RegExp) => {
      const a = await r
      expect({ status: a.status, code: a.body?.error?.code }).toEqual({ status, code })
      if (message) expect(a.body.error.message).toMatch(message)
      expect(desk.store.files).toEqual([])
      expect(desk.store.messagesOf(ticketId)).toEqual([])
    }
    const messages = (body: BodyInit, headers?: Record<string, string>) => post(`/tickets/${ticketId}/messages`, body, headers)

    it('a file over MAX_FILE_BYTES is 413 naming it and the limit', async () => {
      await refused(
        messages(form({ text: 'big' }, [{ name: 'scan.pdf', type: 'application/pdf', bytes: Buffer.alloc(MAX_FILE_BYTES + 1) }])),
        413,
        'file_too_large',
        /^File 1 \(scan\.pdf\) is 10 MB; the desk takes files up to 10 MB$/,
      )
    })

    it('a body over MAX_MULTIPART_BYTES is 413, answered (not a reset connection)', async () => {
      const big = Buffer.alloc(MAX_MULTIPART_BYTES / 2 - 1000)
      const three = form(
        {},
        [0, 1, 2].map((i) => ({ name: `part${i}.bin`, bytes: big })),
      )
      await refused(messages(three), 413, 'payload_too_large', /^The multipart body is 30.1 MB; the desk takes at most 20.1 MB$/)
    })

    it(`more than MAX_FILES_PER_MESSAGE files is 400`, async () => {
      const many = Array.from({ length: MAX_FILES_PER_MESSAGE + 1 }, (_, i) => ({ name: `f${i}.txt`, type: 'text/plain', bytes: Buffer.from('x') }))
      await refused(messages(form({}, many)), 400, 'too_many_files', /^11 files in one message; at most 10$/)
    })

    it('the store past its memory budget is 507, and keeps what it had', async () => {
      const mb = Buffer.alloc(1024 * 1024)
      expect(
        (
          await messages(
            form({}, [
              { name: 'a.bin', bytes: mb },
              { name: 'b.bin', bytes: mb },
            ]),
          )
        ).status,
      ).toBe(201)
      const full = await messages(
        form({}, [
          { name: 'c.bin', bytes: mb },
          { name: 'd.bin', bytes: mb },
        ]),
      )
      expect([full.status, full.body.error.code]).toEqual([507, 'storage_full'])
      expect(full.body.error.message).toBe('The desk keeps at most 3 MB of files in memory; restart it to start afresh')
      expect(desk.store.files.map((f) => f.name)).toEqual(['a.bin', 'b.bin'])
    })

    it('malformed multipart bodies are 400 invalid_multipart', async () => {
      await refused(messages('just text', { 'content-type': 'multipart/form-data' }), 400, 'invalid_multipart', /needs a boundary parameter/)
      await refused(
        messages('no parts here', { 'content-type': 'multipart/form-data; boundary=abc' }),
        400,
        'invalid_multipart',
        /not valid multipart\/form-data/,
      )
      const unterminated = '--abc\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello'
      await refused(messages(unterminated, { 'content-type': 'multipart/form-data; boundary=abc' }), 400, 'invalid_multipart')
    })

    it('wrong parts are 400 naming the field', async () => {
      await refused(messages(form({ colour: 'red' })), 400, 'invalid_request', /^Unknown form field `colour`; this route takes `text`, `authorType`, `files`$/)
      await refused(messages(form({ files: 'not a file' })), 400, 'invalid_request', /`files` parts must be files/)
      await refused(messages(form({}, [{ name: 'x.txt', bytes: Buffer.from('x'), field: 'text' }])), 400, 'invalid_request', /`text` must be a text field/)
      await refused(messages(form({}, [{ name: 'empty.txt', bytes: Buffer.alloc(0) }])), 400, 'invalid_request', /^File 1 \(empty\.txt\) is empty$/)
      await refused(messages(form({ authorType: 'agent' }, [{ name: 'a.txt', bytes: Buffer.from('a') }])), 400, 'invalid_request', /authorType/)
    })

    it('files on a route that takes none are 415; on a closed ticket 409', async () => {
      const r = await post('/contacts', form({ name: 'x' }))
      expect([r.status, r.body.error.code]).toEqual([415, 'unsupported_media_type'])
      expect(r.body.error.message).toBe('POST /api/contacts takes a JSON body, not multipart/form-data (only messages and replies take files)')
      await json('POST', `/tickets/${ticketId}/close`)
      await refused(messages(form({}, [{ name: 'a.pdf', bytes: PDF }])), 409, 'ticket_not_open')
    })
  })
})
