// In-memory state of the Demo Desk and the rules that change it. Every change is announced through
// `onChange` listeners (the webhook dispatcher and `DemoDesk.on` subscribe there).
import { DeskError } from './errors'
import { kindOf, MAX_STORED_BYTES, megabytes, type Upload } from './files'
import type {
  Agent,
  Attachment,
  AuthorType,
  Contact,
  Delivery,
  Message,
  StoredFile,
  Ticket,
  TicketWithMessages,
  WebhookEvent,
  WebhookSubscription,
} from './types'

/** A change in the desk. `webhookEvent` is set when subscribers must be told. */
export type StoreChange =
  | { kind: 'ticket'; ticket: Ticket; webhookEvent?: WebhookEvent; agent?: Agent }
  | { kind: 'message'; ticket: Ticket; message: Message; webhookEvent?: WebhookEvent; agent?: Agent }

const clone = <T>(value: T): T => structuredClone(value)
const now = () => new Date().toISOString()

export class DeskStore {
  private readonly counters = new Map<string, number>()
  private readonly contactMap = new Map<string, Contact>()
  private readonly ticketMap = new Map<string, Ticket>()
  private readonly messageList: Message[] = []
  private readonly webhookMap = new Map<string, WebhookSubscription>()
  private readonly deliveryMap = new Map<string, Delivery>()
  private readonly agentMap = new Map<string, Agent>()
  private readonly fileMap = new Map<string, { file: StoredFile; bytes: Buffer }>()
  private storedBytes = 0
  private readonly listeners = new Set<(change: StoreChange) => void>()
  /** Where the desk is served (set once it listens): uploaded files' URLs start with it. */
  baseUrl = 'http://127.0.0.1'

  constructor(private readonly maxStoredBytes = MAX_STORED_BYTES) {}

  nextId(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1
    this.counters.set(prefix, n)
    return `${prefix}_${n}`
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(change: StoreChange) {
    for (const listener of this.listeners) listener(change)
  }

  // ---- read access (copies, so callers cannot change the desk behind its back) ----
  get contacts(): Contact[] {
    return [...this.contactMap.values()].map(clone)
  }
  get tickets(): Ticket[] {
    return [...this.ticketMap.values()].map(clone)
  }
  get messages(): Message[] {
    return this.messageList.map(clone)
  }
  get webhooks(): WebhookSubscription[] {
    return [...this.webhookMap.values()].map(clone)
  }
  get deliveries(): Delivery[] {
    return [...this.deliveryMap.values()].map(clone)
  }
  get agents(): Agent[] {
    return [...this.agentMap.values()].map(clone)
  }
  /** Uploaded files (without their bytes: `fileContent`). */
  get files(): StoredFile[] {
    return [...this.fileMap.values()].map((f) => clone(f.file))
  }

  getTicket(id: string): Ticket | undefined {
    const t = this.ticketMap.get(id)
    return t && clone(t)
  }
  getContact(id: string): Contact | undefined {
    const c = this.contactMap.get(id)
    return c && clone(c)
  }
  getAgent(id: string): Agent | undefined {
    const a = this.agentMap.get(id)
    return a && clone(a)
  }
  /** An uploaded file with a copy of its bytes. */
  fileContent(id: string): { file: StoredFile; bytes: Buffer } | undefined {
    const f = this.fileMap.get(id)
    return f && { file: clone(f.file), bytes: Buffer.from(f.bytes) }
  }
  messagesOf(ticketId: string): Message[] {
    return this.messageList.filter((m) => m.ticketId === ticketId).map(clone)
  }
  ticketWithMessages(id: string): TicketWithMessages | undefined {
    const t = this.ticketMap.get(id)
    if (!t) return undefined
    return { ...clone(t), contact: this.getContact(t.contactId) ?? null, messages: this.messagesOf(id) }
  }

  // ---- agents ----
  addAgent(agent: Agent) {
    this.agentMap.set(agent.id, clone(agent))
  }

  private requireAgent(agentId: unknown): Agent {
    if (typeof agentId !== 'string' || agentId === '') throw new DeskError(400, 'invalid_request', '`agentId` is required')
    const agent = this.agentMap.get(agentId)
    if (!agent) throw new DeskError(404, 'not_found', `No agent ${agentId}`)
    return agent
  }

  private requireTicket(id: string): Ticket {
    const ticket = this.ticketMap.get(id)
    if (!ticket) throw new DeskError(404, 'not_found', `No ticket ${id}`)
    return ticket
  }

  private requireOpen(ticket: Ticket) {
    if (ticket.status !== 'open') throw new DeskError(409, 'ticket_not_open', `Ticket ${ticket.id} is ${ticket.status}`)
  }

  // ---- contacts ----
  /** Returns the contact and whether it was created (false: an existing one with that `externalId`). */
  createContact(input: { name: string; email?: string | null; externalId?: string | null }): {
    contact: Contact
    created: boolean
  } {
    if (input.externalId) {
      for (const c of this.contactMap.values()) {
        if (c.externalId === input.externalId) return { contact: clone(c), created: false }
      }
    }
    const contact: Contact = {
      id: this.nextId('cnt'),
      name: input.name,
      email: input.email ?? null,
      externalId: input.externalId ?? null,
      createdAt: now(),
    }
    this.contactMap.set(contact.id, contact)
    return { contact: clone(contact), created: true }
  }

  // ---- tickets ----
  createTicket(input: { contactId: string; subject: string; description?: string | null; history?: { author: 'contact' | 'bot'; text: string }[] }): Ticket {
    const contact = this.contactMap.get(input.contactId)
    if (!contact) throw new DeskError(404, 'not_found', `No contact ${input.contactId}`)
    const at = now()
    const ticket: Ticket = {
      id: this.nextId('tkt'),
      status: 'open',
      subject: input.subject,
      description: input.description ?? null,
      contactId: contact.id,
      assigneeId: null,
      createdAt: at,
      updatedAt: at,
      solvedAt: null,
      closedAt: null,
    }
    this.ticketMap.set(ticket.id, ticket)
    this.emit({ kind: 'ticket', ticket: clone(ticket) })
    // History lines are part of the ticket's creation: stored and shown, but no `message.created` webhook.
    for (const line of input.history ?? []) {
      const isContact = line.author === 'contact'
      this.addMessage(ticket, {
        authorType: isContact ? 'contact' : 'bot',
        authorId: isContact ? contact.id : null,
        authorName: isContact ? contact.name : 'Bot',
        text: line.text,
        attachments: [],
        history: true,
      })
    }
    return clone(ticket)
  }

  private addMessage(ticket: Ticket, m: Omit<Message, 'id' | 'ticketId' | 'createdAt'>, webhook?: { event: WebhookEvent; agent?: Agent }): Message {
    const message: Message = { id: this.nextId('msg'), ticketId: ticket.id, ...m, createdAt: now() }
    this.messageList.push(message)
    ticket.updatedAt = message.createdAt
    this.emit({
      kind: 'message',
      ticket: clone(ticket),
      message: clone(message),
      webhookEvent: webhook?.event,
      agent: webhook?.agent && clone(webhook.agent),
    })
    return clone(message)
  }

  /** Keeps the uploaded files of a message (all or none: the storage limit is checked first). */
  private storeUploads(ticket: Ticket, uploads: Upload[]): Attachment[] {
    const total = uploads.reduce((n, u) => n + u.bytes.length, 0)
    if (this.storedBytes + total > this.maxStoredBytes) {
      throw new DeskError(507, 'storage_full', `The desk keeps at most ${megabytes(this.maxStoredBytes)} of files in memory; restart it to start afresh`)
    }
    return uploads.map((u) => {
      const id = this.nextId('fil')
      const url = `${this.baseUrl}/files/${id}/${encodeURIComponent(u.name)}`
      const file: StoredFile = { id, ticketId: ticket.id, name: u.name, contentType: u.contentType, size: u.bytes.length, url, createdAt: now() }
      this.fileMap.set(id, { file, bytes: Buffer.from(u.bytes) })
      this.storedBytes += file.size
      return { url, title: u.name, kind: kindOf(u.contentType), fileId: id, contentType: u.contentType, size: file.size }
    })
  }

  /** A message from the contact or a system notice (what an integration posts). */
  postMessage(ticketId: string, input: { text: string; authorType: 'contact' | 'system'; attachments: Attachment[]; uploads?: Upload[] }) {
    const ticket = this.requireTicket(ticketId)
    this.requireOpen(ticket)
    const attachments = [...input.attachments, ...this.storeUploads(ticket, input.uploads ?? [])]
    const contact = this.contactMap.get(ticket.contactId)
    const isContact = input.authorType === 'contact'
    return this.addMessage(
      ticket,
      {
        authorType: input.authorType as AuthorType,
        authorId: isContact ? ticket.contactId : null,
        authorName: isContact ? (contact?.name ?? 'Contact') : 'System',
        text: input.text,
        attachments,
        history: false,
      },
      { event: 'message.created' },
    )
  }

  /** An agent's reply. */
  reply(ticketId: string, agentId: unknown, text: string, links: Attachment[] = [], uploads: Upload[] = []): Message {
    const ticket = this.requireTicket(ticketId)
    const agent = this.requireAgent(agentId)
    this.requireOpen(ticket)
    const attachments = [...links, ...this.storeUploads(ticket, uploads)]
    return this.addMessage(
      ticket,
      { authorType: 'agent', authorId: agent.id, authorName: agent.name, text, attachments, history: false },
      { event: 'message.created', agent },
    )
  }

  /** Assigns the ticket. Assigning it again to its current assignee changes nothing and sends no webhook. */
  assign(ticketId: string, agentId: unknown): Ticket {
    const ticket = this.requireTicket(ticketId)
    const agent = this.requireAgent(agentId)
    this.requireOpen(ticket)
    if (ticket.assigneeId === agent.id) return clone(ticket)
    ticket.assigneeId = agent.id
    ticket.updatedAt = now()
    this.emit({ kind: 'ticket', ticket: clone(ticket), webhookEvent: 'ticket.assigned', agent: clone(agent) })
    return clone(ticket)
  }

  /** Marks the ticket solved by an agent. Solving a solved ticket is a no-op; a closed one is 409. */
  solve(ticketId: string, agentId: unknown): Ticket {
    const ticket = this.requireTicket(ticketId)
    const agent = this.requireAgent(agentId)
    if (ticket.status === 'solved') return clone(ticket)
    this.requireOpen(ticket)
    const at = now()
    ticket.status = 'solved'
    ticket.solvedAt = at
    ticket.updatedAt = at
    this.emit({ kind: 'ticket', ticket: clone(ticket), webhookEvent: 'ticket.solved', agent: clone(agent) })
    return clone(ticket)
  }

  /** Closes the ticket (the integration's side: the end user left). Idempotent. */
  close(ticketId: string): Ticket {
    const ticket = this.requireTicket(ticketId)
    if (ticket.status === 'closed') return clone(ticket)
    const at = now()
    ticket.status = 'closed'
    ticket.closedAt = at
    ticket.updatedAt = at
    this.emit({ kind: 'ticket', ticket: clone(ticket), webhookEvent: 'ticket.closed' })
    return clone(ticket)
  }

  // ---- webhook subscriptions and deliveries ----
  addWebhook(sub: WebhookSubscription) {
    this.webhookMap.set(sub.id, clone(sub))
  }
  removeWebhook(id: string): boolean {
    return this.webhookMap.delete(id)
  }
  getWebhook(id: string): WebhookSubscription | undefined {
    const w = this.webhookMap.get(id)
    return w && clone(w)
  }
  /** Stores the live delivery record (the dispatcher keeps mutating it). */
  putDelivery(delivery: Delivery) {
    this.deliveryMap.set(delivery.id, delivery)
  }
  /** The live record itself, for the dispatcher only. */
  liveDelivery(id: string): Delivery | undefined {
    return this.deliveryMap.get(id)
  }
}
