// The scripted hand-off behind `npm start`: the user chats with the bot, the bot escalates, the user writes and
// sends a photo, an agent takes the ticket, replies, sends a PDF and solves it. Every step is checked (in the
// helpdesk and in Botpress) and both sides are printed as a timestamped transcript. With an external helpdesk
// the agent side is a human.
import { messageFiles } from '../operations/renderMessage'
import type { Attachment, DeskApiAnswer, Ticket } from './demo-desk'
import { PLUGIN_MESSAGES, TimeoutError, type UpstreamLine } from './hitlDriver'
import { fileLabel, quote, type Output } from './output'
import { PARCEL_PHOTO, RETURN_LABEL } from './sampleFiles'
import type { Sandbox } from './stack'

export class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly cause: Error,
  ) {
    super(`step "${step}" failed: ${cause.message}`)
  }
}

/** A Botpress file by its URL (the emulator's store), for its size. */
const botpressFile = (s: Sandbox, url: string) => {
  for (const stored of s.emulator?.data.files.values() ?? []) if (stored.file.url === url) return stored.file
  return undefined
}

/** A line of the user's conversation: its text, or for a Botpress file its name and size. */
function shownUpstream(s: Sandbox, l: UpstreamLine): string {
  const [file] = l.type === 'bloc' ? [] : messageFiles(l.type, l.payload)
  const stored = file && botpressFile(s, file.url)
  return stored ? fileLabel(l.type, file.name, stored.size ?? undefined) : quote(l.text)
}

/** A desk message's text and files: `"text" + [file] "a.pdf" (612 bytes)`. */
function shownDeskMessage(text: string, attachments: Attachment[]): string {
  const files = attachments.map((a) => fileLabel(a.kind, a.title ?? a.url, a.size))
  return [...(text || !files.length ? [quote(text)] : []), ...files].join(' + ')
}

/** Prints the user's side (driver) and, with the Demo Desk, the desk's side. Returns the unsubscribe function. */
export function attachTranscript(s: Sandbox, out: Output): () => void {
  const driver = s.driver!
  const offs: (() => void)[] = []
  offs.push(
    driver.on('upstream', (l) => out.say(l.from, `${l.from === 'agent' ? `${l.name} ` : ''}→ ${shownUpstream(s, l)}`, l.at)),
    driver.on('assigned', (e) => out.say('event', `hitlAssigned: agent ${e.agentName}`, e.at)),
    driver.on('stopped', (e) => out.say('event', `hitlStopped: the hand-off is over (${e.reason})`, e.at)),
    driver.on('ended', (e) => out.say('event', `stopHitl called (${e.reason})`, e.at)),
    driver.on('dropped', (e) => out.log('driver', `dropped ${e.what}: ${e.reason}`)),
    driver.on('error', (e) => out.say('fail', e.error.message, e.at)),
  )
  const desk = s.desk
  if (desk) {
    const known = new Map<string, Ticket>()
    const agentName = (id: string | null) => desk.agents.find((a) => a.id === id)?.name ?? id ?? 'nobody'
    offs.push(
      desk.on('ticket', (t) => {
        const before = known.get(t.id)
        known.set(t.id, t)
        const at = new Date(t.updatedAt)
        if (!before) return out.say('desk', `ticket ${t.id} opened by the integration: ${quote(t.subject)}`, at)
        if (t.assigneeId !== before.assigneeId) out.say('desk', `ticket ${t.id} assigned to ${agentName(t.assigneeId)}`, at)
        if (t.status !== before.status)
          out.say('desk', `ticket ${t.id} ${t.status}${t.status === 'solved' && t.assigneeId ? ` by ${agentName(t.assigneeId)}` : ''}`, at)
      }),
      desk.on('message', (m) => {
        const at = new Date(m.createdAt)
        const shown = shownDeskMessage(m.text, m.attachments)
        if (m.history) out.say('desk', `ticket ${m.ticketId} history: ${m.authorName}: ${shown}`, at)
        else if (m.authorType === 'agent') out.say('desk', `ticket ${m.ticketId}: ${m.authorName} replied ${shown}`, at)
        else out.say('desk', `ticket ${m.ticketId}: message from ${m.authorName} (${m.authorType}): ${shown}`, at)
      }),
    )
  }
  return () => {
    for (const off of offs) off()
  }
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`${what}: no result within ${Math.round(ms / 1000)} s`)), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

/** The file at `url` (fetched with `headers`) is exactly `bytes`. */
async function expectSameBytes(url: string, headers: Record<string, string>, bytes: Buffer, where: string) {
  const res = await fetch(url, { headers })
  expect(res.ok, `${where} serves the file with ${res.status}`)
  const got = Buffer.from(await res.arrayBuffer())
  expect(got.equals(bytes), `${where} serves ${got.length} bytes that differ from the ${bytes.length} sent`)
}

export type HandoffOptions = {
  /** Per step (Demo Desk), and for each wait on a human agent (external helpdesk). */
  timeoutMs: number
  /** The helpdesk's display name (external helpdesk). */
  vendor?: string
  /**
   * `basic`: the agent replies and solves the ticket. `full`: the agent replies, the bot sends a notice to the
   * agent, and the user ends the session (/end → stopHitl, which closes the ticket).
   */
  script?: HandoffScript
}

export const HANDOFF_SCRIPTS = ['basic', 'full'] as const
export type HandoffScript = (typeof HANDOFF_SCRIPTS)[number]

const SCRIPT = {
  user1: "Hi! My order #1042 still hasn't arrived.",
  bot1: "Sorry to hear that. I can't see the delivery status myself: let me get you a human agent.",
  title: 'Order #1042 has not arrived',
  description: 'Escalated by the bot: the customer asks about a late delivery.',
  user2: 'Are you there? I need it before Friday.',
  agentReply: "Hi Jane, I'm Alice. Your parcel left our warehouse this morning; it will be there on Thursday.",
  agentFile: 'If it arrives damaged, here is a return label.',
  botNotice: '[Bot] The customer was shown the delivery tracking page.',
  userEnds: '/end',
}

/** Runs the hand-off; resolves with the number of steps passed, throws StepFailed at the first failure. */
export async function runHandoff(s: Sandbox, out: Output, opts: HandoffOptions): Promise<number> {
  const driver = s.driver!
  let passed = 0
  const step = async (title: string, run: () => Promise<string | undefined>, timeoutMs = opts.timeoutMs + 1000) => {
    try {
      const detail = await withTimeout(run(), timeoutMs, title)
      passed++
      out.say('check', `${passed}. ${title}${detail ? ` — ${detail}` : ''}`)
    } catch (e) {
      throw new StepFailed(`${passed + 1}. ${title}`, e instanceof Error ? e : new Error(String(e)))
    }
  }
  // A failure while relaying (e.g. the integration refused a webhook) fails the step that waits for it.
  const failures: Error[] = []
  const offError = driver.on('error', (e) => failures.push(e.error))
  const wait = async <E extends 'agentMessage' | 'assigned' | 'stopped'>(name: E, ms: number) => {
    const v = await driver.next(name, ms).catch((e) => {
      throw failures.length ? new Error(`${(e as Error).message}; meanwhile: ${failures.map((f) => f.message).join('; ')}`) : e
    })
    return v
  }

  try {
    await step('the user chats with the bot', async () => {
      await driver.userSays(SCRIPT.user1)
      await driver.botSays(SCRIPT.bot1)
      return '2 messages in the webchat conversation'
    })

    let ticketId = ''
    let conversationId = ''
    await step('the bot escalates: createUser, then startHitl with the conversation as history', async () => {
      const r = await driver.escalate({ title: SCRIPT.title, description: SCRIPT.description })
      conversationId = r.conversationId
      ticketId = r.conversation.tags.id ?? ''
      const h = r.messageHistory
      expect(h.length === 3, `expected 3 history items (user, bot, handoff notice), got ${h.length}`)
      expect(
        h[0]!.source.type === 'user' && 'userId' in h[0]!.source && h[0]!.source.userId === r.downstreamUserId,
        "the first history item is not the user's, with the downstream user id",
      )
      expect(h[1]!.source.type === 'bot' && h[2]!.source.type === 'bot', 'the bot messages are not {type: "bot"} in the history')
      expect(ticketId, 'the hitl conversation has no ticket id tag')
      return `ticket ${ticketId}, hitl conversation ${conversationId}`
    })

    if (s.desk) {
      const desk = s.desk
      const auth = { authorization: `Bearer ${desk.apiToken}` }
      /** A call to the desk's API: JSON, or multipart/form-data for a FormData body (fetch sets its boundary). */
      const api = async (method: string, path: string, body?: unknown) => {
        const form = body instanceof FormData
        const res = await fetch(`${desk.url}/api${path}`, {
          method,
          headers: form ? auth : { ...auth, 'content-type': 'application/json' },
          body: form ? body : body === undefined ? undefined : JSON.stringify(body),
        })
        const json = (await res.json().catch(() => ({}))) as Partial<DeskApiAnswer>
        if (!res.ok) throw new Error(`Demo Desk ${method} /api${path} answered ${res.status}: ${json.error?.message ?? ''}`)
        return json as DeskApiAnswer
      }
      const ticketNow = async () => (await api('GET', `/tickets/${encodeURIComponent(ticketId)}`)).ticket

      await step('the history reached the ticket', async () => {
        const t = await ticketNow()
        expect(t.subject === SCRIPT.title, `ticket subject is ${quote(t.subject)}`)
        expect(t.contact?.name === driver.endUserName, `ticket contact is ${quote(t.contact?.name ?? 'none')}`)
        const history = t.messages.filter((m) => m.history)
        const got = history.map((m) => `${m.authorType}: ${m.text}`)
        const want = [`contact: ${SCRIPT.user1}`, `bot: ${SCRIPT.bot1}`, `bot: ${driver.transcript[2]?.text}`]
        expect(JSON.stringify(got) === JSON.stringify(want), `history in the ticket is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
        return `${history.length} lines, authored by ${t.contact.name} and the bot`
      })

      await step('the user writes; the message reaches the ticket as the contact', async () => {
        const r = await driver.userSays(SCRIPT.user2)
        expect(r.relayed, 'the message was not relayed (session inactive?)')
        const t = await ticketNow()
        const m = t.messages.find((x) => !x.history && x.text === SCRIPT.user2)
        expect(m, `no message ${quote(SCRIPT.user2)} in ticket ${ticketId}`)
        expect(m.authorType === 'contact', `the message is authored by ${m.authorType}, not the contact`)
        const { message } = await driver.bot.getMessage({ id: r.relayed.message.id })
        expect(message.tags.id === m.id, `the hitl message was not acked with the desk's message id (tags.id = ${message.tags.id})`)
        return `desk message ${m.id}, acked on the Botpress message`
      })

      const photo = PARCEL_PHOTO
      await step('the user sends a photo (uploaded to Botpress Files); it reaches the ticket as a file', async () => {
        const file = await driver.userUploads(photo)
        const r = await driver.userSends('image', { imageUrl: file.url, title: photo.name })
        expect(r.relayed, 'the image was not relayed (session inactive?)')
        const { message } = await driver.bot.getMessage({ id: r.relayed.message.id })
        const m = (await ticketNow()).messages.find((x) => x.id === message.tags.id)
        expect(m, `no desk message acked on the Botpress message (tags.id = ${message.tags.id})`)
        const a = m.attachments[0]
        expect(a?.fileId, `the photo did not arrive as a file: ${quote(m.text)}`)
        expect(a.title === photo.name && a.kind === 'image', `the file is ${a.kind} ${quote(a.title ?? '')}, expected image ${quote(photo.name)}`)
        await expectSameBytes(a.url, auth, photo.bytes, 'the desk')
        return `desk file ${a.fileId}: ${fileLabel(a.kind, photo.name, a.size)}, the same bytes`
      })

      const agent = desk.agents.find((a) => a.id === 'agt_1')!
      await step(`an agent (${agent.name}) takes the ticket → hitlAssigned`, async () => {
        await api('POST', `/tickets/${encodeURIComponent(ticketId)}/assign`, { agentId: agent.id })
        const a = await wait('assigned', opts.timeoutMs)
        expect(a.agentName === agent.name, `hitlAssigned names ${quote(a.agentName)}, expected ${quote(agent.name)}`)
        const joined = driver.transcript.at(-1)
        expect(joined?.from === 'bot' && joined.text === 'A human agent has joined the conversation.', 'the user was not told that an agent joined')
        return `the user was told an agent joined`
      })

      await step("the agent replies; the user receives it with the agent's name", async () => {
        await api('POST', `/tickets/${encodeURIComponent(ticketId)}/reply`, { agentId: agent.id, text: SCRIPT.agentReply })
        const m = await wait('agentMessage', opts.timeoutMs)
        expect(m.text === SCRIPT.agentReply, `the user received ${quote(m.text)}`)
        expect(m.agentName === agent.name, `the reply is from ${quote(m.agentName)}, expected ${quote(agent.name)}`)
        expect(driver.agentMessages.length === 1, `the user received ${driver.agentMessages.length} agent messages (echo of their own message?)`)
        return `from ${m.agentName}; the user's own message did not come back (no echo)`
      })

      const label = RETURN_LABEL
      await step('the agent sends a PDF (multipart reply); the user receives it as a Botpress file', async () => {
        const form = new FormData()
        form.append('agentId', agent.id)
        form.append('text', SCRIPT.agentFile)
        form.append('files', new Blob([new Uint8Array(label.bytes)], { type: label.contentType }), label.name)
        await api('POST', `/tickets/${encodeURIComponent(ticketId)}/reply`, form)
        // The text, then the file: each its own Botpress message.
        const text = await wait('agentMessage', opts.timeoutMs)
        expect(text.text === SCRIPT.agentFile, `the user received ${quote(text.text)}`)
        const f = await wait('agentMessage', opts.timeoutMs)
        const url = f.payload.fileUrl
        expect(f.type === 'file' && typeof url === 'string', `the user received a ${f.type} message: ${quote(f.text)}`)
        expect(f.payload.title === label.name, `the file is called ${quote(String(f.payload.title))}, expected ${quote(label.name)}`)
        const stored = botpressFile(s, url)
        expect(stored, `${url} is not a Botpress file (not re-hosted)`)
        await expectSameBytes(url, {}, label.bytes, 'Botpress')
        return `${fileLabel('file', label.name, stored.size ?? undefined)} re-hosted on Botpress, the same bytes`
      })

      if (opts.script === 'full') {
        await step('the bot sends a notice to the agent; it reaches the ticket as the system', async () => {
          const agentMessagesBefore = driver.agentMessages.length
          const r = await driver.botNotice(SCRIPT.botNotice)
          const t = await ticketNow()
          const m = t.messages.find((x) => !x.history && x.text === SCRIPT.botNotice)
          expect(m, `no message ${quote(SCRIPT.botNotice)} in ticket ${ticketId}`)
          expect(m.authorType === 'system', `the notice is authored by ${m.authorType}, not the system`)
          const { message } = await driver.bot.getMessage({ id: r.message.id })
          expect(message.tags.id === m.id, `the notice was not acked with the desk's message id (tags.id = ${message.tags.id})`)
          expect(driver.agentMessages.length === agentMessagesBefore, 'the bot notice came back to the user as an agent message')
          return `desk message ${m.id}; it did not come back to the user`
        })
        await step('the user ends the session (/end → stopHitl); the ticket is closed', async () => {
          const r = await driver.userSays(SCRIPT.userEnds)
          expect(r.ended, 'the session was not ended')
          expect(!driver.active, 'the session is still active')
          const t = await ticketNow()
          expect(t.status === 'closed', `ticket ${ticketId} is ${t.status}, not closed`)
          expect(
            t.messages.some((x) => x.text === PLUGIN_MESSAGES.userCancelled),
            'the agent was not told that the user ended the session',
          )
          return 'the agent was told, the ticket is closed, the bot has the conversation back'
        })
        return passed
      }

      await step('the agent solves the ticket → hitlStopped', async () => {
        await api('POST', `/tickets/${encodeURIComponent(ticketId)}/solve`, { agentId: agent.id })
        await wait('stopped', opts.timeoutMs)
        expect(!driver.active, 'the session is still active')
        const t = await ticketNow()
        expect(t.status === 'solved', `ticket ${ticketId} is ${t.status}`)
        return 'the session is over, the bot has the conversation back'
      })
    } else {
      const vendor = opts.vendor ?? 'the helpdesk'
      await step(`the user writes; the integration sends it to ${vendor}`, async () => {
        const r = await driver.userSays(SCRIPT.user2)
        expect(r.relayed, 'the message was not relayed (session inactive?)')
        const { message } = await driver.bot.getMessage({ id: r.relayed.message.id })
        return message.tags.id ? `${vendor} message id ${message.tags.id}` : `${vendor} accepted it (the mapping returns no message id)`
      })
      const secs = Math.round(opts.timeoutMs / 1000)
      out.line()
      out.line(`waiting for an agent in ${vendor}... (up to ${secs} s; change with --timeout <s>)`)
      out.line(
        opts.script === 'full'
          ? `  → open ticket ${ticketId} in ${vendor} and reply to the customer (the user then ends the session).`
          : `  → open ticket ${ticketId} in ${vendor}, reply to the customer, then solve/close it.`,
      )
      out.line(`  → ${vendor} must be able to reach the webhook relay at ${s.relay!.url}`)
      out.line(`    (fine for a helpdesk on this machine or network; a cloud helpdesk needs a tunnel to it).`)
      out.line()
      await step(`an agent replies in ${vendor}; the user receives it with the agent's name`, async () => {
        const m = await wait('agentMessage', opts.timeoutMs)
        return `from ${m.agentName}: ${quote(m.text, 80)}`
      })
      if (opts.script === 'full') {
        await step(`the bot sends a notice to the agent; ${vendor} accepts it`, async () => {
          const r = await driver.botNotice(SCRIPT.botNotice)
          const { message } = await driver.bot.getMessage({ id: r.message.id })
          return message.tags.id ? `${vendor} message id ${message.tags.id}` : `${vendor} accepted it (the mapping returns no message id)`
        })
        await step(`the user ends the session (/end → stopHitl); the integration closes ticket ${ticketId} in ${vendor}`, async () => {
          const r = await driver.userSays(SCRIPT.userEnds)
          expect(r.ended, 'the session was not ended')
          expect(!driver.active, 'the session is still active')
          return `check in ${vendor} that ticket ${ticketId} is closed and shows the notice`
        })
        return passed
      }
      await step(`the agent solves the ticket in ${vendor} → hitlStopped`, async () => {
        await wait('stopped', opts.timeoutMs)
        expect(!driver.active, 'the session is still active')
        return 'the session is over, the bot has the conversation back'
      })
    }
    return passed
  } finally {
    offError()
  }
}
