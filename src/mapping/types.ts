// The mapping file as written by a mapping author (after YAML parsing and schema validation).
// schemas/mapping.schema.json is the source of truth for this shape; test/mapping-types.test.ts holds these
// types to it field by field, so change the schema first, then these types, then src/mapping/compile/.
// `Template` = a string whose `{{ expr }}` parts are JSONata, always rendering to a string.
// `Expression` = a JSONata expression whose result keeps its JSON type.
export type Template = string
export type Expression = string

export type MappingFile = {
  version: 1
  vendor: { name: string; docs?: string; description?: string }
  settings?: Record<string, SettingDeclaration>
  http: HttpDefaults
  operations: Operations
  webhook: WebhookSpec
  fixtures?: Fixtures
}

export type SettingDeclaration = {
  description?: string
  required?: boolean
  secret?: boolean
  default?: string | number | boolean
  example?: string
}

export type Auth =
  | { type: 'basic'; username: Template; password: Template }
  | { type: 'bearer'; token: Template }
  | { type: 'apiKey'; in: 'header' | 'query'; name: string; value: Template }
  | { type: 'none' }
  | OAuth2ClientCredentialsAuth
  | OAuth2RefreshTokenAuth
  | TokenRequestAuth

// Token auth (format 1.1): a token obtained from the vendor, cached in the token store until shortly before it
// expires, refreshed once on a 401. `header`/`prefix` say how a request carries it (default `Authorization: Bearer`).
export type OAuth2ClientCredentialsAuth = {
  type: 'oauth2ClientCredentials'
  tokenUrl: Template
  clientId: Template
  clientSecret: Template
  scope?: Template
  header?: string
  prefix?: string
}

export type OAuth2RefreshTokenAuth = {
  type: 'oauth2RefreshToken'
  tokenUrl: Template
  clientId: Template
  clientSecret: Template
  /** The refresh token the admin pasted; a rotated one the vendor returns replaces it in the token store. */
  refreshToken: Template
  scope?: Template
  header?: string
  prefix?: string
}

export type TokenRequestAuth = {
  type: 'tokenRequest'
  /** The token request(s); their requests carry no auth unless they say so. */
  steps: Step[]
  token: Expression
  expiresIn?: Expression
  /** One token per rendered key (e.g. per end user: `{{ $input.externalUserId }}`). */
  key?: Template
  header?: string
  prefix?: string
}

export type RetryPolicy = {
  limit?: number
  statusCodes?: number[]
  maxRetryAfterSeconds?: number
  /** A header read like `Retry-After` when the vendor uses another name (`X-RateLimit-Retry-After`). */
  retryAfterHeader?: string
}

export type HttpDefaults = {
  baseUrl: Template
  /** Hosts besides baseUrl's that requests may go to (`*.example.com` for subdomains). */
  allowedHosts?: string[]
  headers?: Record<string, Template>
  query?: Record<string, Template>
  auth?: Auth
  timeoutMs?: number
  retry?: RetryPolicy
  /** JSONata expression evaluated against an error response body: the vendor's message. */
  errorMessage?: Expression
}

export type RequestSpec = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path?: Template
  url?: Template
  query?: Record<string, Template>
  headers?: Record<string, Template>
  auth?: Auth
  body?: Expression
  form?: Expression
  idempotent?: boolean
  /** Statuses that do not fail the step (besides 2xx), e.g. 404 on a close that may already be done. */
  okStatus?: number[]
  /** Send the message's files themselves (downloaded from Botpress): multipart parts or base64 in the JSON body. */
  files?: FilesSpec
}

export type FilesSpec = {
  as: 'multipart' | 'base64' | 'binary'
  /** multipart: the part name of each file. */
  field?: string
  /** The helpdesk's size limit; a larger file is sent as its link, with a note. */
  maxBytes?: number
  /** Content types the helpdesk takes here (`image/*`); another type is sent as its link. */
  contentTypes?: string[]
}

/** A step of an `onError` recovery: a step without its own `onError` (a recovery is never itself recovered). */
export type RecoveryStep = {
  id?: string
  when?: Expression
  forEach?: Expression
  request: RequestSpec
  paginate?: Paginate
  retry?: StepRetry
}

export type Step = RecoveryStep & { onError?: OnError }

/** Follow the response to further pages: `next` gives the next page's URL or query, up to `maxPages`. */
export type Paginate = { next: Expression; until?: Expression; maxPages: number }

/** Re-send this step (overrides `http.retry` for it) on these statuses or while `until` is false. */
export type StepRetry = { statusCodes?: number[]; until?: Expression; limit: number; delayMs?: number }

/** When the step fails and `when` holds: run `steps`, then send the step once more. */
export type OnError = { when?: Expression; steps: RecoveryStep[] }

/** Steps, then `result` expressions: what the operation gives back (ids the hand-off keeps). */
export type Operation<Result extends Record<string, Expression | undefined> = Record<string, Expression>> = {
  steps: Step[]
  result?: Result
}

export type MessageOperation = Operation<{ messageId?: Expression }>

export const MESSAGE_TYPES = ['text', 'image', 'audio', 'video', 'file', 'bloc'] as const
export type MessageType = (typeof MESSAGE_TYPES)[number]

/** The Botpress HITL plugin's made-up address (`<userId>@no-reply.<botId>.botpress.com`): dropped unless `keep`. */
export type PlaceholderEmail = 'drop' | 'keep'

export type Operations = {
  createUser: Required<Operation<{ externalUserId: Expression }>> & { placeholderEmail?: PlaceholderEmail }
  /** Result keys besides `ticketId` are per-ticket values, kept with the conversation and read as `$ticket.<key>`. */
  createTicket: Required<Operation<{ ticketId: Expression; [name: string]: Expression }>>
  sendMessage: Partial<Record<MessageType, MessageOperation>> & { fallback?: MessageOperation }
  closeTicket: Operation
  register?: Operation
  unregister?: Operation
  /** Run first by register: a call that fails on bad credentials (`GET /me`), so a bad token fails the save. */
  checkCredentials?: Operation
}

export type VerifyTimestamp = { value: Template; format: 'unix' | 'unixMs' | 'iso'; toleranceSeconds?: number }

export type HmacVerify = {
  scheme: 'hmac'
  algorithm: 'sha1' | 'sha256' | 'sha512'
  encoding: 'hex' | 'base64'
  /** Header carrying the signature. */
  header: string
  /** Text before the signature in the header, e.g. "sha256=". */
  prefix?: string
  /** Expression over `$header` (and the delivery): the signature(s) in a structured header. */
  signature?: Expression
  /** Template with `$signature` and `$timestamp`: how the vendor writes the header (what fixtures sign). */
  headerFormat?: Template
  /** The signed content. `{{ rawBody }}` etc. */
  signed: Template
  secret: Template
  timestamp?: VerifyTimestamp
}

export type RsaVerify = {
  scheme: 'rsa'
  algorithm: 'sha256' | 'sha512'
  padding?: 'pkcs1' | 'pss'
  encoding?: 'hex' | 'base64'
  header: string
  prefix?: string
  signature?: Expression
  headerFormat?: Template
  signed: Template
  /** PEM public key (usually a setting). */
  publicKey: Template
  timestamp?: VerifyTimestamp
}

export type JwtVerify = {
  scheme: 'jwt'
  /** Header carrying the JWT (a `Bearer ` prefix is removed). */
  header: string
  prefix?: string
  algorithms: ('RS256' | 'ES256' | 'HS256')[]
  jwksUrl?: Template
  /** PEM public key (RS256/ES256) or shared secret (HS256). */
  key?: Template
  issuer?: Template
  audience?: Template
  /** Claims that must be present besides `exp`. */
  requiredClaims?: string[]
  clockSkewSeconds?: number
}

export type StandardWebhooksVerify = {
  scheme: 'standardWebhooks'
  /** The `whsec_…` secret (base64 after the prefix). */
  secret: Template
  toleranceSeconds?: number
}

export type SecretVerify = {
  scheme: 'secret'
  in: 'header' | 'query' | 'basic' | 'body'
  /** Header or query parameter name; for `body` a JSONata expression reading the secret from the parsed body. */
  name: string
  secret: Template
}

export type Verify = 'none' | HmacVerify | SecretVerify | RsaVerify | JwtVerify | StandardWebhooksVerify

export type HandshakeRule = {
  when: Expression
  status?: number
  headers?: Record<string, Template>
  body?: Expression
}

export const EVENT_TYPES = ['newMessage', 'assigned', 'solved'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export type EventRule = {
  name?: string
  when: Expression
  /** One event type, or several produced in this order from the same fields. */
  emit: EventType | EventType[]
  /** After this rule, go on trying the next rules (each matching one adds its events). */
  continue?: boolean
  /** Per-ticket values to update (`$ticket.<name>`), evaluated like the other fields. */
  set?: Record<string, Expression>
  forEach?: Expression
  steps?: Step[]
  /** After the steps: one event (per emitted type) per element of this list, which the fields read as `$item`. */
  each?: Expression
  ticketId: Expression
  messageId?: Expression
  agent?: { id?: Expression; name?: Expression; avatarUrl?: Expression; email?: Expression }
  message?: { type?: Expression; text?: Expression; url?: Expression; title?: Expression }
  /** The agent's files: a list of `{type?, url, name?, contentType?}`, each a Botpress media message after the text. */
  attachments?: Expression
}

export type WebhookSpec = {
  handshake?: HandshakeRule[]
  verify: Verify
  body?: 'json' | 'form' | 'auto'
  forEach?: Expression
  dedupeKey?: Expression
  maxBodyBytes?: number
  events: EventRule[]
}

export type RequestFixture = {
  method?: string
  path?: string
  query?: string | Record<string, string>
  headers?: Record<string, string>
  body: string | unknown
}

export type WebhookFixture = {
  name: string
  request: RequestFixture
  /** Sign the request with this algorithm's verify block at run time (timestamp = now). */
  sign?: boolean
  /** What kind of delivery the case is, where `expect` alone cannot say it (echo, private note). */
  covers?: ('customerMessage' | 'privateNote')[]
  expect: { events?: ExpectedEvent[]; status?: number; handshake?: { status?: number; body?: unknown } }
  stepResponses?: Record<string, FixtureResponse[]>
  /** What `$ticket` holds for the ticket of this delivery (the per-ticket values stored so far). */
  ticket?: Record<string, unknown>
}

/** The fields given are compared with the event produced (others, e.g. `dedupeKey`, too when given). */
export type ExpectedEvent = {
  type?: EventType
  ticketId?: string
  messageId?: string
  agent?: Record<string, unknown>
  message?: Record<string, unknown>
  [field: string]: unknown
}

export type FixtureResponse = { status?: number; headers?: Record<string, string>; body?: unknown }

export type OperationFixture = {
  name: string
  operation: 'createUser' | 'createTicket' | 'sendMessage' | 'closeTicket' | 'register' | 'unregister' | 'checkCredentials'
  input?: Record<string, unknown>
  registration?: Record<string, unknown>
  /** Responses the stub helpdesk gives, in order. */
  responses?: FixtureResponse[]
  expect: { requests: ExpectedRequest[]; result?: Record<string, unknown>; error?: string }
}

export type ExpectedRequest = {
  method: string
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
  body?: unknown
}

export type Fixtures = {
  settings?: Record<string, unknown>
  /** Values `$registration` holds in fixtures (what register would have returned, e.g. a signing secret). */
  registration?: Record<string, unknown>
  /** The clock of every fixture (ISO date-time): replay windows and token expiry are judged against it. */
  now?: string
  /** The fixtures' own signing keys (test keys only): what `sign: true` signs `rsa` and `jwt` deliveries with. */
  keys?: { privateKey?: string; kid?: string }
  /** What Botpress serves at these file URLs while fixtures run (what `files` steps download). */
  files?: Record<string, { contentType: string; text?: string; base64?: string }>
  webhooks?: WebhookFixture[]
  operations?: OperationFixture[]
}
