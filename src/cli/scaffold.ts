// `universal-hitl init <name>`: a commented mapping skeleton with every operation, a verify block and a fixtures
// section. It is schema-valid and compiles; every value still to write reads `TODO`, and `validate` lists them.
import { existsSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { stringify as stringifyYaml } from 'yaml'
import { compileMappingText, resolveMappingText } from '../mapping/loadMapping'
import type { MappingFile } from '../mapping/types'
import { CliError, readText } from './inputs'

const DEFAULT_SETTINGS = `settings:
  baseUrl: { required: true, description: "TODO: the helpdesk's address, e.g. https://acme.example.com", example: "https://acme.example.com" }
  apiToken: { required: true, secret: true, description: An API token of an admin or agent account }
  webhookSecret: { required: true, secret: true, description: The secret the helpdesk signs its webhooks with }
`

const DEFAULT_HTTP = `http:
  baseUrl: "{{ $settings.baseUrl }}/api"          # TODO: the API's base path, if it has one
  auth: { type: bearer, token: "{{ $settings.apiToken }}" }
  errorMessage: error.message                       # where the helpdesk's error responses say what went wrong
`

const DEFAULT_VERIFY = `  verify:
    scheme: hmac
    algorithm: sha256
    encoding: hex
    header: X-TODO-Signature                        # TODO: the header carrying the signature
    prefix: ""                                      # text before the signature, e.g. "sha256="
    signed: "{{ $rawBody }}"                        # what is signed; with a timestamp e.g. '{{ $headers."x-ts" }}.{{ $rawBody }}'
    secret: "{{ $settings.webhookSecret }}"
`

/** A YAML block (`key:` and its value) as the source mapping has it, for `--from`. */
const block = (key: string, value: unknown, indent = '') =>
  stringifyYaml({ [key]: value }, { lineWidth: 0 })
    .split('\n')
    .map((l) => (l ? indent + l : l))
    .join('\n')

function skeleton(name: string, from?: { file: string; mapping: MappingFile }): string {
  const m = from?.mapping
  const verify = m && m.webhook.verify !== 'none' ? block('verify', m.webhook.verify, '  ') : DEFAULT_VERIFY
  return `# yaml-language-server: $schema=${'{{schema}}'}
# ${name}: a universal-hitl vendor mapping. Guide: docs/mapping-format.md; every field is described in the schema.
# Fill in every TODO (\`npx universal-hitl validate ${name}.yaml\` lists those left), then capture real deliveries
# (\`npx universal-hitl capture ${name}.yaml --port 8787 --record captured.yaml\`), move them under fixtures:, and
# run \`npx universal-hitl test ${name}.yaml\`.${from ? `\n# settings, http and webhook.verify were copied from ${from.file}.` : ''}
version: 1
vendor:
  name: ${JSON.stringify(name)}
  docs: "https://TODO.example.com/api-docs"         # TODO: the API reference you wrote this from

# What the bot admin types in the integration's Settings field (secret ones are masked in every log).
${m?.settings ? block('settings', m.settings) : DEFAULT_SETTINGS}
${m ? block('http', m.http) : DEFAULT_HTTP}
# Expressions (body, result, when, ticketId, ...) are JSONata; templates (path, headers, ...) hold {{ JSONata }}.
# The 'TODO: ...' values below are JSONata string literals: replace each with the real expression.
operations:
  # The end user as a contact/requester in the helpdesk. Input: userId, name, email, pictureUrl.
  createUser:
    steps:
      - id: user
        request:
          method: POST
          path: /TODO-contacts                        # TODO: the endpoint creating (or finding) a contact
          body: '{"name": name, "email": email, "external_id": userId}'
    result: { externalUserId: "'TODO: the new contact id, e.g. $steps.user.body.id'" }

  # A ticket (conversation) with the chat so far. Input: externalUserId, user, title, description, transcript, messageHistory, handoffId.
  createTicket:
    steps:
      - id: ticket
        request:
          method: POST
          path: /TODO-tickets                         # TODO: the endpoint creating a ticket
          body: '{"requester_id": externalUserId, "subject": title, "description": description & "\\n\\n" & transcript}'
    result: { ticketId: "'TODO: the new ticket id, e.g. $steps.ticket.body.id'" }

  # The end user's messages and bot notices (fromUser false). Input: ticketId, text, url, fromUser, externalUserId.
  sendMessage:
    text:
      steps:
        - id: post
          request:
            method: POST
            path: "/TODO-tickets/{{ ticketId }}/messages" # TODO: the endpoint adding a public message
            body: '{"body": text, "author_id": fromUser ? externalUserId : null}'
      result: { messageId: "'TODO: the new message id, e.g. $steps.post.body.id'" }
    # Every other type (image, file, ...) as text with its link, unless you add sendMessage.image etc.
    fallback:
      steps:
        - id: post
          request:
            method: POST
            path: "/TODO-tickets/{{ ticketId }}/messages"
            body: '{"body": text, "author_id": fromUser ? externalUserId : null}'
      result: { messageId: "'TODO: the new message id'" }

  # The session ended on the bot's side. Input: ticketId. okStatus: a ticket already gone is fine.
  closeTicket:
    steps:
      - request: { method: PUT, path: "/TODO-tickets/{{ ticketId }}", body: '{"status": "closed"}', okStatus: [404] }

  # On save: subscribe $webhookUrl to the helpdesk's events; the result is kept as $registration.
  register:
    steps:
      - id: hook
        request: { method: POST, path: /TODO-webhooks, body: '{"url": $webhookUrl, "events": ["TODO"]}' }
    result: { webhookId: "'TODO: the subscription id, e.g. $steps.hook.body.id'" }
  unregister:
    steps:
      - request: { method: DELETE, path: "/TODO-webhooks/{{ $registration.webhookId }}", okStatus: [404] }

# The helpdesk's webhook deliveries → newMessage, assigned and solved events.
webhook:
${verify}  body: json
  dedupeKey: "'TODO: an id the helpdesk keeps across retries, e.g. $headers.\\"x-delivery-id\\"'"
  events:
    # Only what a human agent wrote publicly: not the end user's own messages (echoes), not private notes.
    - name: agent reply
      when: "false and 'TODO: e.g. event = \\"message.created\\" and message.public and message.author.role = \\"agent\\"'"
      emit: newMessage
      ticketId: "'TODO: e.g. ticket.id'"
      messageId: "'TODO: e.g. message.id'"
      agent: { id: "'TODO: e.g. message.author.id'", name: "'TODO: e.g. message.author.name'" }
      message: { text: "'TODO: e.g. message.body'" }
    - name: assigned
      when: "false and 'TODO: e.g. event = \\"ticket.assigned\\"'"
      emit: assigned
      ticketId: "'TODO: e.g. ticket.id'"
      agent: { id: "'TODO: e.g. ticket.assignee.id'", name: "'TODO: e.g. ticket.assignee.name'" }
    - name: solved
      when: "false and 'TODO: e.g. ticket.status = \\"solved\\"'"
      emit: solved
      ticketId: "'TODO: e.g. ticket.id'"

# Run by \`npx universal-hitl test\` against a local stub helpdesk (no network).
fixtures:
  settings: { baseUrl: "https://desk.example.com", apiToken: fixture-token, webhookSecret: fixture-webhook-secret }
  webhooks:
    # TODO: real deliveries here (\`universal-hitl capture\` records them), one per event rule, plus the ones to ignore.
    - name: an unsigned delivery is rejected
      request: { body: { note: "TODO: a captured delivery's body" } }
      expect: { status: 401 }
  operations:
    - name: createUser creates the contact
      operation: createUser
      input: { userId: user_01, name: Jane Doe, email: jane@example.com }
      responses: [{ status: 201, body: { id: 1001 } }]
      expect:
        requests: [{ method: POST, path: /api/TODO-contacts, body: { name: Jane Doe, email: jane@example.com, external_id: user_01 } }]
`
}

export async function init(nameArg: string | undefined, opts: { from?: string; force: boolean }): Promise<number> {
  if (!nameArg) throw new CliError('init needs <name> (the file written is <name>.yaml)')
  const path = nameArg.endsWith('.yaml') || nameArg.endsWith('.yml') ? nameArg : `${nameArg}.yaml`
  const name = basename(path).replace(/\.ya?ml$/, '')
  if (!/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/.test(name)) throw new CliError(`"${name}" is not a usable name (letters, digits, - and _)`)
  if (existsSync(path) && !opts.force) throw new CliError(`${path} exists; --force overwrites it`)
  let from: { file: string; mapping: MappingFile } | undefined
  if (opts.from) {
    if (!existsSync(opts.from) && !/^[a-z0-9][a-z0-9-]*$/i.test(opts.from))
      throw new CliError(`cannot read ${opts.from}: no such file (and it is not a shipped mapping name)`)
    const { text, file } = existsSync(opts.from) ? { text: readText(opts.from), file: opts.from } : resolveMappingText(opts.from)
    from = { file, mapping: compileMappingText(text, file).file }
  }
  // The modeline points at the installed package's schema (npx universal-hitl schema prints its path).
  const text = skeleton(name, from).replace('{{schema}}', 'node_modules/universal-hitl/schemas/mapping.schema.json')
  writeFileSync(path, text)
  console.log(`wrote ${path}: fill in its TODOs (npx universal-hitl validate ${path} lists them)`)
  return 0
}
