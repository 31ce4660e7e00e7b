// Public shapes of the Demo Desk: what its REST API returns and what its webhooks carry.
// Plain data, no Botpress types (the desk stands for "any helpdesk").

export type Contact = {
  id: string
  name: string
  email: string | null
  externalId: string | null
  createdAt: string
}

export type TicketStatus = 'open' | 'solved' | 'closed'

export type Ticket = {
  id: string
  status: TicketStatus
  subject: string
  description: string | null
  contactId: string
  assigneeId: string | null
  createdAt: string
  updatedAt: string
  solvedAt: string | null
  closedAt: string | null
}

export type AuthorType = 'contact' | 'agent' | 'system' | 'bot'

export const ATTACHMENT_KINDS = ['image', 'audio', 'video', 'file'] as const
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number]

/**
 * A link given by URL (`url`, `title`, `kind` only), or a file uploaded to the desk: then `fileId`,
 * `contentType` and `size` are set and `url` is where the desk serves it (with the API token).
 */
export type Attachment = { url: string; title: string | null; kind: AttachmentKind; fileId?: string; contentType?: string; size?: number }

/** A file uploaded with a message (its bytes stay in the desk's memory). */
export type StoredFile = { id: string; ticketId: string; name: string; contentType: string; size: number; url: string; createdAt: string }

export type Message = {
  id: string
  ticketId: string
  authorType: AuthorType
  /** Contact id for `contact`, agent id for `agent`, null for `system` and `bot`. */
  authorId: string | null
  /** Display name of the author at the time of writing ("Bot", "System" for those). */
  authorName: string
  text: string
  attachments: Attachment[]
  /** True for the lines imported with `history` when the ticket was created. */
  history: boolean
  createdAt: string
}

export type Agent = { id: string; name: string; email: string; avatarUrl: string }

export const WEBHOOK_EVENTS = ['message.created', 'ticket.assigned', 'ticket.solved', 'ticket.closed'] as const
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

export type WebhookSubscription = {
  id: string
  url: string
  /** Random per subscription; signs every delivery. Returned once by `POST /api/webhooks`. */
  secret: string
  events: WebhookEvent[]
  createdAt: string
}

/** The JSON body of a webhook delivery. */
export type WebhookPayload = {
  /** Delivery id: one per (event, subscription), stable across retries. Same as `X-Desk-Delivery`. */
  id: string
  event: WebhookEvent
  /** When the event happened (ISO 8601). */
  createdAt: string
  ticket: Ticket
  contact: Contact | null
  message?: Message
  /** The agent who wrote the message (`message.created` by an agent), was assigned, or solved the ticket. */
  agent?: Agent
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled'

export type DeliveryAttempt = {
  /** 1-based. */
  attempt: number
  startedAt: string
  /** Unix seconds sent in `X-Desk-Timestamp` for this attempt. */
  timestamp: number
  statusCode: number | null
  error: string | null
  durationMs: number
}

export type Delivery = {
  id: string
  webhookId: string
  url: string
  event: WebhookEvent
  ticketId: string
  status: DeliveryStatus
  attempts: DeliveryAttempt[]
  createdAt: string
  finishedAt: string | null
  payload: WebhookPayload
}

export type TicketWithMessages = Ticket & { contact: Contact | null; messages: Message[] }

/**
 * The fields of the REST API's JSON answers (api.ts), for clients that read them: tests, the scripted hand-off,
 * the benchmark's baseline. Each is in its routes' answers only, typed as present because a client reads the
 * fields of the route it called; `error` is in every failure (4xx/5xx).
 */
export type DeskApiAnswer = {
  contact: Contact
  contacts: Contact[]
  ticket: TicketWithMessages
  tickets: TicketWithMessages[]
  message: Message
  agent: Agent
  agents: Agent[]
  /** POST /api/webhooks answers the secret, once; GET /api/webhooks lists them without it. */
  webhook: WebhookSubscription
  webhooks: Omit<WebhookSubscription, 'secret'>[]
  deliveries: Delivery[]
  error: { code: string; message: string }
}
