// Demo Desk agent console, driven in headless Chromium: assign, reply, solve — and what that does to the
// desk's store and to the webhooks it sends.
import { createHmac } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoDesk, type DemoDesk, type DeskApiAnswer, type WebhookPayload } from '../src/sandbox/demo-desk'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) {
  console.warn(`[demo-desk-console] skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`)
}

type Received = { headers: http.IncomingHttpHeaders; raw: string; body: WebhookPayload }

async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const until = performance.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('Demo Desk console', () => {
  let desk: DemoDesk
  let browser: Browser | undefined
  let page: Page
  let receiver: http.Server
  let secret: string
  const received: Received[] = []
  const pageErrors: string[] = []

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(desk.url + path, {
      method,
      headers: { authorization: `Bearer ${desk.apiToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return (await res.json()) as DeskApiAnswer
  }
  const tid = (id: string) => `[data-testid="${id}"]`

  beforeAll(async () => {
    if (!hasChromium) return
    desk = await startDemoDesk({ retryDelaysMs: [50, 100, 200] })
    receiver = http.createServer((req, res) => {
      let raw = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => (raw += c))
      req.on('end', () => {
        received.push({ headers: req.headers, raw, body: JSON.parse(raw) })
        res.end('ok')
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const { webhook } = await call('POST', '/api/webhooks', {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    })
    secret = webhook.secret
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
    page = await browser.newPage()
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text())
    })
  })

  afterAll(async () => {
    await browser?.close()
    await desk?.close()
    if (receiver) {
      await new Promise<void>((resolve) => {
        receiver.close(() => resolve())
        receiver.closeAllConnections()
      })
    }
  })

  it.skipIf(!hasChromium)('assigns, replies and solves from the console', async () => {
    const { contact } = await call('POST', '/api/contacts', { name: 'Jane Doe', email: 'jane@example.com', externalId: 'user_1' })
    const { ticket } = await call('POST', '/api/tickets', {
      contactId: contact.id,
      subject: 'Where is my order?',
      history: [
        { author: 'contact', text: 'My order did not arrive' },
        { author: 'bot', text: 'Let me get you a human.' },
      ],
    })
    const id: string = ticket.id

    await page.goto(`${desk.url}/`)
    await page.waitForSelector(tid(`ticket-${id}`))
    const card = (await page.$(tid(`ticket-${id}`)))!
    expect(await card.$eval(tid(`subject-${id}`), (el) => el.textContent)).toBe('Where is my order?')
    expect(await card.$eval(tid(`status-${id}`), (el) => el.textContent)).toBe('open')
    expect(await card.$$eval(tid('message'), (els) => els.map((e) => e.textContent))).toEqual([
      expect.stringContaining('My order did not arrive'),
      expect.stringContaining('Let me get you a human.'),
    ])

    // Assign to me (the picker defaults to the signed-in agent, Alice).
    expect(await page.$eval(tid(`agent-select-${id}`), (el) => (el as HTMLSelectElement).value)).toBe('agt_1')
    await page.click(tid(`assign-${id}`))
    await waitFor(() => desk.store.getTicket(id)?.assigneeId === 'agt_1', 'the assignment in the store')
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('Alice Agent'), {}, tid(`assignee-${id}`))

    // Type a reply; a contact message arriving meanwhile (the page re-renders) must not eat the draft.
    await page.type(tid(`reply-input-${id}`), 'Hi Jane, I am ')
    await call('POST', `/api/tickets/${id}/messages`, { text: 'Hello? Anyone?', authorType: 'contact' })
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, {}, `${tid(`ticket-${id}`)} ${tid('message')}`)
    await page.type(tid(`reply-input-${id}`), 'looking into it.')
    expect(await page.$eval(tid(`reply-input-${id}`), (el) => (el as HTMLTextAreaElement).value)).toBe('Hi Jane, I am looking into it.')
    await page.click(tid(`reply-send-${id}`))
    const reply = await waitFor(() => desk.store.messagesOf(id).find((m) => m.authorType === 'agent'), 'the reply in the store')
    expect(reply).toMatchObject({ authorId: 'agt_1', authorName: 'Alice Agent', text: 'Hi Jane, I am looking into it.' })
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 4, {}, `${tid(`ticket-${id}`)} ${tid('message')}`)
    expect(await page.$eval(tid(`reply-input-${id}`), (el) => (el as HTMLTextAreaElement).value)).toBe('')

    await page.click(tid(`solve-${id}`))
    await waitFor(() => desk.store.getTicket(id)?.status === 'solved', 'the solved status in the store')
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'solved', {}, tid(`status-${id}`))
    // A solved ticket takes no more actions: the action bar is gone.
    expect(await page.$eval(tid(`actions-${id}`), (el) => getComputedStyle(el).display)).toBe('none')

    // The webhooks the console's actions produced, signed with the subscription's secret, in order.
    await waitFor(() => received.length === 4, '4 webhook deliveries')
    for (const r of received) {
      const expected = createHmac('sha256', secret).update(`${r.headers['x-desk-timestamp']}.${r.raw}`).digest('hex')
      expect(r.headers['x-desk-signature']).toBe(`sha256=${expected}`)
    }
    expect(received.map((r) => [r.body.event, r.body.message?.authorType ?? null])).toEqual([
      ['ticket.assigned', null],
      ['message.created', 'contact'],
      ['message.created', 'agent'],
      ['ticket.solved', null],
    ])
    expect(received[0].body.agent).toMatchObject({ id: 'agt_1', name: 'Alice Agent' })
    expect(received[2].body).toMatchObject({
      message: { id: reply.id, text: 'Hi Jane, I am looking into it.' },
      agent: { id: 'agt_1', avatarUrl: `${desk.url}/avatars/alice.svg` },
    })
    expect(received[3].body.ticket).toMatchObject({ id, status: 'solved', assigneeId: 'agt_1' })
    expect(pageErrors).toEqual([])
  })

  it.skipIf(!hasChromium)('attaches files to a reply, and shows uploaded files (fetched with the token)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'desk-console-'))
    try {
      // A 1×1 PNG and a small PDF, as an agent would pick them.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64')
      const pdf = Buffer.from('%PDF-1.4\n% return label\n%%EOF\n')
      writeFileSync(join(dir, 'label.png'), png)
      writeFileSync(join(dir, 'return-label.pdf'), pdf)
      const { contact } = await call('POST', '/api/contacts', { name: 'Jane Doe', externalId: 'user_2' })
      const { ticket } = await call('POST', '/api/tickets', { contactId: contact.id, subject: 'Return my parcel' })
      const id: string = ticket.id
      received.length = 0
      await page.goto(`${desk.url}/`)
      await page.waitForSelector(tid(`reply-files-${id}`))
      const input = (await page.$(tid(`reply-files-${id}`)))! as unknown as { uploadFile(...paths: string[]): Promise<void> }
      await input.uploadFile(join(dir, 'label.png'), join(dir, 'return-label.pdf'))
      await page.type(tid(`reply-input-${id}`), 'Here is your label.')
      await page.click(tid(`reply-send-${id}`))
      const reply = await waitFor(() => desk.store.messagesOf(id).find((m) => m.authorType === 'agent'), 'the reply in the store')
      expect(reply.text).toBe('Here is your label.')
      expect(reply.attachments.map(({ title, kind, contentType, size }) => ({ title, kind, contentType, size }))).toEqual([
        { title: 'label.png', kind: 'image', contentType: 'image/png', size: png.length },
        { title: 'return-label.pdf', kind: 'file', contentType: 'application/pdf', size: pdf.length },
      ])
      expect(desk.store.fileContent(reply.attachments[0]!.fileId!)!.bytes.equals(png)).toBe(true)
      expect(desk.store.fileContent(reply.attachments[1]!.fileId!)!.bytes.equals(pdf)).toBe(true)
      // The draft and the chosen files are cleared; the files are shown with their size, the image loaded.
      expect(await page.$eval(tid(`reply-files-${id}`), (el) => (el as HTMLInputElement).files?.length)).toBe(0)
      await page.waitForFunction(
        (sel) =>
          [...document.querySelectorAll(sel)].some((img) => (img as HTMLImageElement).src.startsWith('blob:') && (img as HTMLImageElement).naturalWidth === 1),
        {},
        `${tid(`ticket-${id}`)} ${tid('file')} img`,
      )
      const shown = await page.$$eval(`${tid(`ticket-${id}`)} ${tid('file')}`, (els) => els.map((e) => e.textContent))
      expect(shown).toEqual([`imagelabel.png${png.length} B`, `filereturn-label.pdf${pdf.length} B`])
      // The webhook carries both files, with the URLs the desk serves them at.
      const delivery = await waitFor(() => received.find((r) => r.body.message?.authorType === 'agent'), 'the reply webhook')
      expect(delivery.body.message!.attachments.map((a) => a.url)).toEqual(reply.attachments.map((a) => a.url))
      expect(pageErrors).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
