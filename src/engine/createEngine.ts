import { randomUUID } from 'node:crypto'
import { DiagnosticError } from '../diagnostics/codes'
import { FileNotAttached } from '../attachments/downloadFile'
import { MemoryTokenStore, type TokenStore } from '../auth/tokenStore'
import type { LoadedMapping } from '../mapping/loadMapping'
import { Redactor } from '../http/redact'
import { mediaUrl, messageFiles, renderHistory, renderMessageText } from '../operations/renderMessage'
import { fetchVendorFile, requireId, runOperation, type RunContext } from '../operations/runSteps'
import { routeWebhook, type Attachment, type IncomingWebhook, type RouteOptions } from '../webhook/routeWebhook'
import { verifyKeyTemplate } from '../webhook/signature'
import type { CompiledOperation } from '../mapping/compileMapping'

export class UnsupportedMessageTypeError extends DiagnosticError {}

/**
 * Largest agent file re-hosted on Botpress (`attachments[].rehost`): it is held in memory between the download
 * and the upload, within one webhook call's time budget; 25 MB covers what helpdesks let agents attach.
 */
export const MAX_REHOST_BYTES = 25 * 1024 * 1024
/**
 * Largest JSON answer read for a file served as base64 inside it (`rehost: {base64}`): base64 is 4/3 of the file,
 * plus a tenth for line breaks and escaped slashes (`\/`) in the text, plus 64 KiB for the answer's other fields.
 */
export const MAX_REHOST_JSON_BYTES = Math.ceil(((MAX_REHOST_BYTES * 4) / 3) * 1.1) + 64 * 1024

export type EngineOptions = {
  /** Values the mapping's register steps returned (`$registration`). */
  registration?: Record<string, unknown>
  webhookUrl?: string
  onRequest?: RunContext['onRequest']
  onStepSkipped?: RunContext['onStepSkipped']
  rewriteUrl?: RunContext['rewriteUrl']
  /** Where tokens the auth module obtains are kept; by default in this engine's memory. */
  tokens?: TokenStore
  /** The clock (epoch ms) for token expiry and webhook replay windows; fixtures set it. */
  now?: () => number
  keySet?: RunContext['keySet']
  /** Hosts `files` steps download from instead of Botpress's file hosts (local tests: the emulator). */
  fileHosts?: readonly string[]
  rewriteFileUrl?: RunContext['rewriteFileUrl']
}

export type OutgoingMessage = {
  ticketId: string
  conversationId?: string
  /** The Botpress message's id: a stable key for vendors that take an idempotency key or a client message id. */
  botpressMessageId?: string
  type: string
  payload: Record<string, unknown>
  /** Set when the end user wrote the message; absent for bot notices. */
  userId?: string
  externalUserId?: string
  userName?: string
  /** hitl interface 2.1.0: a string (≤ 500 characters) the bot attached to the message. */
  additionalData?: string
  /** The ticket's per-ticket values (`$ticket`), as stored with the conversation. */
  ticket?: Record<string, unknown>
}

/** What createTicket gives: the ticket id and the per-ticket values the mapping keeps (`$ticket`). */
export type OpenedTicket = { ticketId: string; ticket: Record<string, unknown> }

export type TicketRequest = {
  userId: string
  externalUserId: string
  user: { name?: string; email?: string; pictureUrl?: string }
  title?: string
  description?: string
  hitlSession?: unknown
  messageHistory: { source: { type: string; userId?: string } | string; type: string; payload: Record<string, unknown> }[]
  botName?: string
  /** This hand-off's own random id (`handoffId` in createTicket); a fresh UUID when not given (fixtures give one). */
  handoffId?: string
}

/** The hand-off operations of one loaded mapping; what the Botpress glue, the CLI and the sandbox call. */
export function createEngine(loaded: LoadedMapping, options: EngineOptions = {}) {
  const redactor = new Redactor(loaded.settings.secrets).with(secretsIn(options.registration))
  const ctx: RunContext = {
    mapping: loaded.mapping,
    redactor,
    tokens: options.tokens ?? new MemoryTokenStore(options.now),
    tokenNamespace: loaded.hash.slice(0, 12),
    now: options.now,
    keySet: options.keySet,
    onRequest: options.onRequest,
    onStepSkipped: options.onStepSkipped,
    rewriteUrl: options.rewriteUrl,
    fileHosts: options.fileHosts,
    rewriteFileUrl: options.rewriteFileUrl,
    scope: { settings: loaded.settings.values, registration: options.registration ?? {}, webhookUrl: options.webhookUrl },
  }
  const ops = loaded.mapping.operations
  /** `$ticket` in an operation on an existing ticket. */
  const withTicket = (ticket: Record<string, unknown> | undefined): RunContext => ({ ...ctx, scope: { ...ctx.scope, ticket: ticket ?? {} } })

  async function sendOne(type: string, message: OutgoingMessage): Promise<string[]> {
    const payload = message.payload
    const op: CompiledOperation | undefined = ops.sendMessage[type] ?? (type === 'bloc' ? undefined : ops.sendMessage.fallback)
    if (!op && type === 'bloc') {
      const items = (payload.items as { type: string; payload: Record<string, unknown> }[] | undefined) ?? []
      const ids: string[] = []
      for (const item of items) ids.push(...(await sendOne(item.type, { ...message, type: item.type, payload: { ...item.payload } })))
      return ids
    }
    if (!op) {
      throw new UnsupportedMessageTypeError(
        'UH-E046',
        `the mapping has no sendMessage.${type} and no sendMessage.fallback; add one of them to send ${type} messages`,
      )
    }
    const input = {
      ticketId: message.ticketId,
      conversationId: message.conversationId,
      botpressMessageId: message.botpressMessageId,
      type,
      text: renderMessageText(type, payload),
      url: mediaUrl(type, payload),
      title: typeof payload.title === 'string' ? payload.title : undefined,
      payload,
      fromUser: !!message.userId,
      userId: message.userId,
      externalUserId: message.externalUserId,
      userName: message.userName,
      additionalData: message.additionalData,
      files: messageFiles(type, payload),
    }
    let result: Awaited<ReturnType<typeof runOperation>>
    try {
      result = await runOperation(op, withTicket(message.ticket), input)
    } catch (e) {
      if (!(e instanceof FileNotAttached)) throw e
      return sendAsLink(message, input, e)
    }
    return result.messageId === undefined || result.messageId === null ? [] : [String(result.messageId)]
  }

  /** A file the helpdesk cannot take (too large, wrong type, download failed): its link as text, with why. */
  async function sendAsLink(message: OutgoingMessage, input: Record<string, unknown>, why: FileNotAttached): Promise<string[]> {
    const op = ops.sendMessage.text ?? ops.sendMessage.fallback
    if (!op)
      throw new UnsupportedMessageTypeError(
        'UH-E046',
        `${why.file.name} could not be attached (${why.note}) and the mapping has no sendMessage.text or fallback to send its link`,
      )
    const text = `${input.text as string} (not attached: ${why.note})`
    const result = await runOperation(op, withTicket(message.ticket), { ...input, type: 'text', text, files: [] })
    return result.messageId === undefined || result.messageId === null ? [] : [String(result.messageId)]
  }

  async function openTicket(req: TicketRequest): Promise<OpenedTicket> {
    const { items, transcript } = renderHistory(req.messageHistory ?? [], { user: req.user.name || 'User', bot: req.botName ?? 'Bot' })
    const input = { ...req, handoffId: req.handoffId ?? randomUUID(), messageHistory: items, transcript }
    const { ticketId, ...values } = await runOperation(ops.createTicket, ctx, input)
    // Result keys besides ticketId are the ticket's own values; undefined ones are not kept.
    const ticket = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
    return { ticketId: requireId(ticketId, 'ticketId', 'createTicket'), ticket }
  }

  return {
    mapping: loaded.mapping,
    redactor,
    /** Hash of mapping + settings: registrations remember it so an unchanged configuration is not re-registered. */
    configHash: loaded.hash,

    /** Where this configuration's requests may go: the base URL's host and `http.allowedHosts` (shown on save). */
    async vendorHosts(): Promise<string[]> {
      const base = await loaded.mapping.http.baseUrl.render(undefined, ctx.scope)
      let host = base
      try {
        host = new URL(base).hostname
      } catch {
        // reported by the first request; here only shown
      }
      return [host, ...loaded.mapping.http.allowedHosts]
    },

    /**
     * Which helpdesk account this configuration talks to: the vendor's name and the rendered base URL (where
     * subdomains and account ids live). A helpdesk user id is only meaningful within one account.
     */
    async helpdeskAccount(): Promise<{ vendor: string; baseUrl: string }> {
      return { vendor: loaded.mapping.file.vendor.name, baseUrl: await loaded.mapping.http.baseUrl.render(undefined, ctx.scope) }
    },

    /** A verify block whose secret renders empty (or white space) can never accept a delivery: say so at save time. */
    async missingWebhookSecret(): Promise<string | undefined> {
      const key = verifyKeyTemplate(loaded.mapping.webhook.verify)
      if (!key) return undefined
      if ((await key.render(undefined, ctx.scope)).trim()) return undefined
      return `webhook.verify needs a secret or key, but "${key.source}" is empty: set it in the settings (or make the register steps return it)`
    },

    async createUser(input: { userId?: string; name: string; email?: string; pictureUrl?: string }): Promise<string> {
      const result = await runOperation(ops.createUser, ctx, input)
      return requireId(result.externalUserId, 'externalUserId', 'createUser')
    },

    /** createTicket with the per-ticket values the mapping keeps (what the integration stores). */
    openTicket,

    async createTicket(req: TicketRequest): Promise<string> {
      return (await openTicket(req)).ticketId
    },

    /** Sends one Botpress message (any type); returns the vendor message ids it created. */
    sendMessage: (message: OutgoingMessage) => sendOne(message.type, message),

    async closeTicket(input: { ticketId: string; conversationId?: string; ticket?: Record<string, unknown> }): Promise<void> {
      const { ticket, ...rest } = input
      await runOperation(ops.closeTicket, withTicket(ticket), rest)
    },

    async register(webhookUrl: string): Promise<Record<string, unknown>> {
      if (!ops.register) return {}
      return runOperation(ops.register, { ...ctx, scope: { ...ctx.scope, webhookUrl } }, { webhookUrl })
    },

    /** `operations.checkCredentials`: a call that fails on bad credentials, run before register creates anything. */
    async checkCredentials(): Promise<void> {
      if (ops.checkCredentials) await runOperation(ops.checkCredentials, ctx, {})
    },

    async unregister(webhookUrl: string): Promise<void> {
      if (!ops.unregister) return
      await runOperation(ops.unregister, { ...ctx, scope: { ...ctx.scope, webhookUrl } }, { webhookUrl })
    },

    /** The same configuration with other registration values (register: the previous ones, then the new). */
    withRegistration: (registration: Record<string, unknown> | undefined) => createEngine(loaded, { ...options, registration }),

    routeWebhook: (req: IncomingWebhook, o?: RouteOptions) => routeWebhook(req, ctx, o),

    /**
     * An agent's file that needs the helpdesk's credentials (`rehost`), downloaded with the mapping's auth; with
     * `rehost: {base64}` its URL answers JSON holding the file as base64 at that field.
     */
    downloadAgentFile: (file: { url: string; name: string; contentType?: string }, rehost: Attachment['rehost'] = true) =>
      fetchVendorFile(file, ctx, MAX_REHOST_BYTES, typeof rehost === 'object' ? { field: rehost.base64, maxAnswerBytes: MAX_REHOST_JSON_BYTES } : undefined),
  }
}

export type Engine = ReturnType<typeof createEngine>

/** String values kept from registration (e.g. a webhook signing secret) are masked like settings secrets. */
export function secretsIn(registration: Record<string, unknown> | undefined): string[] {
  return Object.entries(registration ?? {})
    .filter(([k, v]) => typeof v === 'string' && /secret|token|key|password/i.test(k))
    .map(([, v]) => v as string)
}

export const OPERATION_NAMES = ['createUser', 'createTicket', 'sendMessage', 'closeTicket', 'register', 'unregister', 'checkCredentials'] as const
export type OperationName = (typeof OPERATION_NAMES)[number]

/**
 * Runs one operation by name with a plain input object and returns its result as the format names it
 * (`externalUserId`, `ticketId`, `messageId`, register's values): what fixtures and the CLI's dry run need.
 */
export async function runOperationByName(
  engine: Engine,
  operation: OperationName,
  input: Record<string, unknown>,
  webhookUrl: string,
): Promise<Record<string, unknown>> {
  switch (operation) {
    case 'createUser':
      return { externalUserId: await engine.createUser(input as never) }
    case 'createTicket': {
      const opened = await engine.openTicket({ messageHistory: [], user: {}, ...input } as never)
      return { ...opened.ticket, ticketId: opened.ticketId }
    }
    case 'sendMessage': {
      const ids = await engine.sendMessage(input as never)
      return ids.length ? { messageId: ids[ids.length - 1] } : {}
    }
    case 'closeTicket':
      await engine.closeTicket(input as never)
      return {}
    case 'register':
      return engine.register(webhookUrl)
    case 'unregister':
      await engine.unregister(webhookUrl)
      return {}
    case 'checkCredentials':
      await engine.checkCredentials()
      return {}
  }
}
