// Tests of schemas/mapping.schema.json itself: it compiles, it documents every field (description +
// examples), its own examples and editor snippets are valid, a complete mapping passes, and typical mistakes
// give ONE error at the right place (not a dump of every oneOf branch).
import { describe, it, expect } from 'vitest'
import type { SchemaNode } from './support/schemaNode'
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
const schemaPath = fileURLToPath(new URL('../schemas/mapping.schema.json', import.meta.url))
const schema: SchemaNode = JSON.parse(readFileSync(schemaPath, 'utf8'))
const SCHEMA_ID = 'https://universal-hitl.dev/schemas/mapping-v1.schema.json'

// The options the mapping loader is expected to use.
const ajv = new Ajv({ allErrors: true, strict: false, discriminator: true })
ajv.addSchema(schema)
const validate = ajv.getSchema(SCHEMA_ID) as ValidateFunction

// ---------------------------------------------------------------------------------------------
// Walking the schema

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1')
const pointer = (parts: string[]) => parts.map((p) => `/${escapePointer(p)}`).join('')

/** Keywords whose values are subschemas that document data (walked). `if` and `not` are conditions, not docs. */
const SUBSCHEMA_MAPS = ['properties', 'definitions', 'patternProperties', 'dependencies'] as const
const SUBSCHEMA_SINGLE = ['additionalProperties', 'items', 'propertyNames', 'then', 'else', 'contains'] as const
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'] as const

type Visit = (node: SchemaNode, path: string[], role: 'root' | 'definition' | 'property' | 'other') => void

function walk(node: unknown, path: string[], role: 'root' | 'definition' | 'property' | 'other', visit: Visit): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return // boolean schemas: `false` forbids a key
  const n = node as SchemaNode
  visit(n, path, role)
  for (const kw of SUBSCHEMA_MAPS) {
    if (n[kw] && typeof n[kw] === 'object') {
      for (const [k, sub] of Object.entries(n[kw])) {
        const childRole = kw === 'definitions' ? 'definition' : kw === 'properties' ? 'property' : 'other'
        walk(sub, [...path, kw, k], childRole, visit)
      }
    }
  }
  for (const kw of SUBSCHEMA_SINGLE) if (n[kw] !== undefined) walk(n[kw], [...path, kw], 'other', visit)
  for (const kw of SUBSCHEMA_LISTS)
    if (Array.isArray(n[kw])) for (const [i, s] of (n[kw] as unknown[]).entries()) walk(s, [...path, kw, String(i)], 'other', visit)
}

const isNonEmptyString = (v: unknown) => typeof v === 'string' && v.trim().length > 0
/** const/enum-only leaves may skip `examples` (the allowed values are the examples), never `description`. */
const isConstOrEnumLeaf = (n: SchemaNode) => n.const !== undefined || Array.isArray(n.enum)

/** Objects that are free-form on purpose (types.ts: `ExpectedEvent = Record<string, unknown>`). */
// createTicket's result: keys besides ticketId are the mapping's per-ticket values ($ticket), typed as expressions.
const OPEN_OBJECTS = new Set(['/definitions/expectedEvent', '/definitions/createTicketOperation/properties/result'])

// ---------------------------------------------------------------------------------------------
// Editor snippets (`defaultSnippets`, VS Code snippet syntax): render placeholders to their defaults.

function renderSnippetText(text: string): string {
  let out = ''
  let i = 0
  const readUntilClose = (): string => {
    // inside `${n:...}`: read up to the matching unescaped `}`, rendering nested placeholders
    let inner = ''
    while (i < text.length) {
      const c = text[i]
      if (c === '\\' && i + 1 < text.length) {
        inner += text[i + 1]
        i += 2
      } else if (c === '}') {
        i++
        return inner
      } else if (c === '$' && text[i + 1] === '{') {
        inner += readPlaceholder()
      } else {
        inner += c
        i++
      }
    }
    throw new Error(`unterminated placeholder in snippet text ${JSON.stringify(text)}`)
  }
  const readPlaceholder = (): string => {
    i += 2 // `${`
    const m = /^(\d+)([:|]?)/.exec(text.slice(i))
    if (!m) throw new Error(`bad placeholder in snippet text ${JSON.stringify(text)}`)
    i += m[0].length
    if (m[2] === '|') {
      const end = text.indexOf('|}', i)
      const first = text.slice(i, end).split(',')[0]
      i = end + 2
      return first
    }
    if (m[2] === ':') return readUntilClose()
    i++ // `}` of `${1}`
    return ''
  }
  while (i < text.length) {
    const c = text[i]
    if (c === '\\' && i + 1 < text.length && '$}\\'.includes(text[i + 1])) {
      out += text[i + 1]
      i += 2
    } else if (c === '$' && text[i + 1] === '{') {
      out += readPlaceholder()
    } else {
      out += c
      i++
    }
  }
  return out
}

function renderSnippet(body: Json): Json {
  if (typeof body === 'string') return renderSnippetText(body)
  if (Array.isArray(body)) return body.map(renderSnippet)
  if (body && typeof body === 'object') return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, renderSnippet(v)]))
  return body
}

// ---------------------------------------------------------------------------------------------
// A complete, minimal mapping (Request Tracker 5 REST2 with the webhook Scrip of the e2e test)

const VALID_YAML = `
# yaml-language-server: $schema=../schemas/mapping.schema.json
version: 1
vendor: { name: Request Tracker, docs: "https://docs.bestpractical.com/rt/5.0.3/RT/REST2.html" }
settings:
  rtUrl:         { required: true, example: "https://rt.example.com", description: RT's base URL }
  rtToken:       { required: true, secret: true, description: Auth token of the API user }
  queue:         { default: General }
  webhookSecret: { required: true, secret: true }
http:
  baseUrl: "{{ $settings.rtUrl }}/REST/2.0"
  auth: { type: apiKey, in: header, name: Authorization, value: "token {{ $settings.rtToken }}" }
  timeoutMs: 10000
  retry: { limit: 2, statusCodes: [429, 502, 503], maxRetryAfterSeconds: 30 }
  errorMessage: message
operations:
  createUser:
    steps:
      - id: user
        request:
          method: POST
          path: /user
          body: '{"Name": email, "EmailAddress": email, "RealName": name}'
          okStatus: [409]
    result: { externalUserId: email }
  createTicket:
    steps:
      - id: ticket
        request:
          method: POST
          path: /ticket
          body: |
            {
              "Queue": $settings.queue,
              "Subject": title,
              "Requestor": externalUserId,
              "Content": transcript,
              "ContentType": "text/plain"
            }
    result: { ticketId: $steps.ticket.body.id }
  sendMessage:
    fallback:
      steps:
        - id: reply
          request:
            method: POST
            path: "/ticket/{{ ticketId }}/correspond"
            body: '{"Content": text, "ContentType": "text/plain"}'
      result: { messageId: "$steps.reply.body[0]" }
  closeTicket:
    steps:
      - request: { method: PUT, path: "/ticket/{{ ticketId }}", body: '{"Status": "resolved"}', okStatus: [404] }
webhook:
  verify: { scheme: secret, in: header, name: X-RT-Webhook-Secret, secret: "{{ $settings.webhookSecret }}" }
  body: json
  dedupeKey: transaction.id
  events:
    - name: agent reply
      when: event = "correspond" and actor.privileged
      emit: newMessage
      ticketId: ticket.id
      messageId: transaction.id
      agent: { id: actor.id, name: actor.real_name, email: actor.email }
      message: { type: '"text"', text: content }
    - name: owner changed
      when: event = "owner_changed" and new_owner.privileged
      emit: assigned
      ticketId: ticket.id
      agent: { id: new_owner.id, name: new_owner.real_name }
    - name: resolved
      when: event = "status_changed" and new_status = "resolved"
      emit: solved
      ticketId: ticket.id
fixtures:
  settings: { rtUrl: "http://rt.test", rtToken: test-token, webhookSecret: test-secret }
  registration: { scripId: 12 }
  webhooks:
    - name: agent reply becomes newMessage
      request:
        headers: { x-rt-event: correspond, x-rt-webhook-secret: test-secret }
        body: { event: correspond, ticket: { id: 1 }, transaction: { id: 44 }, content: Hello,
                actor: { id: 33, real_name: Agent Smith, email: agent1@helpdesk.example, privileged: true } }
      expect:
        events: [{ type: newMessage, ticketId: "1", messageId: "44", agent: { id: "33", name: Agent Smith },
                   message: { type: text, text: Hello } }]
    - name: end user's own reply is ignored
      request:
        headers: { x-rt-webhook-secret: test-secret }
        body: { event: correspond, ticket: { id: 1 }, transaction: { id: 35 }, actor: { id: 27, privileged: false } }
      expect: { events: [] }
    - name: missing secret is rejected
      request: { body: { event: correspond } }
      expect: { status: 401, events: [] }
  operations:
    - name: closeTicket resolves the ticket
      operation: closeTicket
      input: { ticketId: "1", conversationId: conv_1 }
      responses: [{ status: 200, body: ["Ticket 1: Status changed from 'open' to 'resolved'"] }]
      expect:
        requests: [{ method: PUT, path: /REST/2.0/ticket/1, body: { Status: resolved }, headers: { authorization: token test-token } }]
`

type JsonObject = { [key: string]: Json }
const validMapping = (): JsonObject => parse(VALID_YAML)

/** The object or list at a dotted path of a parsed mapping (`operations.createUser.steps.0`). */
function at(m: Json, path: string): JsonObject {
  const found = path.split('.').reduce<Json | undefined>((o, k) => (o !== null && typeof o === 'object' ? (o as JsonObject)[k] : undefined), m)
  if (found === null || typeof found !== 'object') throw new Error(`no object at ${path}`)
  return found as JsonObject
}
/** Sets the value at a dotted path, or deletes it (`undefined`): the tests write invalid values on purpose. */
function put(m: JsonObject, path: string, value: Json | undefined) {
  const keys = path.split('.')
  const last = keys.pop()!
  const parent = keys.length ? at(m, keys.join('.')) : m
  if (value === undefined) delete parent[last]
  else parent[last] = value
}

type Expected = { instancePath: string; keyword: string; params?: Record<string, unknown>; count?: number }

/**
 * Errors that say something: ajv adds an `if` error ("must match then/else schema") next to the real error
 * of a conditional branch, at the same path; it carries no information of its own.
 */
const meaningful = (errors: ErrorObject[]) => errors.filter((e) => e.keyword !== 'if')
const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  JSON.stringify(
    (errors ?? []).map((e) => ({ instancePath: e.instancePath, keyword: e.keyword, params: e.params, message: e.message })),
    null,
    1,
  )

function expectOneError(data: unknown, want: Expected): void {
  const ok = validate(data)
  const errors = validate.errors ?? []
  expect(ok, 'expected the mapping to be invalid').toBe(false)
  const real = meaningful(errors)
  // One place, one (or `count`) error: not a dump of every branch.
  expect(real.length, describeErrors(errors)).toBe(want.count ?? 1)
  expect(new Set(real.map((e) => e.instancePath)), describeErrors(errors)).toEqual(new Set([want.instancePath]))
  // the `if` echoes sit on the same node or on the conditional object that contains it
  for (const e of errors.filter((x) => x.keyword === 'if')) {
    expect(want.instancePath === e.instancePath || want.instancePath.startsWith(`${e.instancePath}/`), describeErrors(errors)).toBe(true)
  }
  const hit = real.find((e) => e.keyword === want.keyword)
  expect(hit, describeErrors(errors)).toBeDefined()
  if (want.params) expect(hit!.params).toMatchObject(want.params)
}

// ---------------------------------------------------------------------------------------------

describe('mapping.schema.json', () => {
  it('is a draft-07 schema with a versioned $id that ajv compiles', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(schema.$id).toBe(SCHEMA_ID)
    expect(isNonEmptyString(schema.title)).toBe(true)
    expect(isNonEmptyString(schema.description)).toBe(true)
    expect(typeof validate).toBe('function')
    // ajv's default options (no discriminator option, not all errors) compile it too: nothing relies on them.
    expect(() => new Ajv({ strict: false }).compile(schema)).not.toThrow()
  })

  it('uses only known keywords (typos such as `desciption` would be silently ignored otherwise)', () => {
    const strictSchemaAjv = new Ajv({ strict: false, strictSchema: true, keywords: ['defaultSnippets'] })
    expect(() => strictSchemaAjv.compile(schema)).not.toThrow()
  })

  it('documents every definition and every property with a description and examples', () => {
    const offenders: string[] = []
    walk(schema, [], 'root', (node, path, role) => {
      if (role === 'other') return
      const where = `#${pointer(path)}`
      if (!isNonEmptyString(node.description)) offenders.push(`${where}: no description`)
      const hasExamples = Array.isArray(node.examples) && node.examples.length > 0
      if (!hasExamples && !isConstOrEnumLeaf(node)) offenders.push(`${where}: no examples`)
    })
    expect(offenders, `undocumented schema nodes:\n${offenders.join('\n')}`).toEqual([])
  })

  it('closes every object with additionalProperties: false so typos are caught', () => {
    const offenders: string[] = []
    walk(schema, [], 'root', (node, path) => {
      if (!node.properties) return
      const ptr = pointer(path)
      if (OPEN_OBJECTS.has(ptr)) return
      if (Array.isArray(node.allOf)) return // a dispatcher: each if/then branch is a closed definition
      if (['then', 'else'].includes(path[path.length - 1])) return // a constraint added to an object closed above
      if (node.additionalProperties !== false) offenders.push(`#${ptr}`)
    })
    expect(offenders, `objects that accept unknown keys:\n${offenders.join('\n')}`).toEqual([])
  })

  it("validates every node's own examples against that node", () => {
    const failures: string[] = []
    let checked = 0
    walk(schema, [], 'root', (node, path) => {
      if (!Array.isArray(node.examples)) return
      const ref = `${SCHEMA_ID}#${path.map((p) => `/${encodeURIComponent(escapePointer(p))}`).join('')}`
      const v = ajv.getSchema(ref)
      if (!v) {
        failures.push(`#${pointer(path)}: cannot compile`)
        return
      }
      node.examples.forEach((example: unknown, i: number) => {
        checked++
        if (!v(example)) failures.push(`#${pointer(path)}/examples/${i}: ${describeErrors(v.errors)}`)
      })
    })
    expect(checked).toBeGreaterThan(200)
    expect(failures, failures.join('\n')).toEqual([])
  })

  it('has valid editor snippets (defaultSnippets) for a step, an event rule and each operation', () => {
    const failures: string[] = []
    const withSnippets: string[] = []
    walk(schema, [], 'root', (node, path) => {
      if (!Array.isArray(node.defaultSnippets)) return
      withSnippets.push(pointer(path))
      const v = ajv.getSchema(`${SCHEMA_ID}#${pointer(path)}`)!
      for (const snippet of node.defaultSnippets) {
        if (!isNonEmptyString(snippet.label)) failures.push(`#${pointer(path)}: snippet without label`)
        let rendered: Json
        try {
          rendered = renderSnippet(snippet.body)
        } catch (e) {
          failures.push(`#${pointer(path)} "${snippet.label}": ${(e as Error).message}`)
          continue
        }
        if (!v(rendered)) failures.push(`#${pointer(path)} "${snippet.label}": ${describeErrors(v.errors)}`)
      }
    })
    expect(failures, failures.join('\n')).toEqual([])
    for (const def of ['step', 'eventRule', 'createUserOperation', 'createTicketOperation', 'messageOperation', 'closeTicketOperation', 'auth', 'verify']) {
      expect(withSnippets).toContain(`/definitions/${def}`)
    }
  })

  it('renders snippet placeholders as VS Code does', () => {
    expect(renderSnippetText('${1:ticket}')).toBe('ticket')
    expect(renderSnippetText('${2|POST,GET|}')).toBe('POST')
    expect(renderSnippetText('${4:{"text": \\$item.text\\}}')).toBe('{"text": $item.text}')
    expect(renderSnippetText('{{ \\$settings.${4:webhookSecret} \\}}')).toBe('{{ $settings.webhookSecret }}')
  })
})

describe('validating mappings', () => {
  it('accepts a complete minimal mapping written in YAML', () => {
    const ok = validate(validMapping())
    expect(validate.errors, describeErrors(validate.errors)).toBeNull()
    expect(ok).toBe(true)
  })

  it('accepts every shipped mapping in mappings/', () => {
    const dir = fileURLToPath(new URL('../mappings/', import.meta.url))
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) {
      const ok = validate(parse(readFileSync(dir + f, 'utf8')))
      expect(ok, `${f}: ${describeErrors(validate.errors)}`).toBe(true)
    }
  })

  it('accepts `verify: none`, `url` instead of `path`, every auth type and sendMessage per type', () => {
    const m = validMapping()
    put(m, 'webhook.verify', 'none')
    put(m, 'http.auth', { type: 'basic', username: '{{ $settings.rtUser }}', password: '{{ $settings.rtToken }}' })
    put(m, 'operations.closeTicket.steps.0.request', { method: 'PUT', url: 'https://rt.example.com/REST/2.0/ticket/{{ ticketId }}', auth: { type: 'none' } })
    const fallback = at(m, 'operations.sendMessage.fallback')
    put(m, 'operations.sendMessage', { text: fallback, image: fallback, bloc: fallback })
    put(m, 'operations.register', { steps: [], result: { installedAt: '$now()' } })
    put(m, 'webhook.handshake', [{ when: '$method = "GET"', status: 200, body: '{"ok": true}' }])
    expect(validate(m), describeErrors(validate.errors)).toBe(true)
    put(m, 'http.auth', { type: 'bearer', token: '{{ $settings.rtToken }}' })
    put(m, 'webhook.verify', {
      scheme: 'hmac',
      algorithm: 'sha1',
      encoding: 'hex',
      header: 'X-Hub-Signature',
      prefix: 'sha1=',
      signed: '{{ $rawBody }}',
      secret: '{{ $settings.webhookSecret }}',
    })
    expect(validate(m), describeErrors(validate.errors)).toBe(true)
  })

  it('rejects a webhook without verify (it must say `none` explicitly)', () => {
    const m = validMapping()
    put(m, 'webhook.verify', undefined)
    expectOneError(m, { instancePath: '/webhook', keyword: 'required', params: { missingProperty: 'verify' } })
  })

  it('rejects an unknown top-level key', () => {
    const m = validMapping()
    put(m, 'auth', { type: 'bearer', token: 'x' })
    expectOneError(m, { instancePath: '', keyword: 'additionalProperties', params: { additionalProperty: 'auth' } })
  })

  it('rejects a bad emit value', () => {
    const m = validMapping()
    put(m, 'webhook.events.0.emit', 'message')
    expectOneError(m, { instancePath: '/webhook/events/0/emit', keyword: 'enum', params: { allowedValues: ['newMessage', 'assigned', 'solved'] } })
  })

  it('rejects a request with neither path nor url', () => {
    const m = validMapping()
    put(m, 'operations.createUser.steps.0.request.path', undefined)
    expectOneError(m, { instancePath: '/operations/createUser/steps/0/request', keyword: 'required', params: { missingProperty: 'path' } })
  })

  it('rejects a request with both path and url, pointing at path', () => {
    const m = validMapping()
    put(m, 'operations.createUser.steps.0.request.url', 'https://rt.example.com/REST/2.0/user')
    expectOneError(m, { instancePath: '/operations/createUser/steps/0/request/path', keyword: 'false schema' })
  })

  it('rejects an auth of unknown type, listing the allowed types', () => {
    const m = validMapping()
    put(m, 'http.auth', { type: 'oauth2', token: 'x' })
    expectOneError(m, {
      instancePath: '/http/auth/type',
      keyword: 'enum',
      params: { allowedValues: ['basic', 'bearer', 'apiKey', 'none', 'oauth2ClientCredentials', 'oauth2RefreshToken', 'tokenRequest'] },
    })
  })

  it('rejects a known auth type with a missing field, without dumping the other auth types', () => {
    const m = validMapping()
    put(m, 'http.auth', { type: 'bearer' })
    expectOneError(m, { instancePath: '/http/auth', keyword: 'required', params: { missingProperty: 'token' } })
  })

  it('rejects version 2', () => {
    const m = validMapping()
    put(m, 'version', 2)
    expectOneError(m, { instancePath: '/version', keyword: 'const', params: { allowedValue: 1 } })
  })

  it('rejects a misspelt `none` and an unknown verify scheme', () => {
    const m = validMapping()
    put(m, 'webhook.verify', 'none ')
    expectOneError(m, { instancePath: '/webhook/verify', keyword: 'enum', params: { allowedValues: ['none'] } })
    put(m, 'webhook.verify', { scheme: 'ecdsa', header: 'X-Signature' })
    expectOneError(m, {
      instancePath: '/webhook/verify/scheme',
      keyword: 'enum',
      params: { allowedValues: ['hmac', 'secret', 'rsa', 'jwt', 'standardWebhooks'] },
    })
  })

  it('rejects an hmac verify without its secret', () => {
    const m = validMapping()
    put(m, 'webhook.verify', { scheme: 'hmac', algorithm: 'sha256', encoding: 'hex', header: 'X-Signature', signed: '{{ $rawBody }}' })
    expectOneError(m, { instancePath: '/webhook/verify', keyword: 'required', params: { missingProperty: 'secret' } })
  })

  it('rejects an empty sendMessage and an unknown message type', () => {
    const m = validMapping()
    put(m, 'operations.sendMessage', {})
    expectOneError(m, { instancePath: '/operations/sendMessage', keyword: 'minProperties' })
    put(m, 'operations.sendMessage', { sticker: { steps: [] } })
    expectOneError(m, { instancePath: '/operations/sendMessage', keyword: 'additionalProperties', params: { additionalProperty: 'sticker' } })
  })

  it('rejects bad step ids and setting names', () => {
    const m = validMapping()
    put(m, 'operations.createUser.steps.0.id', 'create-user')
    expectOneError(m, { instancePath: '/operations/createUser/steps/0/id', keyword: 'pattern' })
    const s = validMapping()
    put(s, 'settings.api-token', { secret: true })
    expectOneError(s, { instancePath: '/settings', keyword: 'pattern', params: {}, count: 2 }) // pattern + propertyNames
  })

  it('requires the result each operation must give', () => {
    const m = validMapping()
    put(m, 'operations.createUser.result', undefined)
    expectOneError(m, { instancePath: '/operations/createUser', keyword: 'required', params: { missingProperty: 'result' } })
    const t = validMapping()
    // Other keys are per-ticket values, so a misspelt ticketId is caught by the required check alone.
    put(t, 'operations.createTicket.result', { ticketID: '$steps.ticket.body.id' })
    expectOneError(t, { instancePath: '/operations/createTicket/result', keyword: 'required', params: { missingProperty: 'ticketId' } })
  })

  it('rejects a non-string expression (YAML `true` where JSONata text is expected)', () => {
    const m = validMapping()
    put(m, 'webhook.events.2.when', true)
    expectOneError(m, { instancePath: '/webhook/events/2/when', keyword: 'type' })
  })
})
