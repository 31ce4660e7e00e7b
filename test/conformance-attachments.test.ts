import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actionOutput } from '../src/sandbox/integrationServer'
import { acmeMapping, acmeSettings, SECRETS, signedAcmeDelivery, startStack } from './support/harness'
import { replaceOnce } from './engine/helpers'
import { MAX_REHOST_BYTES } from '../src/engine/createEngine'

type Stack = Awaited<ReturnType<typeof startStack>>

// The Acme mapping with the agent's files read from the reply.
const mapping = replaceOnce(
  acmeMapping,
  `      message: { type: 'message.attachment ? "image" : "text"', text: message.text, url: message.attachment }\n`,
  `      message: { text: message.text }\n      attachments: 'message.files.{"url": url, "name": name, "contentType": type}'\n`,
)

/** An agent reply with files: the text, then one Botpress media message per file, all from the agent. */
describe('conformance: agent attachments become Botpress media messages', () => {
  let s: Stack
  let bp: Stack['bp']
  let conversationId: string
  const TICKET = 'T-300'

  beforeAll(async () => {
    s = await startStack()
    bp = s.withConfiguration({ mapping, settings: acmeSettings(s.helpdesk.url) })
    s.helpdesk.route({ method: 'POST', path: '/api/contacts', respond: () => ({ status: 201, body: { contact: { id: 'c_1' } } }) })
    s.helpdesk.route({ method: 'POST', path: '/api/tickets', respond: () => ({ status: 201, body: { ticket: { id: TICKET } } }) })
    const userId = actionOutput(await bp.action('createUser', { name: 'Jane Doe', email: 'jane@example.com' }), 'userId')
    conversationId = actionOutput(await bp.action('startHitl', { userId, title: 'Help', messageHistory: [] }), 'conversationId')
  })
  afterAll(async () => s?.stop())

  const reply = (id: string, text: string, files: unknown[]) => ({
    event: 'message.created',
    ticket: { id: TICKET },
    message: { id, text, files, author: { type: 'agent', id: 'a_7', name: 'Alice Agent' } },
  })

  it('text first, then each file as its own message type, keyed id, id#1, id#2 (a redelivery finds them)', async () => {
    s.emulator.clearCalls()
    const files = [
      { url: 'https://cdn.acme.example/f/label.png', name: 'label.png', type: 'image/png' },
      { url: 'https://cdn.acme.example/f/terms.pdf', name: 'terms.pdf', type: 'application/pdf' },
    ]
    expect((await bp.webhook(signedAcmeDelivery(reply('m_a1', 'Here you go', files)))).status).toBe(200)
    const created = s.emulator
      .callsTo('POST', '/v1/chat/messages/get-or-create')
      .map((c) => c.body as { type: string; payload: unknown; tags: unknown; userId: string })
    expect(created.map(({ type, payload, tags }) => ({ type, payload, tags }))).toEqual([
      { type: 'text', payload: { text: 'Here you go' }, tags: { id: 'm_a1' } },
      { type: 'image', payload: { imageUrl: files[0]!.url, title: 'label.png' }, tags: { id: 'm_a1#1' } },
      { type: 'file', payload: { fileUrl: files[1]!.url, title: 'terms.pdf' }, tags: { id: 'm_a1#2' } },
    ])
    expect(new Set(created.map((c) => c.userId)).size).toBe(1)
    const author = s.emulator.data.users.get(created[0]!.userId)!
    expect(author.tags).toMatchObject({ id: 'a_7', role: 'agent' })
    expect(created.every((c) => (c as unknown as { conversationId: string }).conversationId === conversationId)).toBe(true)
    // The helpdesk delivers it again: every message is found, none is created twice.
    const count = () => [...s.emulator.data.messages.values()].filter((m) => m.conversationId === conversationId).length
    const before = count()
    expect((await bp.webhook(signedAcmeDelivery(reply('m_a1', 'Here you go', files)))).status).toBe(200)
    expect(count()).toBe(before)
  })

  it('a reply with only a file gives only the file message', async () => {
    s.emulator.clearCalls()
    expect(
      (await bp.webhook(signedAcmeDelivery(reply('m_a2', '', [{ url: 'https://cdn.acme.example/f/x.mp3', name: 'x.mp3', type: 'audio/mpeg' }])))).status,
    ).toBe(200)
    expect(s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create').map((c) => (c.body as { type: string }).type)).toEqual(['audio'])
  })

  it("rehost: a file behind the helpdesk's auth is downloaded with it and arrives as a Botpress file; a failure as a text naming it", async () => {
    const rehosting = replaceOnce(mapping, `"contentType": type}'`, `"contentType": type, "rehost": true}'`)
    const rbp = s.withConfiguration({ mapping: rehosting, settings: acmeSettings(s.helpdesk.url) })
    const pdf = '%PDF-1.4 agent terms'
    s.helpdesk.route({
      method: 'GET',
      path: '/files/terms.pdf',
      respond: (r) =>
        r.headers.authorization === `Bearer ${SECRETS.apiToken}`
          ? { status: 200, headers: { 'content-type': 'application/pdf' }, body: pdf }
          : { status: 401, body: 'no' },
    })
    s.helpdesk.route({ method: 'GET', path: '/files/gone.png', respond: () => ({ status: 404, body: 'missing' }) })
    s.emulator.clearCalls()
    const files = [
      { url: `${s.helpdesk.url}/files/terms.pdf`, name: 'terms.pdf', type: 'application/pdf' },
      { url: `${s.helpdesk.url}/files/gone.png`, name: 'gone.png', type: 'image/png' },
      { url: 'https://elsewhere.example/x.png', name: 'x.png', type: 'image/png' },
    ]
    expect((await rbp.webhook(signedAcmeDelivery(reply('m_r1', 'See attached', files)))).status).toBe(200)
    const upserts = s.emulator.callsTo('PUT', '/v1/files')
    expect(upserts).toHaveLength(1)
    expect(upserts[0]!.body).toMatchObject({ size: pdf.length, contentType: 'application/pdf', accessPolicies: ['public_content'] })
    const created = s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create').map((c) => c.body as { type: string; payload: Record<string, string> })
    expect(created.map((c) => c.type)).toEqual(['text', 'file', 'text', 'text'])
    const fileUrl = created[1]!.payload.fileUrl!
    expect(fileUrl.startsWith(s.emulator.url)).toBe(true)
    expect(created[1]!.payload.title).toBe('terms.pdf')
    expect(await (await fetch(fileUrl)).text()).toBe(pdf)
    expect(created[2]!.payload.text).toBe('gone.png (file not delivered: downloading it from the helpdesk answered 404)')
    expect(created[3]!.payload.text).toMatch(/^x\.png \(file not delivered: requests may only go to .*elsewhere\.example/)
    // The helpdesk's token went only to the helpdesk, and appears in no message.
    expect(JSON.stringify(created)).not.toContain(SECRETS.apiToken)
    // A redelivery re-uploads to the same key (the same Botpress file) and creates no message twice.
    const count = () => [...s.emulator.data.messages.values()].filter((m) => m.conversationId === conversationId).length
    const before = count()
    expect((await rbp.webhook(signedAcmeDelivery(reply('m_r1', 'See attached', files)))).status).toBe(200)
    expect(count()).toBe(before)
    const ids = s.emulator.callsTo('PUT', '/v1/files').map((c) => (c.response as { file: { id: string } }).file.id)
    expect(ids).toHaveLength(2)
    expect(new Set(ids).size).toBe(1)
  })

  it('rehost {base64}: a JSON answer with the file base64 in it arrives as the exact bytes; not JSON, no field, not base64 or too large as a text naming why', async () => {
    const rehosting = replaceOnce(mapping, `"contentType": type}'`, `"contentType": type, "rehost": {"base64": "data"}}'`)
    const rbp = s.withConfiguration({ mapping: rehosting, settings: acmeSettings(s.helpdesk.url) })
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80, 0x7f, 0x01])
    const pdf = Buffer.from('%PDF-1.4 \u00e9t\u00e9 terms\n\u0000\u00ff')
    const data = (value: unknown) => (r: { headers: Record<string, string | undefined> }) =>
      r.headers.authorization === `Bearer ${SECRETS.apiToken}` ? { status: 200, body: { data: value } } : { status: 401, body: 'no' }
    s.helpdesk.route({ method: 'GET', path: '/attachments/1/data', respond: data(png.toString('base64')) })
    s.helpdesk.route({ method: 'GET', path: '/attachments/2/data', respond: data(pdf.toString('base64')) })
    s.helpdesk.route({
      method: 'GET',
      path: '/attachments/3/data',
      respond: () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>login</html>' }),
    })
    s.helpdesk.route({ method: 'GET', path: '/attachments/4/data', respond: () => ({ status: 200, body: { id: 4 } }) })
    s.helpdesk.route({ method: 'GET', path: '/attachments/5/data', respond: data('%%% not base64 %%%') })
    s.helpdesk.route({ method: 'GET', path: '/attachments/6/data', respond: data(Buffer.alloc(MAX_REHOST_BYTES + 1).toString('base64')) })
    s.emulator.clearCalls()
    const files = [
      { url: `${s.helpdesk.url}/attachments/1/data`, name: 'label.png', type: 'image/png' },
      { url: `${s.helpdesk.url}/attachments/2/data`, name: 'terms.pdf' },
      ...[3, 4, 5, 6].map((n) => ({ url: `${s.helpdesk.url}/attachments/${n}/data`, name: `f${n}.pdf`, type: 'application/pdf' })),
    ]
    expect((await rbp.webhook(signedAcmeDelivery(reply('m_b1', 'Two files', files)))).status).toBe(200)
    const upserts = s.emulator.callsTo('PUT', '/v1/files').map((c) => c.body)
    expect(upserts).toEqual([
      expect.objectContaining({ size: png.length, contentType: 'image/png', accessPolicies: ['public_content'] }),
      expect.objectContaining({ size: pdf.length, contentType: 'application/pdf' }),
    ])
    const created = s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create').map((c) => c.body as { type: string; payload: Record<string, string> })
    expect(created.map((c) => c.type)).toEqual(['text', 'image', 'file', 'text', 'text', 'text', 'text'])
    for (const [message, bytes] of [
      [created[1]!.payload.imageUrl!, png],
      [created[2]!.payload.fileUrl!, pdf],
    ] as const) {
      expect(message.startsWith(s.emulator.url)).toBe(true)
      expect(Buffer.from(await (await fetch(message)).arrayBuffer()).equals(bytes)).toBe(true)
    }
    expect(created.slice(3).map((c) => c.payload.text)).toEqual([
      `f3.pdf (file not delivered: the helpdesk answered text/html, not the JSON with the file's base64 at "data")`,
      `f4.pdf (file not delivered: the helpdesk's JSON answer has no text at "data" (the file's base64))`,
      `f5.pdf (file not delivered: "data" in the helpdesk's JSON answer is not base64)`,
      'f6.pdf (file not delivered: it is over the 25 MB limit once decoded from base64)',
    ])
    expect(JSON.stringify(created)).not.toContain(SECRETS.apiToken)
  })

  it('rehost follows redirects: to a listed CDN without the token; elsewhere, without a Location or in a loop it is a text naming why', async () => {
    const pdf = '%PDF-1.4 signed copy'
    const cdnSaw: (string | undefined)[] = []
    const cdn = createServer((req, res) => {
      cdnSaw.push(req.headers.authorization)
      res.writeHead(req.url === '/signed/terms.pdf?sig=1' ? 200 : 404, { 'content-type': 'application/pdf' }).end(pdf)
    })
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r))
    const cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`
    try {
      const rehosting = replaceOnce(
        replaceOnce(mapping, `"contentType": type}'`, `"contentType": type, "rehost": true}'`),
        '  timeoutMs: 5000\n',
        `  timeoutMs: 5000\n  allowedHosts: ["${cdnUrl}"]\n`,
      )
      const rbp = s.withConfiguration({ mapping: rehosting, settings: acmeSettings(s.helpdesk.url) })
      const moved = (location?: string) => () => ({
        status: 302,
        headers: location ? { location } : ({} as Record<string, string>),
        body: '<html>moved</html>',
      })
      s.helpdesk.route({ method: 'GET', path: '/files/signed.pdf', respond: moved(`${cdnUrl}/signed/terms.pdf?sig=1`) })
      s.helpdesk.route({ method: 'GET', path: '/files/away.pdf', respond: moved('https://elsewhere.example/terms.pdf') })
      s.helpdesk.route({ method: 'GET', path: '/files/nowhere.pdf', respond: moved() })
      s.helpdesk.route({ method: 'GET', path: '/files/loop.pdf', respond: moved('/files/loop.pdf') })
      s.emulator.clearCalls()
      const files = ['signed', 'away', 'nowhere', 'loop'].map((n) => ({ url: `${s.helpdesk.url}/files/${n}.pdf`, name: `${n}.pdf`, type: 'application/pdf' }))
      expect((await rbp.webhook(signedAcmeDelivery(reply('m_r2', 'Redirected', files)))).status).toBe(200)
      const upserts = s.emulator.callsTo('PUT', '/v1/files')
      expect(upserts).toHaveLength(1)
      expect(upserts[0]!.body).toMatchObject({ size: pdf.length, contentType: 'application/pdf' })
      expect(cdnSaw).toEqual([undefined])
      const created = s.emulator.callsTo('POST', '/v1/chat/messages/get-or-create').map((c) => c.body as { type: string; payload: Record<string, string> })
      expect(created.map((c) => c.type)).toEqual(['text', 'file', 'text', 'text', 'text'])
      expect(created.slice(2).map((c) => c.payload.text)).toEqual([
        expect.stringMatching(
          /^away\.pdf \(file not delivered: the helpdesk redirected it to https:\/\/elsewhere\.example, where it may not be fetched from: /,
        ),
        'nowhere.pdf (file not delivered: downloading it from the helpdesk answered 302 without a Location to follow)',
        'loop.pdf (file not delivered: downloading it from the helpdesk redirects in a loop)',
      ])
    } finally {
      await new Promise((r) => cdn.close(r))
    }
  })
})
